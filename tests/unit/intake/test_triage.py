"""Every row of the triage table, every branch of the flow, owners, gates, deadlines and the
repository's own rules."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from pydantic import ValidationError

from evalloop.intake import table
from evalloop.intake.evidence import TraceEvidence
from evalloop.intake.signals import LocatedSignal
from evalloop.intake.triage import TriageDecision, decide
from evalloop.model.config import Config
from evalloop.model.signal import TOUCHES, Signal

MONDAY = dt.date(2026, 4, 20)
USEFUL = TraceEvidence("traces/run.json", "path", True, "1 run, 6 spans")
MISSING = TraceEvidence("traces/gone.json", "path", False, "not found")
BOUNDARY_GATES = ("prompt", "policy", "model_route", "workflow", "tool_manifest")


def signal(**fields: Any) -> LocatedSignal:
    data = {"kind": "incident", "severity": "sev3", "time": MONDAY.isoformat(), **fields}
    return LocatedSignal(Signal.model_validate(data), "signals.yaml", 1)


def config(**fields: Any) -> Config:
    return Config.model_validate({"defaults": {"owner": "support-platform"}, **fields})


def triaged(evidence: TraceEvidence | None = None, cfg: Config | None = None, today: dt.date = MONDAY,
            **fields: Any) -> TriageDecision:
    return decide(signal(**fields), cfg or config(), today, evidence)


# --- the flow ---------------------------------------------------------------------------

@pytest.mark.parametrize("touch", TOUCHES)
def test_touching_a_boundary_is_blocking(touch: str) -> None:
    d = triaged(touches=[touch], recurrence=4, user_visible=True)  # the first question wins
    assert (d.decision, d.severity, d.rule) == ("blocking", "blocking", "boundary")
    assert d.why == f"touches {touch}"
    assert d.rows == (table.BOUNDARY,)
    assert d.actions == ("Create a minimal fixture, add a forbidden trajectory, and require owner approval "
                         "before release.",)
    assert d.gates == BOUNDARY_GATES + (("memory_rule",) if touch == "privacy" else ())
    assert d.next_step == "Run it in the next relevant release gate."


def test_a_money_movement_incident_blocks_the_walkthrough_s_gates_with_a_deadline() -> None:
    d = triaged(touches=["money_movement"], time="2026-04-17T18:40:00Z")  # a Friday
    assert d.gates == ("prompt", "policy", "model_route", "workflow", "tool_manifest")
    assert d.deadline == dt.date(2026, 4, 21)
    assert not d.overdue


@pytest.mark.parametrize(("fields", "why"), [
    ({"recurrence": 2}, "recurring (seen 2 times)"),
    ({"kind": "cost_outlier"}, "costly (cost outlier)"),
    ({"kind": "latency_outlier"}, "costly (latency outlier)"),
    ({"user_visible": True}, "user-visible"),
    ({"kind": "cost_outlier", "recurrence": 3, "user_visible": True},
     "recurring (seen 3 times), costly (cost outlier), user-visible"),
])
def test_recurring_costly_or_user_visible_is_a_warning(fields: dict[str, Any], why: str) -> None:
    d = triaged(**fields)
    assert (d.decision, d.severity, d.rule, d.why) == ("warning", "warning", "recurring-costly-visible", why)
    assert d.actions[0] == "Create a warning eval or product-quality fixture."
    assert d.deadline == dt.date(2026, 4, 22)


def test_recovered_with_a_useful_trace_keeps_the_evidence() -> None:
    d = triaged(USEFUL, kind="tool_error_recovered", trace="traces/run.json")
    assert (d.decision, d.severity, d.rule) == ("trace_evidence", None, "recovered-with-trace")
    assert d.why == "recovered correctly, with a trace (1 run, 6 spans)"
    assert d.rows == (table.TOOL_ERROR_RECOVERED,)
    assert d.actions == ("Keep the trace with the signal; no eval yet.",
                         "Add an eval only if recovery hides a degraded answer or repeated retry.")
    assert (d.gates, d.deadline, d.next_step) == ((), None, "Monitor for recurrence.")


@pytest.mark.parametrize(("trace", "why"), [
    (None, "recovered, but no trace: nothing to keep as evidence"),
    (MISSING, "recovered, but the trace is not found: nothing to keep as evidence"),
])
def test_recovered_without_useful_evidence_is_exploratory(trace: TraceEvidence | None, why: str) -> None:
    d = triaged(trace, kind="tool_error_recovered")
    assert (d.decision, d.severity, d.rule, d.why) == ("exploratory", "exploratory", "exploratory", why)
    assert d.actions[0] == "Create an exploratory eval."
    assert (d.gates, d.deadline) == (("tool_manifest", "workflow"), None)


def test_a_recovery_that_repeats_or_shows_is_a_warning_not_evidence() -> None:
    assert triaged(USEFUL, kind="tool_error_recovered", recurrence=5).decision == "warning"  # repeated retry
    assert triaged(USEFUL, kind="tool_error_recovered", user_visible=True).decision == "warning"  # degraded answer


@pytest.mark.parametrize("kind", ["incident", "regression", "policy_override", "human_correction"])
def test_otherwise_exploratory(kind: str) -> None:
    d = triaged(USEFUL, kind=kind)  # a trace only counts for a recovery
    assert (d.decision, d.rule, d.deadline) == ("exploratory", "exploratory", None)
    assert d.why == "touches no boundary; not recurring, costly or user-visible; not a recovery with a useful trace"


# --- the table's rows -------------------------------------------------------------------

def test_human_correction_on_a_customer_visible_answer() -> None:
    d = triaged(kind="human_correction", user_visible=True)
    assert (d.decision, d.rows) == ("warning", (table.HUMAN_CORRECTION,))
    assert "Add a warning eval unless the correction exposes policy, citation, or tool misuse." in d.actions
    assert d.gates == ("prompt", "retrieval_index", "model_route")
    assert triaged(kind="human_correction").rows == ()  # not customer-visible: not this row


def test_policy_override_gets_paired_allow_deny_fixtures() -> None:
    d = triaged(kind="policy_override", recurrence=2)
    assert (d.decision, d.rows) == ("warning", (table.POLICY_OVERRIDE,))
    assert d.actions[-1] == "Add paired allow/deny fixtures when the boundary was ambiguous."
    assert d.gates == ("policy", "model_route", "prompt")
    blocking = triaged(kind="policy_override", touches=["authorization"])
    assert blocking.decision == "blocking"
    assert blocking.rows == (table.BOUNDARY, table.POLICY_OVERRIDE)
    assert blocking.actions == (table.BOUNDARY.action, table.POLICY_OVERRIDE.action)


@pytest.mark.parametrize("kind", ["cost_outlier", "latency_outlier"])
def test_outliers_get_budget_and_stop_condition_checks(kind: str) -> None:
    d = triaged(kind=kind)
    assert (d.decision, d.rows) == ("warning", (table.OUTLIER,))
    assert d.actions == ("Create a warning eval or product-quality fixture.",
                         "Add budget and stop-condition checks if the outlier can recur.")
    assert d.gates == ("model_route", "agent_topology", "retrieval_index", "workflow")


def test_near_miss_caught_by_approval_proves_the_pause_before_the_side_effect() -> None:
    d = triaged(kind="near_miss")  # `touches` left out: a near miss is a side effect about to happen
    assert (d.decision, d.rule) == ("blocking", "boundary")
    assert d.why == "a near miss caught by approval: a side effect was about to happen"
    assert d.rows == (table.BOUNDARY, table.NEAR_MISS)
    assert d.actions[-1] == "Add a fixture that proves the agent still pauses before the side effect."
    assert d.gates == BOUNDARY_GATES
    assert triaged(kind="near_miss", touches=["money_movement"]).why == "touches money_movement, side_effect"


def test_one_off_user_confusion_goes_to_ux_or_docs_first() -> None:
    d = triaged(kind="user_confusion", user_visible=True)
    assert (d.decision, d.severity, d.rule) == ("ux_first", None, "one-off-confusion")
    assert d.rows == (table.USER_CONFUSION,)
    assert d.actions == ("Fix the UX or documentation; no eval yet.",
                         "Add an eval only when the same confusion changes agent behavior.")
    assert (d.gates, d.deadline, d.overdue) == ((), None, False)
    assert d.next_step == "Triage it again if the confusion recurs."


def test_confusion_that_recurs_or_touches_a_boundary_is_an_eval() -> None:
    again = triaged(kind="user_confusion", recurrence=3)
    assert (again.decision, again.rows, again.gates) == ("warning", (), ("prompt",))
    assert triaged(kind="user_confusion", touches=["privacy"]).decision == "blocking"


# --- owner, deadline --------------------------------------------------------------------

def test_owner_is_the_signal_s_else_the_defaults_else_unassigned() -> None:
    own = triaged(owner="payments")
    assert (own.owner, own.owner_source, own.unassigned) == ("payments", "signal", False)
    default = triaged()
    assert (default.owner, default.owner_source) == ("support-platform", "defaults")
    nobody = triaged(cfg=Config())
    assert (nobody.owner, nobody.owner_source, nobody.unassigned) == (None, "unassigned", True)


def test_overdue_against_today() -> None:
    friday = "2026-04-24T09:00:00Z"
    assert not triaged(touches=["safety"], time=friday, today=dt.date(2026, 4, 28)).overdue  # Tuesday: in time
    late = triaged(touches=["safety"], time=friday, today=dt.date(2026, 4, 29))
    assert (late.deadline, late.overdue) == (dt.date(2026, 4, 28), True)
    # exploratory evals, trace evidence and UX fixes have no deadline to miss
    assert not triaged(time="2020-01-01", today=MONDAY).overdue
    assert not triaged(USEFUL, kind="tool_error_recovered", time="2020-01-01").overdue


# --- rules in evalloop.yaml -------------------------------------------------------------

REFUND_COST = {"name": "refund cost outliers block", "when": {"kind": "cost_outlier", "route": "refund_assist"},
               "decision": "blocking", "gates": ["model_route"]}


def test_a_config_rule_decides_before_the_built_in_ones() -> None:
    cfg = config(triage={"rules": [REFUND_COST]})
    d = triaged(cfg=cfg, kind="cost_outlier", route="refund_assist")
    assert (d.decision, d.rule, d.rule_name) == ("blocking", "triage.rules[0]", "refund cost outliers block")
    assert d.why == "matched kind cost_outlier, route refund_assist"
    assert d.gates == ("model_route",)
    assert d.rows == (table.OUTLIER,)  # its kind's row; the boundary row only for what touches one
    assert d.actions == (table.BOUNDARY.action, table.OUTLIER.action)
    assert d.deadline == dt.date(2026, 4, 22)
    other = triaged(cfg=cfg, kind="cost_outlier", route="search")
    assert (other.decision, other.rule) == ("warning", "recurring-costly-visible")


def test_the_first_matching_rule_wins_and_may_relax_a_built_in_decision() -> None:
    cfg = config(triage={"rules": [
        {"when": {"touches": "side_effect", "severity": ["sev3", "sev4"]}, "decision": "warning",
         "owner": "agents", "action": "Add the case to the approval suite."},
        {"when": {"kind": "near_miss"}, "decision": "blocking"},
    ]})
    d = triaged(cfg=cfg, kind="near_miss")  # touches side_effect by its kind
    assert (d.decision, d.rule, d.rule_name) == ("warning", "triage.rules[0]", None)
    assert d.rows == (table.NEAR_MISS,)  # not blocking: no boundary row
    assert d.actions == ("Add the case to the approval suite.", table.NEAR_MISS.action)
    assert (d.owner, d.owner_source) == ("agents", "rule")
    assert d.gates == table.KIND_GATES["near_miss"]  # the built-in gates of a warning
    assert triaged(cfg=cfg, kind="near_miss", owner="payments").owner_source == "signal"
    assert triaged(cfg=cfg, kind="near_miss", severity="sev1").rule == "triage.rules[1]"


@pytest.mark.parametrize(("when", "fields", "hit"), [
    ({"kind": ["cost_outlier", "latency_outlier"]}, {"kind": "latency_outlier"}, True),
    ({"workflow": "refund"}, {"workflow": "refund"}, True),
    ({"workflow": "refund"}, {}, False),
    ({"owner": "payments"}, {"owner": "payments"}, True),
    ({"user_visible": False}, {"user_visible": True}, False),
    ({"recurring": True}, {"recurrence": 2}, True),
    ({"recurring": True}, {}, False),
    ({"recurring": False, "kind": "incident"}, {}, True),
    ({"touches": ["privacy", "safety"]}, {"touches": ["safety"]}, True),
    ({"touches": "privacy"}, {"touches": ["safety"]}, False),
])
def test_rule_conditions(when: dict[str, Any], fields: dict[str, Any], hit: bool) -> None:
    cfg = config(triage={"rules": [{"when": when, "decision": "exploratory"}]})
    assert (triaged(cfg=cfg, **fields).rule == "triage.rules[0]") is hit


@pytest.mark.parametrize(("rule", "message"), [
    ({"when": {}, "decision": "warning"}, "`when` needs at least one condition"),
    ({"when": {"kind": "incident"}, "decision": "ux_first", "gates": ["prompt"]},
     "`gates` needs an eval decision (blocking, warning or exploratory), not ux_first"),
    ({"when": {"kind": "outage"}, "decision": "warning"}, "Input should be"),
    ({"when": {"kind": "incident"}, "decision": "urgent"}, "Input should be"),
])
def test_bad_rules_are_refused(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        config(triage={"rules": [rule]})
