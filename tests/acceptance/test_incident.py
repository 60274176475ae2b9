"""`evalloop incident new ID ...` as users run it."""

from __future__ import annotations

from pathlib import Path

import yaml

from evalloop.model.incident import Incident
from tests.support import run_evalloop, write

ARGS = ("--severity", "sev1", "--signal", "money_movement", "--owner", "my-team",
        "--summary", "The agent refunded 640 USD without a lead's approval.")


def test_new_record_validates(repo: Path) -> None:
    proc = run_evalloop("incident", "new", "INC-2026-05-01-001", *ARGS, "--opened-at", "2026-05-01T08:30:00Z",
                        "--link", "https://example.com/postmortems/1", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    path = repo / "incidents" / "INC-2026-05-01-001.yaml"
    assert "wrote incidents/INC-2026-05-01-001.yaml" in proc.stdout
    text = path.read_text()
    assert "opened_at: 2026-05-01T08:30:00Z" in text and "# What happened" in text
    record = Incident.model_validate(yaml.safe_load(text))
    assert record.severity == "sev1" and record.signal == "money_movement" and record.owner == "my-team"
    assert record.links == ["https://example.com/postmortems/1"]
    check = run_evalloop("validate", cwd=repo)
    assert check.returncode == 0, check.stdout + check.stderr


def test_default_time_and_a_date(repo: Path) -> None:
    assert run_evalloop("incident", "new", "INC-1", *ARGS, cwd=repo).returncode == 0
    assert isinstance(yaml.safe_load((repo / "incidents/INC-1.yaml").read_text())["opened_at"], object)
    assert run_evalloop("incident", "new", "INC-2", *ARGS, "--opened-at", "2026-05-01", cwd=repo).returncode == 0
    assert "opened_at: 2026-05-01\n" in (repo / "incidents/INC-2.yaml").read_text()
    assert run_evalloop("validate", cwd=repo).returncode == 0


def test_never_overwrites(repo: Path) -> None:
    assert run_evalloop("incident", "new", "INC-1", *ARGS, cwd=repo).returncode == 0
    before = (repo / "incidents/INC-1.yaml").read_text()
    proc = run_evalloop("incident", "new", "INC-1", *ARGS, cwd=repo)
    assert proc.returncode == 1 and "incidents/INC-1.yaml already exists; not overwriting" in proc.stderr
    assert (repo / "incidents/INC-1.yaml").read_text() == before
    # the same id in another file
    write(repo / "incidents/older.yaml", before.replace("INC-1", "INC-9"))
    proc = run_evalloop("incident", "new", "INC-9", *ARGS, cwd=repo)
    assert proc.returncode == 1 and "already recorded in incidents/older.yaml" in proc.stderr


def test_bad_arguments_are_one_line(repo: Path) -> None:
    proc = run_evalloop("incident", "new", "INC-1", *ARGS[:1], "sev9", *ARGS[2:], cwd=repo)
    assert proc.returncode == 2
    assert "invalid incident: severity: Input should be 'sev1', 'sev2'" in proc.stderr
    bad_signal = list(ARGS)
    bad_signal[3] = "money"
    proc = run_evalloop("incident", "new", "INC-1", *bad_signal, cwd=repo)
    assert proc.returncode == 2 and "signal: Input should be" in proc.stderr
    bad_owner = list(ARGS)
    bad_owner[5] = "nobody"
    proc = run_evalloop("incident", "new", "INC-1", *bad_owner, cwd=repo)
    assert proc.returncode == 2 and "owner 'nobody' is not known" in proc.stderr
    proc = run_evalloop("incident", "new", "INC 1", *ARGS, cwd=repo)
    assert proc.returncode == 2 and "id: String should match pattern" in proc.stderr
    proc = run_evalloop("incident", "new", "INC-1", *ARGS, "--opened-at", "yesterday", cwd=repo)
    assert proc.returncode == 2 and "--opened-at 'yesterday' is neither a date" in proc.stderr
    assert not (repo / "incidents/INC-1.yaml").exists()
