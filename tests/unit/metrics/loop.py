"""A fixture repository with a generated history of its loop: incident records and fixtures
committed at chosen times on the main line, gate ledger lines, release ledger entries, signals and
traces. Every event is also kept in `truth`, so tests compute what to expect from the events
themselves, not from what evalloop read back."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from evalloop.metrics import ledger
from evalloop.metrics.sources import LoopData, Options, load
from evalloop.model.metrics import GateRecord, RecordedResult
from evalloop.model.release import LedgerEntry
from evalloop.repo.config import load_config
from tests.support.gitrepo import AUTHOR

CONFIG = "version: 1\ndefaults: {owner: support-platform}\nloop: {owner: loop-team}\n"
NOW = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)


def at(text: str) -> dt.datetime:
    """'2026-03-02' or '2026-03-02T10:00' as an aware UTC time."""
    when = dt.datetime.fromisoformat(text)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


@dataclass
class Loop:
    root: Path
    config: str = CONFIG
    truth: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.repo = git.Repo.init(self.root)
        (self.root / "evalloop.yaml").write_text(self.config)
        (self.root / "incidents").mkdir(exist_ok=True)
        self.commit("2026-01-01", "config")

    def _keep(self, kind: str, **event: Any) -> None:
        self.truth.setdefault(kind, []).append(event)

    def commit(self, when: str, message: str) -> None:
        self.repo.git.add(A=True)
        stamp = at(when).strftime("%Y-%m-%dT%H:%M:%S+0000")
        self.repo.index.commit(message, author=AUTHOR, committer=AUTHOR, author_date=stamp, commit_date=stamp)

    def incident(self, incident_id: str, *, opened: str, severity: str = "sev1", added: str | None = None,
                 recurrence_of: str | None = None, signal: str = "money_movement") -> None:
        text = (f"id: {incident_id}\nseverity: {severity}\nopened_at: {opened}\nsignal: {signal}\n"
                f"summary: generated\nowner: support-platform\n")
        if recurrence_of:
            text += f"recurrence_of: {recurrence_of}\n"
        (self.root / "incidents" / f"{incident_id}.yaml").write_text(text)
        self.commit(added or opened, f"incident {incident_id}")
        self._keep("incidents", id=incident_id, opened=at(opened), severity=severity, recurrence_of=recurrence_of)

    def fixture(self, fixture_id: str, *, committed: str, incident_id: str | None = None, severity: str = "blocking",
                gates: list[str] | None = None, owner: str | None = "support-platform", reason: str | None = "why",
                path: str | None = None) -> None:
        lines = [f"id: {fixture_id}", f"severity: {severity}"]
        lines += [f"incident_id: {incident_id}"] if incident_id else []
        lines += [f"owner: {owner}"] if owner else []
        lines += [f"reason: {reason}"] if reason else []
        lines += [f"gates: [{', '.join(gates)}]"] if gates is not None else []
        lines += ["expected: {stop_reason: done}"]
        file = self.root / (path or f"fixtures/{fixture_id}.yaml")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("\n".join(lines) + "\n")
        self.commit(committed, f"fixture {fixture_id}")
        self._keep("fixtures", id=fixture_id, committed=at(committed), incident_id=incident_id, severity=severity,
                   gates=gates)

    def remove(self, rel: str, when: str) -> None:
        (self.root / rel).unlink()
        self.commit(when, f"remove {rel}")

    def artifact(self, rel: str, when: str, text: str = "x\n") -> None:
        file = self.root / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text + when + "\n")
        self.commit(when, f"change {rel}")
        self._keep("artifacts", path=rel, at=at(when))

    def gate(self, when: str, head: str, results: list[tuple[str, str, str]], *, shard: str | None = None,
             attempt: int | None = None, runs: int = 1) -> GateRecord:
        """results: (fixture id, severity, status)."""
        incidents = {f["id"]: f["incident_id"] for f in self.truth.get("fixtures", [])}
        recorded = [RecordedResult(id=i, severity=sev, status=st, runs=runs if st != "flaky" else 3,  # type: ignore[arg-type]
                                   passes=(runs if st == "pass" else 1 if st == "flaky" else 0),
                                   incident_id=incidents.get(i)) for i, sev, st in results]
        blocked = any(r.severity == "blocking" and r.status != "pass" for r in recorded)
        record = GateRecord(timestamp=at(when), head=head, base="b" * 40, verdict="block" if blocked else "pass",
                            shard=shard, run_attempt=attempt, results=recorded)
        ledger.append(self.root / "ledgers" / "gates.jsonl", record)
        self._keep("gates", at=at(when), head=head, shard=shard, attempt=attempt, results=results)
        return record

    def release(self, when: str, event: str, artifact: str, *, revision: str | None = None,
                decision: str | None = None, kind: str | None = None, env: str = "production") -> None:
        entry = LedgerEntry(at=at(when), env=env, event=event, artifact=artifact, revision=revision,  # type: ignore[arg-type]
                            decision=decision, kind=kind)  # type: ignore[arg-type]
        path = self.root / "releases" / f"{env}.jsonl"
        path.parent.mkdir(exist_ok=True)
        with path.open("a") as fh:
            fh.write(entry.model_dump_json() + "\n")
        self._keep("releases", at=at(when), event=event, artifact=artifact, revision=revision, decision=decision)

    def signals(self, records: list[dict[str, Any]]) -> None:
        path = self.root / "signals" / "production.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        self.truth["signals"] = records

    def traces(self, runs: list[dict[str, Any]]) -> Path:
        path = self.root / "sample" / "runs.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in runs))
        return path

    def data(self, **opts: Any) -> LoopData:
        return load(self.root, load_config(self.root), Options(**opts))
