from __future__ import annotations

import re

import pytest

from evalloop.github.context import ActionsContext, PullRequest
from evalloop.github.publish import COMMENT_MARKER, comment_body
from evalloop.model.results import FixtureResult
from evalloop.report import truncate
from evalloop.report.escape import md
from evalloop.report.markdown import render_markdown
from evalloop.report.text import render_text
from evalloop.report.truncate import GITHUB_COMMENT_LIMIT, PROTECTION_HEADING
from tests.unit.report.reports import (
    ATTACK,
    FIELDS,
    HOSTILE,
    assert_inert,
    failing,
    gate_report,
    protection,
    protection_report,
    report,
    with_result,
)


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


def test_markdown_shows_each_violation_with_its_evidence() -> None:
    text = render_markdown(gate_report())
    assert "- **missing\\_span**: no approval span — span 2; tool:draft\\_refund; expected x; actual y" in text


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


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_text_in_any_field_is_inert_in_markdown(field: str) -> None:
    r = FIELDS[field](ATTACK)
    text = render_markdown(r)
    assert_inert(text)
    assert "\\# PASS" in text  # shown, escaped, not dropped
    body = comment_body(text, ActionsContext(env={}), PullRequest(number=1, head_sha="b" * 40, fork=False))
    assert body.count(COMMENT_MARKER) == 1 and body.startswith(COMMENT_MARKER)


# -- protection changes come first ---------------------------------------------------------------------


def test_markdown_lists_protection_changes_first_and_says_why_it_blocks() -> None:
    text = render_markdown(protection_report())
    assert text.startswith("## evalloop gate: ❌ BLOCK: 2 protection changes need approval\n")
    first = text.index(PROTECTION_HEADING)
    assert first < text.index("### 1. What changed") and text.index("### ") == first
    assert "| refund-guard<br>fixtures/refund/guard.yaml | removed | fixtures/refund/guard.yaml is deleted | " \
           "support-platform | ⛔ needs approval by support-platform |" in text
    assert "✅ approved: label 'evalloop-approved'" in text
    # Unapproved ones first.
    assert text.index("refund-timeout") < text.index("refund-scope")
    both = render_markdown(protection_report(with_result()))
    assert both.startswith("## evalloop gate: ❌ BLOCK: 2 protection changes need approval, 1 blocking failure\n")
    assert both.index(PROTECTION_HEADING) < both.index("### Blocking failures")


def test_approved_protection_changes_do_not_block() -> None:
    r = gate_report(results=[FixtureResult(id="ok", severity="blocking", status="pass")],
                    protection_changes=[protection(approved=True, approval="protection-changes.yaml: ok")])
    assert r.verdict == "pass"
    text = render_markdown(r)
    assert text.startswith("## evalloop gate: ✅ PASS\n") and f"{PROTECTION_HEADING}: all 1 approved" in text
    assert "PROTECTION CHANGES (approved):" in render_text(r)


def test_truncation_never_cuts_protection_changes() -> None:
    results = [failing(i, n_violations=30, text="x" * 200) for i in range(60)]
    results += [FixtureResult(id=f"pass-{i:05d}", severity="blocking", status="pass") for i in range(3000)]
    many = [protection(id=f"gone-{i:03d}", detail="d" * 300, base_path=f"fixtures/gone-{i:03d}.yaml")
            for i in range(40)]
    r = gate_report(results=results, protection_changes=many, notes=[f"note {i} " + "n" * 900 for i in range(300)])
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
    cut = truncate.truncate_markdown(full, end - 500)
    assert len(cut.encode()) <= end - 500 and "**Truncated:**" in cut
    assert all(f"gone-{i:03d}" in cut for i in range(40))


def test_no_limit_is_too_small() -> None:
    r = protection_report(with_result())
    for limit in (0, 1, 50, 300, 1000):
        assert len(render_markdown(r, limit=limit).encode()) <= limit
