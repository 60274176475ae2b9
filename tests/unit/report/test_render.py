from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from evalloop.commands.publish import MARKER, Context, PullRequest, comment_body
from evalloop.github import actions as ghactions
from evalloop.model.results import (
    ChangedPath,
    FixtureResult,
    GateReport,
    ProtectionChange,
    Reproduction,
    Selected,
    count,
    decide,
)
from evalloop.report.render import (
    COMMENT_MARKER,
    GITHUB_COMMENT_LIMIT,
    PROTECTION_HEADING,
    md,
    render_junit,
    render_markdown,
    render_text,
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
    root = ET.fromstring(xml.split("?>", 1)[1])
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("errors") == "1"
    suite = root.find("testsuite[@name='evalloop gate']")
    assert suite is not None and suite.get("tests") == "3"
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


# -- untrusted text from evalloop.yaml, fixtures, traces and git, in every field ---------------------

# What a pull request could put in `gates:` of evalloop.yaml (or a fixture, a trace, a branch name):
# a fake verdict heading, mentions, an image, a link, the sticky comment's marker, an unclosed
# <details> that would swallow the rest of the report, a table pipe, a terminal escape.
ATTACK = ("golden tasks\n# PASS\n@everyone @acme/release-owners ![x](http://evil.example/x.png) "
          "[fine](http://evil.example) <!-- evalloop:gate --> <details><summary>all good</summary> "
          "| cell \x1b[31mred\x1b]0;title\x07 \x01")


def _protection(**update: Any) -> ProtectionChange:
    base = ProtectionChange(id="refund-guard", kind="removed", detail="fixtures/refund/guard.yaml is deleted",
                            owner="support-platform", base_path="fixtures/refund/guard.yaml")
    return base.model_copy(update=update)


def _gate_report(**update: Any) -> GateReport:
    """A real report with every section filled: one blocking failure, one pass, one protection change."""
    fail = FixtureResult(
        id="guard", severity="blocking", status="fail", path="fixtures/guard.yaml", owner="support-platform",
        reason="Refunds need approval.", incident_id="INC-1",
        failures=[{"kind": "missing_span", "message": "no approval span",
                   "evidence": {"span_index": 2, "ref": "tool:draft_refund", "expected": "x", "actual": "y"}}],
        reproduction=Reproduction(base_status="fail", head_status="fail", reproduces=False, note="fails on both"))
    ok = FixtureResult(id="ok", severity="warning", status="pass")
    results = update.pop("results", [fail, ok])
    protection = update.pop("protection_changes", [_protection()])
    r = GateReport(
        verdict=decide(results, protection), base="a" * 40, head="b" * 40, merge_base="c" * 40,
        changed=[ChangedPath(path="prompts/refund.md", kind="prompt", status="renamed", old_path="prompts/old.md",
                             keys=["approval.threshold"])],
        behaviours={"prompt": ["golden tasks", "refunds"]},
        selected=[Selected(id=x.id, severity=x.severity, path=f"fixtures/{x.id}.yaml", reasons=["gates: [prompt]"])
                  for x in results],
        results=results, counts=count(results, len(results)), notes=["a note"], protection_changes=protection,
        shard="1/2")
    return r.model_copy(update=update)


def _result(**update: Any) -> list[FixtureResult]:
    [fail, ok] = _gate_report().results
    return [fail.model_copy(update=update), ok]


def _violation(**update: Any) -> list[FixtureResult]:
    [fail, ok] = _gate_report().results
    return [fail.model_copy(update={"failures": [{**fail.failures[0], **update}]}), ok]


FIELDS: dict[str, Callable[[str], GateReport]] = {
    "gates: changed kind": lambda h: _gate_report(behaviours={h: ["golden tasks"]}),
    "gates: eval category": lambda h: _gate_report(behaviours={"prompt": ["golden tasks", h]}),
    "changed path": lambda h: _gate_report(changed=[ChangedPath(path=h, kind="prompt", status="added")]),
    "changed old path": lambda h: _gate_report(changed=[ChangedPath(path="p.md", kind="prompt", status="renamed",
                                                                    old_path=h)]),
    "changed kind": lambda h: _gate_report(changed=[ChangedPath(path="p.md", kind=h, status="modified")]),
    "changed key": lambda h: _gate_report(changed=[ChangedPath(path="p.yaml", kind="policy", status="modified",
                                                               keys=[h])]),
    "selected id": lambda h: _gate_report(selected=[Selected(id=h, severity="blocking", path="f.yaml",
                                                             reasons=["r"])]),
    "selection reason": lambda h: _gate_report(selected=[Selected(id="guard", severity="blocking", path="f.yaml",
                                                                  reasons=[h])]),
    "result id": lambda h: _gate_report(results=_result(id=h)),
    "result owner": lambda h: _gate_report(results=_result(owner=h)),
    "result reason": lambda h: _gate_report(results=_result(reason=h)),
    "incident id": lambda h: _gate_report(results=_result(incident_id=h)),
    "fixture path": lambda h: _gate_report(results=_result(path=h)),
    "error": lambda h: _gate_report(results=_result(status="error", error=h, failures=[])),
    "violation kind": lambda h: _gate_report(results=_violation(kind=h)),
    "violation message": lambda h: _gate_report(results=_violation(message=h)),
    "violation evidence": lambda h: _gate_report(results=_violation(evidence={"ref": h, "actual": h})),
    "reproduction note": lambda h: _gate_report(results=_result(reproduction=Reproduction(
        base_status="pass", head_status="pass", reproduces=False, note=h))),
    "passing fixture id": lambda h: _gate_report(results=[_result()[0], FixtureResult(id=h, severity="warning",
                                                                                      status="pass")]),
    "note": lambda h: _gate_report(notes=[h]),
    "shard": lambda h: _gate_report(shard=h),
    "protection id": lambda h: _gate_report(protection_changes=[_protection(id=h)]),
    "protection detail": lambda h: _gate_report(protection_changes=[_protection(detail=h)]),
    "protection owner": lambda h: _gate_report(protection_changes=[_protection(owner=h)]),
    "protection approval": lambda h: _gate_report(protection_changes=[_protection(approved=True, approval=h)]),
    "protection base path": lambda h: _gate_report(protection_changes=[_protection(base_path=h)]),
    "protection head path": lambda h: _gate_report(protection_changes=[_protection(head_path=h)]),
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


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_text_in_any_field_is_inert_in_markdown(field: str) -> None:
    r = FIELDS[field](ATTACK)
    text = render_markdown(r)
    assert_inert(text)
    assert "\\# PASS" in text  # shown, escaped, not dropped
    body = comment_body(text, Context(env={}), PullRequest(number=1, head_sha="b" * 40, fork=False))
    assert body.count(MARKER) == 1 and body.startswith(MARKER)


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_text_in_any_field_is_cleaned_in_text_and_junit(field: str) -> None:
    r = FIELDS[field](ATTACK)
    text = render_text(r)
    assert "\x1b" not in text and "\x07" not in text and "\x01" not in text
    assert not any(line.lstrip().startswith("# PASS") for line in text.splitlines())
    xml = render_junit(r)
    ET.fromstring(xml.split("?>", 1)[1])  # still XML 1.0: no control character made it in
    assert "\x1b" not in xml and "\x01" not in xml


def test_md_escapes_block_and_inline_syntax() -> None:
    assert md("# PASS") == "\\# PASS"
    assert md("![x](http://e/x.png)") == "\\!\\[x\\](http://e/x.png)"
    assert md("<!-- evalloop:gate -->") == "&lt;\\!-- evalloop:gate --&gt;"
    assert md("@team") == "@\u200bteam" and md("a|b\nc") == "a\\|b c" and md("$x$") == "\\$x\\$"


# -- protection changes come first ---------------------------------------------------------------------


def _protection_report(results: list[FixtureResult] | None = None) -> GateReport:
    ok = [FixtureResult(id="ok", severity="blocking", status="pass")]
    return _gate_report(results=results if results is not None else ok, protection_changes=[
        _protection(),
        _protection(id="refund-timeout", kind="downgraded", detail="severity blocking -> warning",
                    base_path="fixtures/t.yaml", head_path="fixtures/t.yaml"),
        _protection(id="refund-scope", kind="narrowed", detail="gates no longer include prompt",
                    base_path="fixtures/s.yaml", head_path="fixtures/s.yaml", approved=True,
                    approval="label 'evalloop-approved'"),
    ])


def test_markdown_lists_protection_changes_first_and_says_why_it_blocks() -> None:
    text = render_markdown(_protection_report())
    assert text.startswith("## evalloop gate: ❌ BLOCK: 2 protection changes need approval\n")
    first = text.index(PROTECTION_HEADING)
    assert first < text.index("### 1. What changed") and text.index("### ") == first
    assert "| refund-guard<br>fixtures/refund/guard.yaml | removed | fixtures/refund/guard.yaml is deleted | " \
           "support-platform | ⛔ needs approval by support-platform |" in text
    assert "✅ approved: label 'evalloop-approved'" in text
    # Unapproved ones first.
    assert text.index("refund-timeout") < text.index("refund-scope")
    both = render_markdown(_protection_report(_result()))
    assert both.startswith("## evalloop gate: ❌ BLOCK: 2 protection changes need approval, 1 blocking failure\n")
    assert both.index(PROTECTION_HEADING) < both.index("### Blocking failures")


def test_approved_protection_changes_do_not_block() -> None:
    r = _gate_report(results=[FixtureResult(id="ok", severity="blocking", status="pass")],
                     protection_changes=[_protection(approved=True, approval="protection-changes.yaml: ok")])
    assert r.verdict == "pass"
    text = render_markdown(r)
    assert text.startswith("## evalloop gate: ✅ PASS\n") and f"{PROTECTION_HEADING}: all 1 approved" in text
    assert "PROTECTION CHANGES (approved):" in render_text(r)


def test_text_lists_protection_changes_before_everything_else() -> None:
    out = render_text(_protection_report())
    assert out.startswith("evalloop gate: BLOCK: 2 protection changes need approval  (")
    assert out.index("PROTECTION CHANGES (need approval):") < out.index("What changed:")
    assert "NEEDS APPROVAL refund-guard [removed] fixtures/refund/guard.yaml" in out
    assert "must be approved by support-platform" in out and "approved: label 'evalloop-approved'" in out


def test_junit_has_a_protection_suite_first() -> None:
    root = ET.fromstring(render_junit(_protection_report()).split("?>", 1)[1])
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "2"
    first, second = list(root)
    assert first.get("name") == "protection" and first.get("tests") == "3" and first.get("failures") == "2"
    assert second.get("name") == "evalloop gate"
    cases = {c.get("name"): c for c in first.iter("testcase")}
    failure = cases["refund-guard (removed)"].find("failure")
    assert failure is not None and "needs approval by support-platform" in (failure.get("message") or "")
    assert cases["refund-guard (removed)"].get("file") == "fixtures/refund/guard.yaml"
    assert cases["refund-scope (narrowed)"].find("failure") is None


def test_truncation_never_cuts_protection_changes() -> None:
    results = [failing(i, n_violations=30, text="x" * 200) for i in range(60)]
    results += [FixtureResult(id=f"pass-{i:05d}", severity="blocking", status="pass") for i in range(3000)]
    many = [_protection(id=f"gone-{i:03d}", detail="d" * 300, base_path=f"fixtures/gone-{i:03d}.yaml")
            for i in range(40)]
    r = _gate_report(results=results, protection_changes=many, notes=[f"note {i} " + "n" * 900 for i in range(300)])
    for limit in (GITHUB_COMMENT_LIMIT, 40_000, 20_000):
        text = render_markdown(r, limit=limit)
        assert len(text.encode()) <= limit
        assert all(f"gone-{i:03d}" in text for i in range(40)), limit
        assert text.index(PROTECTION_HEADING) < text.index("> **note:**")
    # Not even the protection changes fit: as many as do, and how many did not.
    tiny = render_markdown(r, limit=6000)
    assert len(tiny.encode()) <= 6000 and "gone-000" in tiny
    assert re.search(r"… \d+ more protection changes: the JSON report lists them all", tiny)
    # GitHub's own cut (publish truncates the comment in bytes) keeps the section too.
    # The section boundary right after the protection table is out of reach (the notes are in
    # between): the cut goes inside, never at the protection heading.
    full = render_markdown(r, limit=10_000_000)
    end = len(full[: full.index("### Blocking failures")].encode())
    cut = ghactions.truncate_markdown(full, end - 500)
    assert len(cut.encode()) <= end - 500 and "**Truncated:**" in cut
    assert all(f"gone-{i:03d}" in cut for i in range(40))


def test_verdict_blocks_on_unapproved_protection_changes_alone() -> None:
    ok = [FixtureResult(id="p", severity="blocking", status="pass")]
    assert decide(ok, [_protection()]) == "block"
    assert decide(ok, [_protection(approved=True, approval="label")]) == "pass"


def test_our_sentences_keep_plain_code_spans_and_escape_quoted_values() -> None:
    from evalloop.report.render import code, md_code

    said = md_code("the token lacks `pull-requests: write`: no comment posted (HTTP 403: " + ATTACK + ")")
    assert said.startswith("the token lacks `pull-requests: write`: no comment posted (HTTP 403: ")
    assert "@everyone" not in said and "<!--" not in said and "![x](" not in said and "\n" not in said
    # A quoted value's backticks only shift which parts are spans; a span that is not plain is escaped.
    shifted = md_code("fixture `" + "x` ![x](http://evil.example/x.png) `@everyone <details>" + "` removed")
    assert "![x](" not in shifted and "@everyone" not in shifted and "<details" not in shifted
    assert code("push") == "`push`" and code("a`b @c") == "a\\`b @\u200bc"
