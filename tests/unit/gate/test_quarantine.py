"""Quarantine applied to results: owned, unexpired entries excuse flaky results, never protected
ones (on head or on base) and never one whose protection change is not approved."""

from __future__ import annotations

import datetime as dt

from evalloop.gate.quarantine import apply_quarantine
from evalloop.model.config import Config
from evalloop.model.quarantine import QuarantineEntry
from evalloop.model.results import FixtureResult
from evalloop.repo.identities import Entry, Head
from evalloop.repo.revision import Revision

TODAY = dt.date(2026, 6, 1)


def entry(ident: str, risk: list[str] | None = None, incident: str | None = None) -> Entry:
    head = Head(id=ident, owner="t", severity="blocking", gates=None, scope=None, incident_id=incident, reason=None,
                risk=risk or [])
    return Entry(path=f"fixtures/{ident}.yaml", head=head, severity="blocking")


def quarantined(ident: str, expires: dt.date = dt.date(2026, 12, 31)) -> QuarantineEntry:
    return QuarantineEntry(id=ident, owner="t", reason="mock race", issue="https://github.com/a/b/issues/1",
                           expires_at=expires)


def revision(entries: list[Entry], quarantine: list[QuarantineEntry] | None = None,
             signals: dict[str, str] | None = None) -> Revision:
    return Revision("c" * 40, "", Config(), entries, quarantine or [], signals or {})


def flaky(ident: str) -> FixtureResult:
    return FixtureResult(id=ident, severity="blocking", status="flaky", runs=2, passes=1)


def test_an_owned_unexpired_entry_quarantines_only_flaky_results() -> None:
    head = revision([entry("a"), entry("b")], [quarantined("a"), quarantined("b")])
    results = [flaky("a"), FixtureResult(id="b", severity="blocking", status="fail")]
    notes = apply_quarantine(results, head, None, TODAY, set())
    assert [r.quarantined for r in results] == [True, False]
    assert notes == ["a is flaky and quarantined until 2026-12-31 (owner t, https://github.com/a/b/issues/1)"]


def test_an_expired_entry_or_none_at_all_changes_nothing() -> None:
    results = [flaky("a")]
    assert apply_quarantine(results, revision([entry("a")]), None, TODAY, set()) == []
    head = revision([entry("a")], [quarantined("a", dt.date(2026, 5, 31))])
    assert apply_quarantine(results, head, None, TODAY, set()) == []
    assert results[0].quarantined is False


def test_protected_on_head_or_on_base_is_never_quarantined() -> None:
    results = [flaky("money"), flaky("inc")]
    head = revision([entry("money", risk=["money_movement"]), entry("inc")], [quarantined("money"),
                                                                             quarantined("inc")])
    # head dropped the incident mark; base still has it, and its incident is a privacy one
    base = revision([entry("inc", incident="INC-1")], signals={"INC-1": "privacy"})
    notes = apply_quarantine(results, head, base, TODAY, set())
    assert [r.quarantined for r in results] == [False, False]
    assert notes == ["money is flaky; its quarantine entry is ignored because it guards money_movement",
                     "inc is flaky; its quarantine entry is ignored because it guards incident INC-1 is a "
                     "privacy incident"]


def test_an_unapproved_protection_change_keeps_it_gating() -> None:
    results = [flaky("a")]
    notes = apply_quarantine(results, revision([entry("a")], [quarantined("a")]), None, TODAY, {"a"})
    assert results[0].quarantined is False
    assert notes == ["a is flaky; its quarantine entry is new in this change and not approved"]
