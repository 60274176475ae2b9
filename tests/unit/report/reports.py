"""Gate reports for the report and publishing tests: plain ones, large ones, and ones
carrying hostile text in any field."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from evalloop.github.publish import COMMENT_MARKER
from evalloop.model.results import (
    ChangedPath,
    Evidence,
    FixtureResult,
    GateReport,
    ProtectionChange,
    Reproduction,
    Selected,
    Violation,
    count,
    decide,
)

HOSTILE = "<img src=x onerror=alert(1)> **bold** | pipe [link](http://evil) @everyone\n# heading `code`"


def report(results: list[FixtureResult], changed: int = 1, selected: int | None = None) -> GateReport:
    sel = [Selected(id=r.id, severity=r.severity, path=f"fixtures/{r.id}.yaml", reasons=["prompts/a.md modified"])
           for r in results]
    return GateReport(
        verdict=decide(results), base="b" * 40, head="h" * 40,
        changed=[ChangedPath(path=f"prompts/p{i}.md", kind="prompt", status="modified") for i in range(changed)],
        behaviours={"prompt": ["golden tasks"]}, selected=sel, results=results,
        counts=count(results, selected if selected is not None else len(results)))


def failing(i: int, severity: str = "blocking", n_violations: int = 2, text: str = "approved") -> FixtureResult:
    return FixtureResult(
        id=f"fx-{i:05d}", severity=severity, status="fail", owner="support-platform",  # type: ignore[arg-type]
        reason="Refunds over the threshold require approval.", incident_id="INC-1",
        failures=[Violation(kind="output_contains", message=f"output contains {text!r}") for _ in range(n_violations)])


# What a pull request could put in `gates:` of evalloop.yaml (or a fixture, a trace, a branch name):
# a fake verdict heading, mentions, an image, a link, the sticky comment's marker, an unclosed
# <details> that would swallow the rest of the report, a table pipe, a terminal escape.
ATTACK = ("golden tasks\n# PASS\n@everyone @acme/release-owners ![x](http://evil.example/x.png) "
          "[fine](http://evil.example) <!-- evalloop:gate --> <details><summary>all good</summary> "
          "| cell \x1b[31mred\x1b]0;title\x07 \x01")


def protection(**update: Any) -> ProtectionChange:
    base = ProtectionChange(id="refund-guard", kind="removed", detail="fixtures/refund/guard.yaml is deleted",
                            owner="support-platform", base_path="fixtures/refund/guard.yaml")
    return base.model_copy(update=update)


def gate_report(**update: Any) -> GateReport:
    """A real report with every section filled: one blocking failure, one pass, one protection change."""
    fail = FixtureResult(
        id="guard", severity="blocking", status="fail", path="fixtures/guard.yaml", owner="support-platform",
        reason="Refunds need approval.", incident_id="INC-1",
        failures=[Violation(kind="missing_span", message="no approval span",
                            evidence=Evidence(span_index=2, ref="tool:draft_refund", expected="x", actual="y"))],
        reproduction=Reproduction(base_status="fail", head_status="fail", reproduces=False, note="fails on both"))
    ok = FixtureResult(id="ok", severity="warning", status="pass")
    results = update.pop("results", [fail, ok])
    changes = update.pop("protection_changes", [protection()])
    r = GateReport(
        verdict=decide(results, changes), base="a" * 40, head="b" * 40, merge_base="c" * 40,
        changed=[ChangedPath(path="prompts/refund.md", kind="prompt", status="renamed", old_path="prompts/old.md",
                             keys=["approval.threshold"])],
        behaviours={"prompt": ["golden tasks", "refunds"]},
        selected=[Selected(id=x.id, severity=x.severity, path=f"fixtures/{x.id}.yaml", reasons=["gates: [prompt]"])
                  for x in results],
        results=results, counts=count(results, len(results)), notes=["a note"], protection_changes=changes,
        shard="1/2")
    return r.model_copy(update=update)


def with_result(**update: Any) -> list[FixtureResult]:
    [fail, ok] = gate_report().results
    return [fail.model_copy(update=update), ok]


def with_violation(**update: Any) -> list[FixtureResult]:
    [fail, ok] = gate_report().results
    return [fail.model_copy(update={"failures": [fail.failures[0].model_copy(update=update)]}), ok]


FIELDS: dict[str, Callable[[str], GateReport]] = {
    "gates: changed kind": lambda h: gate_report(behaviours={h: ["golden tasks"]}),
    "gates: eval category": lambda h: gate_report(behaviours={"prompt": ["golden tasks", h]}),
    "changed path": lambda h: gate_report(changed=[ChangedPath(path=h, kind="prompt", status="added")]),
    "changed old path": lambda h: gate_report(changed=[ChangedPath(path="p.md", kind="prompt", status="renamed",
                                                                   old_path=h)]),
    "changed kind": lambda h: gate_report(changed=[ChangedPath(path="p.md", kind=h, status="modified")]),
    "changed key": lambda h: gate_report(changed=[ChangedPath(path="p.yaml", kind="policy", status="modified",
                                                              keys=[h])]),
    "selected id": lambda h: gate_report(selected=[Selected(id=h, severity="blocking", path="f.yaml",
                                                            reasons=["r"])]),
    "selection reason": lambda h: gate_report(selected=[Selected(id="guard", severity="blocking", path="f.yaml",
                                                                 reasons=[h])]),
    "result id": lambda h: gate_report(results=with_result(id=h)),
    "result owner": lambda h: gate_report(results=with_result(owner=h)),
    "result reason": lambda h: gate_report(results=with_result(reason=h)),
    "owner contact": lambda h: gate_report(results=with_result(owner_contact=h)),
    "incident record path": lambda h: gate_report(results=with_result(incident_id=None, incident_path=h)),
    "repository prefix": lambda h: gate_report(repo_prefix=h),
    "incident id": lambda h: gate_report(results=with_result(incident_id=h)),
    "fixture path": lambda h: gate_report(results=with_result(path=h)),
    "error": lambda h: gate_report(results=with_result(status="error", error=h, failures=[])),
    "violation kind": lambda h: gate_report(results=with_violation(kind=h)),
    "violation message": lambda h: gate_report(results=with_violation(message=h)),
    "violation evidence": lambda h: gate_report(results=with_violation(evidence=Evidence(ref=h, actual=h))),
    "reproduction note": lambda h: gate_report(results=with_result(reproduction=Reproduction(
        base_status="pass", head_status="pass", reproduces=False, note=h))),
    "passing fixture id": lambda h: gate_report(results=[with_result()[0], FixtureResult(id=h, severity="warning",
                                                                                         status="pass")]),
    "note": lambda h: gate_report(notes=[h]),
    "shard": lambda h: gate_report(shard=h),
    "protection id": lambda h: gate_report(protection_changes=[protection(id=h)]),
    "protection detail": lambda h: gate_report(protection_changes=[protection(detail=h)]),
    "protection owner": lambda h: gate_report(protection_changes=[protection(owner=h)]),
    "protection approval": lambda h: gate_report(protection_changes=[protection(approved=True, approval=h)]),
    "protection base path": lambda h: gate_report(protection_changes=[protection(base_path=h)]),
    "protection head path": lambda h: gate_report(protection_changes=[protection(head_path=h)]),
}


def assert_inert(text: str) -> None:
    """Nothing of ATTACK is live in the markdown: every heading, mention, image, link, tag,
    marker and table cell in `text` is ours."""
    for line in text.splitlines():
        if re.match(r" {0,3}#{1,6}(\s|$)", line):
            assert line.startswith(("## evalloop gate: ", "### ", "#### ")), line
        assert not re.match(r" {0,3}#+\s*PASS", line), line
    assert "@everyone" not in text and "@acme/" not in text
    assert "![x](" not in text and not re.search(r"(?<!\\)\]\(http://evil", text)
    assert COMMENT_MARKER not in text and "<!--" not in text
    assert text.count("<details") == text.count("</details>") == 1  # only the passes' own
    assert "<summary>all good" not in text and "<img" not in text
    assert "\x1b" not in text and "\x07" not in text and "\x01" not in text
    # Every row of a table has the cells of its header: no pipe or newline split a cell.
    columns = 0
    for line in text.splitlines():
        if not line.startswith("|"):
            columns = 0
            continue
        pipes = len(re.findall(r"(?<!\\)\|", line.replace("\\\\", "")))
        columns = columns or pipes
        assert pipes == columns, line


def protection_report(results: list[FixtureResult] | None = None) -> GateReport:
    ok = [FixtureResult(id="ok", severity="blocking", status="pass")]
    return gate_report(results=results if results is not None else ok, protection_changes=[
        protection(),
        protection(id="refund-timeout", kind="downgraded", detail="severity blocking -> warning",
                   base_path="fixtures/t.yaml", head_path="fixtures/t.yaml"),
        protection(id="refund-scope", kind="narrowed", detail="gates no longer include prompt",
                   base_path="fixtures/s.yaml", head_path="fixtures/s.yaml", approved=True,
                   approval="label 'evalloop-approved'"),
    ])
