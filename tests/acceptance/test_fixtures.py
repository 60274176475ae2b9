"""`evalloop fixtures`: the lifecycle views and edits, on a real repository as users run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import invoke, write

FIX = """# keep: {id} protects the approval gate
id: {id}
owner: {owner}   # who keeps it healthy
severity: blocking
{extra}input: {{user_message: hi}}
expected:
  tools_not_called: [issue_refund]
"""


@pytest.fixture
def lrepo(chdir: Path) -> Path:
    write(chdir / ".git/HEAD", "ref: refs/heads/main\n")
    write(chdir / "evalloop.yaml", "version: 1\nagent: {entrypoint: 'a:run', tools: tools/manifest.yaml}\n")
    write(chdir / "owners.yaml", "owners:\n  support-platform: {}\n  payments: {}\n")
    write(chdir / "tools/manifest.yaml", "tools:\n  - {name: read_order}\n")  # issue_refund retired
    write(chdir / "policies/refund.yaml", "policy_version: refund-2026-06\nrefund_threshold: 500\n")
    write(chdir / "incidents/INC-1.yaml", "id: INC-1\n")
    write(chdir / "fixtures/live.yaml", FIX.format(id="live", owner="support-platform", extra=""))
    write(chdir / "fixtures/old.yaml", FIX.format(id="old", owner="support-platform", extra="expires_at: 2026-01-31\n"))
    write(chdir / "fixtures/soon.yaml", FIX.format(id="soon", owner="payments", extra="expires_at: 2026-06-20\n"))
    write(chdir / "fixtures/orphan.yaml", FIX.format(
        id="orphan", owner="ghost-team",
        extra="incident_id: INC-404\ncontext: {policy_version: refund-2025-01}\n"))
    return chdir


def test_views_and_their_exit_codes(lrepo: Path) -> None:
    listed = invoke("fixtures", "list", "--format", "json", "--today", "2026-06-10")
    assert listed.exit_code == 0
    assert sorted(f["id"] for f in json.loads(listed.output)["fixtures"]) == ["live", "old", "orphan", "soon"]
    soon = invoke("fixtures", "expiring", "--within", "14", "--today", "2026-06-10")
    assert soon.exit_code == 0 and "soon" in soon.output and "old" not in soon.output.split("\n", 1)[1]
    gone = invoke("fixtures", "expired", "--today", "2026-06-10")
    assert gone.exit_code == 1 and "fixtures/old.yaml" in gone.output and "soon" not in gone.output


def test_orphaned_says_why_each_fixture_no_longer_fits(lrepo: Path) -> None:
    out = invoke("fixtures", "orphaned", "--format", "json")
    assert out.exit_code == 1
    report = json.loads(out.output)
    why = {f["id"]: f["orphaned"] for f in report["fixtures"]}
    assert why["orphan"] == ["owner 'ghost-team' is unknown", "tool issue_refund is not in the manifest (retired?)",
                             "policy version refund-2025-01 is retired (not declared by any policy file)",
                             "incident INC-404 has no record under incidents/"]
    assert why["live"] == ["tool issue_refund is not in the manifest (retired?)"]


def test_prune_dry_run_changes_nothing_then_archives(lrepo: Path) -> None:
    dry = invoke("fixtures", "prune", "--expired", "--dry-run", "--today", "2026-06-10")
    assert dry.exit_code == 0 and "would remove fixtures/old.yaml (expired 2026-01-31)" in dry.output
    assert (lrepo / "fixtures/old.yaml").exists()
    done = invoke("fixtures", "prune", "--expired", "--archive", "attic", "--today", "2026-06-10")
    assert done.exit_code == 0 and "archived fixtures/old.yaml -> attic/fixtures/old.yaml" in done.output
    assert "protection change" in done.output
    assert not (lrepo / "fixtures/old.yaml").exists() and (lrepo / "attic/fixtures/old.yaml").exists()
    assert invoke("fixtures", "expired", "--today", "2026-06-10").exit_code == 0


def test_transfer_changes_the_owner_and_not_one_other_byte(lrepo: Path) -> None:
    before = {p: (lrepo / p).read_bytes() for p in ("fixtures/live.yaml", "fixtures/old.yaml", "fixtures/soon.yaml")}
    write(lrepo / "fixtures/json.json", '{\n  "id": "js",\n  "owner": "support-platform",\n  "input": {}\n}\n')
    out = invoke("fixtures", "transfer", "support-platform", "payments")
    assert out.exit_code == 0, out.output
    assert "transferred fixtures/live.yaml: support-platform -> payments" in out.output
    for p, raw in before.items():
        now = (lrepo / p).read_bytes()
        if b"owner: payments" in raw:
            assert now == raw  # soon.yaml was payments' already
        else:
            assert now == raw.replace(b"owner: support-platform", b"owner: payments")
    assert (lrepo / "fixtures/json.json").read_text() == '{\n  "id": "js",\n  "owner": "payments",\n  "input": {}\n}\n'
    refused = invoke("fixtures", "transfer", "payments", "nobody")
    assert refused.exit_code == 2 and "'nobody' is not a known owner" in refused.output
    assert invoke("fixtures", "transfer", "ghost", "payments").exit_code == 1  # nothing named ghost
