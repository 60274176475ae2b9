"""Everything `evalloop metrics` reads, loaded once: incident records, the fixtures of the work tree,
the main line's history, the gate ledger (or the gate's JSON reports), the release ledgers,
production signals and a sample of production traces.

A source that does not exist is None, never an empty list: a metric computed from it says which
data is missing instead of showing a zero. A record that exists but cannot be read stops the
command with its file and line (fail closed: a count that skips it would be wrong).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from evalloop.errors import EvalloopError, UsageError
from evalloop.intake.lifecycle import Entry, inventory
from evalloop.intake.signals import LocatedSignal, load_signals
from evalloop.metrics import ledger
from evalloop.metrics.history import History, read_history
from evalloop.model.config import Config
from evalloop.model.incident import Incident
from evalloop.model.metrics import GateRecord, Source
from evalloop.model.quarantine import QUARANTINE_FILE, QuarantineEntry, QuarantineFile
from evalloop.model.release import LEDGER_DIR, LedgerEntry
from evalloop.model.run import Run
from evalloop.repo import parse
from evalloop.repo.git import open_repo
from evalloop.repo.globs import glob_files
from evalloop.repo.incidents import incident_files
from evalloop.text import clean

TRACE_SUFFIXES = (".json", ".jsonl", ".ndjson")
MAX_RELEASE_LEDGER_BYTES = 64 << 20


@dataclass(frozen=True)
class IncidentRecord:
    incident: Incident
    path: str

    @property
    def id(self) -> str:
        return self.incident.id

    @property
    def opened(self) -> dt.datetime:
        return utc(self.incident.opened_at)


@dataclass
class Options:
    gate_reports: Path | None = None  # a folder of the gate's JSON reports, besides the ledger
    traces: list[Path] = field(default_factory=list)  # trace files or folders, besides metrics.traces
    signals: list[Path] = field(default_factory=list)  # signals files, instead of metrics.signals
    branch: str | None = None  # instead of metrics.branch
    github: str | None = None  # OWNER/REPO whose report artifacts are read through the REST API
    github_artifacts: list[str] = field(default_factory=list)  # their names (default: evalloop-report)
    env: dict[str, str] = field(default_factory=dict)  # GITHUB_TOKEN, GITHUB_API_URL for --github


@dataclass
class LoopData:
    config: Config
    incidents: list[IncidentRecord] | None = None
    fixtures: list[Entry] | None = None
    history: History | None = None
    gate_runs: list[GateRecord] | None = None
    releases: list[LedgerEntry] | None = None
    signals: list[LocatedSignal] | None = None
    runs: list[Run] | None = None
    side_effect_tools: frozenset[str] = frozenset()
    quarantine: list[QuarantineEntry] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)

    def where(self, name: str) -> str:
        """Where source `name` is looked for, for a metric's `missing` line."""
        found = next((s for s in self.sources if s.name == name), None)
        return f"{name} ({found.where})" if found else name


def utc(when: dt.datetime | dt.date) -> dt.datetime:
    """A record's time as an aware UTC datetime: a date is its midnight, a naive time is UTC."""
    if not isinstance(when, dt.datetime):
        return dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def load(root: Path, config: Config, opts: Options) -> LoopData:
    data = LoopData(config=config)
    _incidents(data, root, config)
    data.fixtures = inventory(root, config)
    data.sources.append(Source(name="fixtures", where=", ".join(config.fixtures), found=True,
                               records=len(data.fixtures)))
    _history(data, root, config, opts.branch)
    _gates(data, root, config, opts)
    _releases(data, root)
    _signals(data, root, config, opts.signals)
    _traces(data, root, config, opts.traces)
    data.side_effect_tools = frozenset(config.metrics.policy_denial_accuracy.side_effect_tools) | _manifest_tools(
        root, config)
    data.quarantine = _quarantine(root, config)
    return data


def _incidents(data: LoopData, root: Path, config: Config) -> None:
    folder = config.incidents_dir.strip("/") + "/"
    if not (root / folder).is_dir():
        data.sources.append(Source(name="incident records", where=folder, found=False))
        return
    records = []
    for path in incident_files(root, config):
        rel = path.relative_to(root).as_posix()
        doc = parse.load_document(path, max_bytes=config.max_fixture_bytes, display=rel, root=root)
        try:
            records.append(IncidentRecord(Incident.model_validate(doc.data), rel))
        except ValidationError as exc:
            err = exc.errors()[0]
            line, col = parse.locate(doc, tuple(err["loc"]))
            raise EvalloopError(clean(f"invalid incident record: {parse.first_error(exc)}"),
                                path=rel, line=line, col=col) from None
    data.incidents = records
    data.sources.append(Source(name="incident records", where=folder, found=True, records=len(records)))


def _history(data: LoopData, root: Path, config: Config, branch: str | None) -> None:
    rev = branch or config.metrics.branch
    try:
        open_repo(root)
    except UsageError:
        data.sources.append(Source(name="git history", where=f"{rev}: not a git repository", found=False))
        return
    data.history = read_history(root, config, branch)
    data.sources.append(Source(name="git history", where=f"first-parent line of {rev}",
                               found=data.history.commits > 0, records=data.history.commits))
    if data.history.commits == 0:
        data.history = None


def _gates(data: LoopData, root: Path, config: Config, opts: Options) -> None:
    reports = opts.gate_reports
    path = root / config.metrics.gate_ledger
    where = config.metrics.gate_ledger + (f" and {reports}" if reports else "")
    runs: list[GateRecord] | None = None
    if path.is_file():
        runs = ledger.read_ledger(path, config.metrics.gate_ledger)
    if reports is not None:
        runs = [*(runs or []), *ledger.read_reports(reports)]
    if opts.github is not None:
        from evalloop.github import artifacts

        names = opts.github_artifacts or [artifacts.REPORT_ARTIFACT]
        fetched = artifacts.gate_records(opts.github, names, opts.env)
        if fetched.artifacts:
            # No readable artifact at all (a workflow that uploads none, or all expired) is missing data,
            # not a window without gate runs.
            runs = [*(runs or []), *fetched.records]
        expired = f", {fetched.expired} expired skipped" if fetched.expired else ""
        where += clean(f" and GitHub {opts.github} artifacts {', '.join(names)} ({fetched.artifacts} read{expired})")
    if runs is not None:
        # the same run recorded in the ledger and uploaded as a report counts once
        unique = {(r.timestamp, r.head, r.shard): r for r in runs}
        runs = sorted(unique.values(), key=lambda r: r.timestamp)
    data.gate_runs = runs
    data.sources.append(Source(name="gate ledger", where=where, found=runs is not None, records=len(runs or [])))


def _read_release_ledgers(root: Path) -> list[LedgerEntry] | None:
    """Every environment's release ledger (`releases/*.jsonl`), oldest first; None without the folder."""
    from evalloop.release.ledger import read_ledger

    folder = root / LEDGER_DIR
    if not folder.is_dir():
        return None
    out = [e for path in sorted(folder.glob("*.jsonl")) for e in read_ledger(root, path.stem)]
    return sorted(out, key=lambda e: utc(e.at))


def _releases(data: LoopData, root: Path) -> None:
    data.releases = _read_release_ledgers(root)
    data.sources.append(Source(name="release ledgers", where=f"{LEDGER_DIR}/*.jsonl", found=data.releases is not None,
                               records=len(data.releases or [])))


def _signals(data: LoopData, root: Path, config: Config, given: list[Path]) -> None:
    files = given or glob_files(root, config.metrics.signals)
    where = ", ".join(str(p) for p in given) if given else ", ".join(config.metrics.signals)
    if not files:
        data.sources.append(Source(name="production signals", where=where, found=False))
        return
    found: list[LocatedSignal] = []
    for path in files:
        found += load_signals(path, _shown(path, root))
    data.signals = found
    data.sources.append(Source(name="production signals", where=where, found=True, records=len(found)))


def _traces(data: LoopData, root: Path, config: Config, given: list[Path]) -> None:
    from evalloop.traces.load import load_runs

    files: list[Path] = []
    for p in given:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in TRACE_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise EvalloopError("no such trace file or folder", path=str(p))
    files += glob_files(root, config.metrics.traces) if config.metrics.traces else []
    named = [*(str(p) for p in given), *config.metrics.traces]
    where = ", ".join(named) or "none given: --traces PATH or metrics.traces"
    if not files:
        data.sources.append(Source(name="trace sample", where=where, found=False))
        return
    runs: list[Run] = []
    for path in files:
        runs += load_runs(path)
    data.runs = runs
    data.sources.append(Source(name="trace sample", where=where, found=True, records=len(runs)))


def _manifest_tools(root: Path, config: Config) -> frozenset[str]:
    if config.agent is None or config.agent.tools is None:
        return frozenset()
    from evalloop.harness.manifest import agent_manifest

    manifest = agent_manifest(root, config.agent)
    return frozenset(t.name for t in manifest.tools if t.side_effect) if manifest else frozenset()


def _quarantine(root: Path, config: Config) -> list[QuarantineEntry]:
    path = root / QUARANTINE_FILE
    if not path.is_file():
        return []
    doc = parse.load_document(path, max_bytes=config.max_fixture_bytes, display=QUARANTINE_FILE, root=root)
    try:
        return list(QuarantineFile.model_validate(doc.data).quarantine)
    except ValidationError as exc:
        raise EvalloopError(clean(f"invalid quarantine file: {parse.first_error(exc)}"), path=QUARANTINE_FILE) from None


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
