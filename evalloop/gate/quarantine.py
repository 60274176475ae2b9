"""Quarantine applied to results: which flaky results stop gating, and why the others still do.

A quarantine entry (quarantine.yaml, read from head's objects) excuses a flaky fixture
while it is active and owned. It never excuses a fixture that guards an incident or a
risk signal, on head or on base: head could otherwise drop the mark and quarantine the
fixture in one change. Nor does it excuse a fixture with a protection change that is not
approved: quarantining a fixture that blocks on base is one.
"""

from __future__ import annotations

import datetime as dt

from evalloop.model.quarantine import active, guarded
from evalloop.model.results import FixtureResult
from evalloop.repo.revision import Revision


def apply_quarantine(results: list[FixtureResult], head: Revision, base: Revision | None,
                     today: dt.date, unapproved: set[str]) -> list[str]:
    """Mark the flaky results an owned, unexpired entry excuses (in place); a note for each flaky
    result with an entry. Protected ones are never excused, and a fixture protected on base stays
    protected whatever head says about it."""
    if not head.quarantine:
        return []
    heads = head.by_id()
    bases = base.by_id() if base else {}
    notes = []
    for i, r in enumerate(results):
        q = active(head.quarantine, r.id, today) if r.status == "flaky" else None
        if q is None:
            continue
        why: list[str] = []
        for rev, entries in ((head, heads), (base, bases)):
            e = entries.get(r.id)
            if rev is not None and e is not None and e.head is not None:
                why += [w for w in guarded(e.head.risk, e.head.incident_id, rev.signals) if w not in why]
        if why:
            notes.append(f"{r.id} is flaky; its quarantine entry is ignored because it guards {', '.join(why)}")
            continue
        if r.id in unapproved:
            notes.append(f"{r.id} is flaky; its quarantine entry is new in this change and not approved")
            continue
        results[i] = r.model_copy(update={"quarantined": True})
        notes.append(f"{r.id} is flaky and quarantined until {q.expires_at} (owner {q.owner}, {q.issue})")
    return notes
