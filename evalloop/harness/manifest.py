"""The tool manifest (`agent.tools` in evalloop.yaml): the tools the agent may call, with the
JSON Schema of each tool's arguments (docs/adapter.md, "The tool manifest").

It is read in one place, `agent_manifest`, for everyone who needs it: the
harness lists its tools to the agent and answers their calls, and both the
harness's judging and `evalloop check` validate tool-call arguments against its
`schemas()`, so a recorded run and a replayed one are held to the same schemas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalloop.errors import EvalloopError
from evalloop.model.config import AgentConfig
from evalloop.model.tool_schema import schema_problem, tool_entry
from evalloop.repo import parse

TOOL_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024


class ToolSpec(BaseModel):
    """One tool of the manifest (OpenAI/MCP-style: name, description, parameters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=TOOL_NAME)
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description="JSON Schema of the arguments object.",
    )
    side_effect: bool = Field(
        default=False,
        description="State-changing: the mock records the intent and never executes it.",
    )


class ToolManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    tools: list[ToolSpec] = Field(default_factory=list)

    def get(self, name: str) -> ToolSpec | None:
        return next((t for t in self.tools if t.name == name), None)

    def schemas(self) -> dict[str, dict[str, Any]]:
        """Parameters schema by tool name, as the trajectory evaluator takes them (`tool_schemas`):
        the schemas the toolbox validates each call's arguments with."""
        return {t.name: t.parameters for t in self.tools}

    def describe(self) -> list[dict[str, Any]]:
        """The tools as the run request lists them to the agent."""
        return [t.model_dump() for t in self.tools]


def load_manifest(path: Path, display: str | None = None) -> ToolManifest:
    """A tool manifest file (YAML or JSON): `{tools: [...]}` or a bare list of tools."""
    shown = display or str(path)
    if not path.is_file():
        raise EvalloopError("tool manifest not found", path=shown)
    doc = parse.load_document(path, max_bytes=MAX_MANIFEST_BYTES, display=shown)
    data = parse.plain(doc.data)
    if isinstance(data, list):
        data = {"tools": data}
    if isinstance(data, dict) and isinstance(data.get("tools"), list):
        data = {**data, "tools": [tool_entry(t) for t in data["tools"]]}
    try:
        manifest = ToolManifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line, col = parse.locate(doc, loc, key=err["type"] == "extra_forbidden")
        where = ".".join(str(p) for p in loc) or "(root)"
        raise EvalloopError(f"invalid tool manifest: {where}: {err['msg']}", path=shown,
                            line=line, col=col) from None
    seen: set[str] = set()
    for i, tool in enumerate(manifest.tools):
        if tool.name in seen:
            line, col = parse.locate(doc, ("tools", i, "name"))
            raise EvalloopError(f"tool {tool.name!r} is listed twice", path=shown, line=line, col=col)
        seen.add(tool.name)
        problem = schema_problem(tool.parameters)
        if problem is not None:
            line, col = parse.locate(doc, ("tools", i, "parameters"))
            raise EvalloopError(f"tool {tool.name!r}: parameters {problem}", path=shown, line=line, col=col)
    return manifest


def agent_manifest(root: Path, agent: AgentConfig | None) -> ToolManifest | None:
    """The manifest `agent.tools` names (relative to `root`, shown as written); None when there
    is no agent or it names no manifest. EvalloopError when the file is missing or invalid."""
    if agent is None or agent.tools is None:
        return None
    return load_manifest(root / agent.tools, display=agent.tools)


__all__ = ["MAX_MANIFEST_BYTES", "TOOL_NAME", "ToolManifest", "ToolSpec", "agent_manifest", "load_manifest"]
