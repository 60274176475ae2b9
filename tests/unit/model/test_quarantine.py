from __future__ import annotations

import datetime as dt
from pathlib import Path

from evalloop.model import quarantine
from tests.support import invoke, write

FIX = "id: {id}\nowner: my-team\nseverity: blocking\n{extra}input: {{user_message: hi}}\n"
ENTRY = ("  - id: {id}\n    owner: my-team\n    reason: flaky tool mock\n"
         "    issue: https://github.com/acme/agent/issues/7\n    expires_at: {exp}\n")


def test_validate_refuses_protected_and_reports_expired(repo: Path) -> None:
    write(repo / "fixtures/money.yaml", FIX.format(id="money", extra="risk: [money_movement]\n"))
    write(repo / "fixtures/tone.yaml", FIX.format(id="tone", extra="risk: [quality]\n"))
    write(repo / "quarantine.yaml", "quarantine:\n" + ENTRY.format(id="money", exp="2027-01-01")
          + ENTRY.format(id="tone", exp="2026-01-01") + ENTRY.format(id="ghost", exp="2027-01-01"))
    result = invoke("validate", "--today", "2026-06-01")
    out = result.output
    assert result.exit_code == 1
    assert "quarantine.yaml:2:9: QUA001 fixture 'money' guards money_movement: it can never be quarantined" in out
    assert "quarantine.yaml:11:17: QUA002 warning: quarantine of 'tone' expired on 2026-01-01" in out
    assert "quarantine.yaml:12:9: REF003 quarantined fixture 'ghost' does not exist" in out


def test_quarantine_entry_needs_owner_reason_issue(repo: Path) -> None:
    write(repo / "quarantine.yaml", "quarantine:\n  - id: x\n    owner: my-team\n    expires_at: 2027-01-01\n")
    out = invoke("validate", "quarantine.yaml").output
    assert "'reason' is a required property" in out and "'issue' is a required property" in out


def test_active_respects_expiry() -> None:
    entries = quarantine.QuarantineFile.model_validate({"quarantine": [
        {"id": "a", "owner": "my-team", "reason": "flaky tool mock",
         "issue": "https://github.com/acme/agent/issues/7", "expires_at": "2026-05-01"}]}).quarantine
    assert quarantine.active(entries, "a", dt.date(2026, 5, 1)) is not None
    assert quarantine.active(entries, "a", dt.date(2026, 5, 2)) is None
    assert quarantine.active(entries, "b", dt.date(2026, 5, 1)) is None
