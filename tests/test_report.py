from __future__ import annotations

import xml.etree.ElementTree as ET

from evalloop.report import GITHUB_COMMENT_LIMIT, md, render_junit, render_markdown, render_text
from evalloop.verdict import ChangedPath, FixtureResult, GateReport, Selected, count, decide

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
        failures=[{"kind": "output_contains", "message": f"output contains {text!r}",
                   "evidence": {"value": text, "position": j}} for j in range(n_violations)])


def test_markdown_answers_three_questions_verdict_first() -> None:
    text = render_markdown(report([failing(1), FixtureResult(id="ok", severity="warning", status="pass")]))
    assert text.startswith("## evalloop gate: ❌ BLOCK")
    order = [text.index(h) for h in ("### Blocking failures", "### 1. What changed",
                                     "### 2. Which behaviours it could affect",
                                     "### 3. Which fixtures protect them, and why",
                                     "<details><summary>1 passed</summary>")]
    assert order == sorted(order)
    assert "**owner** support-platform" in text and "**incident** INC-1" in text


def test_markdown_escapes_untrusted_text() -> None:
    text = render_markdown(report([failing(1, text=HOSTILE)]))
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "[link](http://evil)" not in text and "\\[link\\](http://evil)" in text
    assert "@everyone" not in text
    assert "\n# heading" not in text
    assert md("a|b") == "a\\|b"


def test_markdown_truncates_least_important_first() -> None:
    results = [failing(i, n_violations=30, text="x" * 200) for i in range(40)]
    results += [FixtureResult(id=f"pass-{i:05d}", severity="blocking", status="pass") for i in range(3000)]
    r = report(results, changed=2000)
    full = render_markdown(r, limit=10_000_000)
    assert len(full) > GITHUB_COMMENT_LIMIT
    cut = render_markdown(r)
    assert len(cut) <= GITHUB_COMMENT_LIMIT
    assert cut.startswith("## evalloop gate: ❌ BLOCK")
    assert "fx-00039" in cut  # every blocking failure is kept
    assert "To fit GitHub's limit this report leaves out" in cut
    assert "passing fixtures" in cut


def test_text_report_strips_terminal_escapes() -> None:
    out = render_text(report([failing(1, text="\x1b[31mred\x1b[0m\x07")]))
    assert "\x1b" not in out and "\x07" not in out and "red" in out
    assert out.startswith("evalloop gate: BLOCK")


def test_junit_is_valid_xml_with_failures() -> None:
    xml = render_junit(report([failing(1, text="a<b&c"), FixtureResult(id="e", severity="warning", status="error",
                                                                         error="agent crashed"),
                               FixtureResult(id="p", severity="warning", status="pass")]))
    suite = ET.fromstring(xml.split("?>", 1)[1])
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("errors") == "1"
    case = suite.find("testcase[@name='fx-00001']")
    assert case is not None and "a<b&c" in (case.find("failure").text or "")  # type: ignore[union-attr]


def test_verdict_rules_never_average() -> None:
    ok = [FixtureResult(id=f"p{i}", severity="blocking", status="pass") for i in range(999)]
    assert decide([*ok, failing(1)]) == "block"
    assert decide([*ok, failing(1, severity="warning")]) == "warn"
    assert decide([*ok, failing(1, severity="exploratory")]) == "pass"
    assert decide([FixtureResult(id="e", severity="blocking", status="error")]) == "block"
    assert decide([FixtureResult(id="n", severity="blocking", status="no_run")]) == "block"
    assert decide([FixtureResult(id="f", severity="blocking", status="flaky")]) == "block"
    assert decide([FixtureResult(id="f", severity="blocking", status="flaky", quarantined=True)]) == "pass"
