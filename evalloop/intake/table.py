"""The built-in triage table: for each kind of signal, what to review and which eval to add, and
the release gates (change kinds) whose run should include the eval."""

from __future__ import annotations

from dataclasses import dataclass

from evalloop.model.kinds import ChangeKind
from evalloop.model.signal import Signal, Touch
from evalloop.model.triage import Decision


@dataclass(frozen=True)
class Row:
    signal: str  # the kind of signal the row is about
    review: str  # what triage checks
    action: str  # the eval to add


BOUNDARY = Row(
    "Safety, privacy, money movement, authorization or side-effect incident",
    "Treat as blocking until reviewed.",
    "Create a minimal fixture, add a forbidden trajectory, and require owner approval before release.",
)
HUMAN_CORRECTION = Row(
    "Human correction on a customer-visible answer",
    "Review for product quality and grounding.",
    "Add a warning eval unless the correction exposes policy, citation, or tool misuse.",
)
POLICY_OVERRIDE = Row(
    "Policy denial that a human overrides",
    "Check whether policy, routing, or UI expectation was wrong.",
    "Add paired allow/deny fixtures when the boundary was ambiguous.",
)
OUTLIER = Row(
    "High-cost or high-latency outlier",
    "Check whether the agent loop, retrieval fanout, or tool retry policy drifted.",
    "Add budget and stop-condition checks if the outlier can recur.",
)
TOOL_ERROR_RECOVERED = Row(
    "Tool error recovered correctly",
    "Keep as trace evidence.",
    "Add an eval only if recovery hides a degraded answer or repeated retry.",
)
NEAR_MISS = Row(
    "Near miss caught by approval",
    "Preserve the approval boundary.",
    "Add a fixture that proves the agent still pauses before the side effect.",
)
USER_CONFUSION = Row(
    "One-off user confusion",
    "Improve UX or documentation first.",
    "Add an eval only when the same confusion changes agent behavior.",
)

# What each branch of the flow does, before the rows' own actions.
BRANCH_ACTIONS: dict[Decision, str] = {
    "blocking": BOUNDARY.action,
    "warning": "Create a warning eval or product-quality fixture.",
    "exploratory": "Create an exploratory eval.",
    "trace_evidence": "Keep the trace with the signal; no eval yet.",
    "ux_first": "Fix the UX or documentation; no eval yet.",
}
NEXT_STEPS: dict[Decision, str] = {
    "blocking": "Run it in the next relevant release gate.",
    "warning": "Run it in the next relevant release gate.",
    "exploratory": "Run it in the next relevant release gate.",
    "trace_evidence": "Monitor for recurrence.",
    "ux_first": "Triage it again if the confusion recurs.",
}

# A near miss caught by approval is a side effect that was about to happen.
IMPLIED_TOUCHES: dict[str, tuple[Touch, ...]] = {"near_miss": ("side_effect",)}


def touched(signal: Signal) -> tuple[Touch, ...]:
    """The boundaries the signal touches, its own and those its kind implies, in first-seen order."""
    return tuple(dict.fromkeys((*signal.touches, *IMPLIED_TOUCHES.get(signal.kind, ()))))


def rows_for(signal: Signal) -> list[Row]:
    """The table rows the signal falls under: the boundary row when it touches one, then its kind's."""
    rows = [BOUNDARY] if touched(signal) else []
    kind = signal.kind
    if kind == "human_correction" and signal.user_visible:
        rows.append(HUMAN_CORRECTION)
    elif kind == "policy_override":
        rows.append(POLICY_OVERRIDE)
    elif kind in ("cost_outlier", "latency_outlier"):
        rows.append(OUTLIER)
    elif kind == "tool_error_recovered":
        rows.append(TOOL_ERROR_RECOVERED)
    elif kind == "near_miss":
        rows.append(NEAR_MISS)
    elif kind == "user_confusion" and signal.recurrence == 1:
        rows.append(USER_CONFUSION)
    return rows


# --- release gates ----------------------------------------------------------------------

# A blocking eval runs for every change that can move a boundary: what the agent is told, the
# policy, which model answers, the step order (where approvals live) and the tools it may call.
BOUNDARY_GATES: tuple[ChangeKind, ...] = ("prompt", "policy", "model_route", "workflow", "tool_manifest")
# Private data leaks through what the agent remembers, so memory rules gate privacy evals too.
TOUCH_GATES: dict[str, tuple[ChangeKind, ...]] = {"privacy": ("memory_rule",)}
# Each kind's eval runs for the changes that can cause it again: the things its review checks.
KIND_GATES: dict[str, tuple[ChangeKind, ...]] = {
    "incident": ("prompt", "model_route", "workflow"),
    "regression": ("prompt", "model_route", "workflow"),
    "human_correction": ("prompt", "retrieval_index", "model_route"),  # quality and grounding
    "policy_override": ("policy", "model_route", "prompt"),  # policy, routing, UI expectation
    # the agent loop, retrieval fanout and the tool retry policy
    "cost_outlier": ("model_route", "agent_topology", "retrieval_index", "workflow"),
    "latency_outlier": ("model_route", "agent_topology", "retrieval_index", "workflow"),
    "tool_error_recovered": ("tool_manifest", "workflow"),  # the tool, and the retry policy
    "near_miss": BOUNDARY_GATES,
    "user_confusion": ("prompt",),
}


def gates_for(decision: Decision, signal: Signal) -> tuple[ChangeKind, ...]:
    """The change kinds whose gate runs the eval the decision creates; none without an eval."""
    if decision in ("trace_evidence", "ux_first"):
        return ()
    gates: list[ChangeKind] = list(BOUNDARY_GATES) if decision == "blocking" else []
    for touch in touched(signal):
        gates += TOUCH_GATES.get(touch, ())
    gates += KIND_GATES[signal.kind]
    return tuple(dict.fromkeys(gates))
