"""Artifact kinds a change can touch, and the conventional folders they live in."""

from __future__ import annotations

from typing import Literal, get_args

ChangeKind = Literal[
    "prompt",
    "policy",
    "tool_manifest",
    "model_route",
    "retrieval_index",
    "memory_rule",
    "agent_topology",
    "workflow",
    "fixture",
]
CHANGE_KINDS: tuple[str, ...] = get_args(ChangeKind)

# Where a repository without `artifacts:` in its config keeps each kind.
CONVENTIONAL_FOLDERS: dict[str, str] = {
    "prompts/": "prompt",
    "policies/": "policy",
    "tools/": "tool_manifest",
    "routes/": "model_route",
    "retrieval/": "retrieval_index",
    "memory/": "memory_rule",
    "topology/": "agent_topology",
    "workflows/": "workflow",
    "fixtures/": "fixture",
}

Severity = Literal["blocking", "warning", "exploratory"]
SpanType = Literal["model", "tool", "retrieval", "policy", "approval", "workflow", "message", "memory"]
SPAN_TYPES: tuple[str, ...] = get_args(SpanType)

# Kinds that are artifacts of the agent (not fixtures, config or harness code).
ARTIFACT_KINDS: frozenset[str] = frozenset(CHANGE_KINDS) - {"fixture"}
