"""Blocking failures made actionable: new or failing on base already, the command that
reproduces each, links to its fixture and incident record at the commit, its owner's contact,
and the causes several share."""

from __future__ import annotations

import re

import pytest

from evalloop.model.results import Evidence, FixtureResult, GateReport, Violation
from evalloop.report.escape import contact
from evalloop.report.failures import Where, reproduce_command, shared_causes
from evalloop.report.links import RepoLinks
from evalloop.report.markdown import render_markdown
from evalloop.report.truncate import GITHUB_COMMENT_LIMIT
from tests.unit.report.reports import ATTACK, FIELDS, assert_inert, gate_report, protection, with_result

LINKS = RepoLinks.of("https://github.com", "acme/agents")
HEAD, BASE = "b" * 40, "c" * 40  # gate_report()'s head and merge-base
ORDER = Violation(kind="order", message="tool:draft_refund_request came before approval:required",
                  evidence=Evidence(span_index=4, ref="tool:draft_refund_request",
                                    expected=["approval:required", "tool:draft_refund_request"]))


def blocking(ident: str, *violations: Violation, **update: object) -> FixtureResult:
    return FixtureResult(id=ident, severity="blocking", status="fail", path=f"fixtures/{ident}.yaml",
                         owner="support-platform", failures=list(violations)).model_copy(update=update)


def test_each_blocking_failure_says_how_to_reproduce_it_and_where_it_is() -> None:
    r = gate_report(results=with_result(owner_contact="#support-oncall", incident_path="incidents/INC-1.yaml",
                                        base_status="pass"), protection_changes=[])
    text = render_markdown(r, links=LINKS)
    fixture = f"https://github.com/acme/agents/blob/{HEAD}/fixtures/guard.yaml"
    record = f"https://github.com/acme/agents/blob/{HEAD}/incidents/INC-1.yaml"
    assert "**reproduce locally** `evalloop run --select guard`" in text
    assert f"**incident** [INC-1]({record})" in text and f"**fixture** [fixtures/guard.yaml]({fixture})" in text
    assert "**owner** support-platform (\\#support-oncall)" in text
    assert "| fixture | status | on base cccccccccccc | owner |" in text
    assert f"| [guard]({fixture}) | fail | 🆕 newly failing: passes on base | support-platform · \\#support-oncall |" \
        in text
    assert "#### guard — fail · 🆕 newly failing: passes on base" in text


def test_without_the_repository_there_are_no_links() -> None:
    r = gate_report(results=with_result(incident_path="incidents/INC-1.yaml"))
    for links in (None, RepoLinks.of("", "acme/agents"), RepoLinks.of("https://github.com", "")):
        text = render_markdown(r, links=links)
        assert "](" not in text and "**incident** INC-1" in text and "**fixture** fixtures/guard.yaml" in text
        assert "`evalloop run --select guard`" in text  # the command needs no repository


@pytest.mark.parametrize(("status", "label"), [
    ("pass", "🆕 newly failing: passes on base"), ("fail", "failing on base too"), ("flaky", "flaky on base"),
    ("error", "could not run on base"), (None, "not checked"),
])
def test_whether_a_failure_is_new_with_the_change(status: str | None, label: str) -> None:
    text = render_markdown(gate_report(results=with_result(base_status=status)))
    assert f"| guard | fail | {label} | support-platform |" in text
    assert f"#### guard — fail · {label}\n" in text


def test_warnings_are_not_checked_on_base_and_say_nothing_of_it() -> None:
    [fail, ok] = with_result(severity="warning")
    text = render_markdown(gate_report(results=[fail, ok], protection_changes=[]))
    assert "#### guard — fail\n" in text and "on base" not in text


def test_reproduce_command_is_safe_to_paste() -> None:
    where = Where.of(gate_report(protection_changes=[]), None)
    assert reproduce_command(blocking("refund-guard"), where) == "evalloop run --select refund-guard"
    assert reproduce_command(blocking("not"), where) == "evalloop run --select id:not"  # a word of --select
    # An id no fixture can have (an unreadable file's path) has no command rather than a wrong one.
    for ident in ("fixtures/a b.yaml", "$(rm -rf ~)", "a;b", "-x", ATTACK):
        assert reproduce_command(blocking(ident), where) is None
    sub = Where.of(gate_report(protection_changes=[], repo_prefix="agents/refund bot/"), None)
    assert reproduce_command(blocking("g"), sub) == "cd 'agents/refund bot' && evalloop run --select g"
    dash = Where.of(gate_report(protection_changes=[], repo_prefix="-P/"), None)
    assert reproduce_command(blocking("g"), dash) == "cd ./-P && evalloop run --select g"
    text = render_markdown(gate_report(results=with_result(), repo_prefix="agents/refund bot/"))
    assert "**reproduce locally** `cd 'agents/refund bot' && evalloop run --select guard`" in text
    # A prefix that cannot stand in a code span is shown as escaped text, still copyable.
    hostile = render_markdown(gate_report(results=with_result(), repo_prefix="a`b|c/"))
    assert "`cd" not in hostile and "cd 'a\\`b\\|c' &amp;&amp; evalloop run --select guard" in hostile


def test_a_base_version_is_reproduced_and_linked_at_the_base_revision() -> None:
    # refund-guard was deleted on head: the gate ran the base revision's version of it.
    gone = blocking("refund-guard", path="fixtures/refund/guard.yaml", incident_path="incidents/INC-1.yaml")
    r = gate_report(results=[gone], protection_changes=[protection()])
    text = render_markdown(r, links=LINKS)
    assert ("`git checkout cccccccccccc -- fixtures/refund/guard.yaml && evalloop run --select refund-guard`"
            in text)
    assert f"[fixtures/refund/guard.yaml](https://github.com/acme/agents/blob/{BASE}/fixtures/refund/guard.yaml)" \
        in text
    assert f"(https://github.com/acme/agents/blob/{HEAD}/incidents/INC-1.yaml)" in text  # the record is head's
    approved = render_markdown(gate_report(results=[gone], protection_changes=[protection(approved=True)]),
                               links=LINKS)
    assert "git checkout" not in approved and f"blob/{HEAD}/fixtures/refund/guard.yaml" in approved


def test_links_are_built_only_from_plain_parts() -> None:
    assert RepoLinks.of("https://github.example.com:8443/", "acme/agents") == \
        RepoLinks("https://github.example.com:8443", "acme/agents")
    for server, repository in [("http://github.com", "a/b"), ("javascript:alert(1)", "a/b"),
                               ("https://github.com/x", "a/b"), ("https://evil.example@github.com", "a/b"),
                               ("https://github.com", "a/b/c"), ("https://github.com", "../b"),
                               ("https://github.com", "a/b?x=1"), ("https://github.com", "a/b#x")]:
        assert RepoLinks.of(server, repository) is None, (server, repository)
    assert LINKS is not None
    assert LINKS.blob(HEAD, "fixtures/a b#?.yaml", "sub dir/") == \
        f"https://github.com/acme/agents/blob/{HEAD}/sub%20dir/fixtures/a%20b%23%3F.yaml"
    for commit, path in [("main", "f.yaml"), ("B" * 40, "f.yaml"), (HEAD, "../../other/repo"), (HEAD, "/etc/x"),
                         (HEAD, "a//b"), (HEAD, "a/./b"), (HEAD, "a\\b"), (HEAD, "a\nb"), (None, "f"), (HEAD, None)]:
        assert LINKS.blob(commit, path) is None, (commit, path)


def test_failures_sharing_a_cause_are_grouped() -> None:
    quote = Violation(kind="output_contains", message="output contains forbidden 'approved'",
                      evidence=Evidence(expected="approved"))
    other_order = ORDER.model_copy(update={"evidence": ORDER.evidence.model_copy(update={"expected": ["a", "b"]})})
    results = [blocking("a", ORDER, quote), blocking("b", ORDER), blocking("c", other_order, quote),
               blocking("d", ORDER, ORDER)]
    causes = shared_causes(results)
    assert [(c.first.kind, c.fixtures) for c in causes] == [("order", ["a", "b", "d"]),
                                                            ("output_contains", ["a", "c"])]
    r = gate_report(results=results, protection_changes=[])
    text = render_markdown(r)
    assert "**2 causes shared by several failures** (one fix may clear them all):" in text
    assert ("- **order** on `tool:draft_refund_request`: tool:draft\\_refund\\_request came before "
            "approval:required<br>in **3 fixtures**: a, b, d") in text
    assert "- **output\\_contains**: output contains forbidden 'approved'<br>in **2 fixtures**: a, c" in text
    # Every failure keeps its own violations below.
    assert text.count("- **order**: tool:draft\\_refund\\_request came before approval:required") == 5
    alone = render_markdown(gate_report(results=[blocking("a", ORDER)], protection_changes=[]))
    assert "shared by several" not in alone


def test_contacts_can_be_copied_and_mention_nobody() -> None:
    assert contact("tns@example.com") == "`tns@example.com`"
    assert contact("@acme/oncall") == "@\u200bacme/oncall"
    assert contact("#support-platform-oncall") == "\\#support-platform-oncall"
    assert contact("a@b.com` @everyone") == "a@\u200bb.com\\` @\u200beveryone"


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_text_in_any_field_is_inert_with_links_too(field: str) -> None:
    r = FIELDS[field](ATTACK)
    text = render_markdown(r, links=LINKS)
    assert_inert(text)
    for url in re.findall(r"(?<!\\)\]\(([^)]*)\)", text):
        assert url.startswith("https://github.com/acme/agents/blob/"), url


@pytest.mark.parametrize("field", ["head", "merge_base", "base"])
def test_hostile_revisions_make_no_links(field: str) -> None:
    r = gate_report(results=with_result(incident_path="incidents/INC-1.yaml"),
                    protection_changes=[protection(id="guard")]).model_copy(update={field: ATTACK})
    text = render_markdown(r, links=LINKS)
    assert_inert(text)
    assert f"blob/{ATTACK}" not in text and "](https://github.com/acme/agents/blob/golden" not in text


def test_many_blocking_failures_still_fit_with_every_one_kept() -> None:
    results = [blocking(f"fx-{i:04d}", ORDER, *[ORDER.model_copy(update={"message": "m" * 200})] * 20,
                        owner_contact="support@example.com", incident_path="incidents/INC-1.yaml",
                        base_status="pass")
               for i in range(40)]
    r = GateReport.model_validate(gate_report(results=results, protection_changes=[]).model_dump())
    text = render_markdown(r, links=LINKS)
    assert len(text.encode()) <= GITHUB_COMMENT_LIMIT < len(render_markdown(r, limit=10**8, links=LINKS))
    assert all(f"#### fx-{i:04d} — fail" in text and f"--select fx-{i:04d}`" in text for i in range(40))
    assert "**1 cause shared by several failures**" in text and "in **40 fixtures**" in text
    assert f"](https://github.com/acme/agents/blob/{HEAD}/fixtures/fx-0039.yaml)" in text
