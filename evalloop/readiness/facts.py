"""What the repository says about its feedback loop, read once for every readiness answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from evalloop.errors import EvalloopError
from evalloop.intake.lifecycle import Entry, inventory
from evalloop.metrics.sources import LoopData
from evalloop.model.canary import CanaryConfig
from evalloop.model.config import CONFIG_FILE, Config
from evalloop.model.metrics import MetricsReport
from evalloop.model.release import LEDGER_DIR, LedgerEntry
from evalloop.repo import parse
from evalloop.repo.config import load_config
from evalloop.repo.incidents import incident_files
from evalloop.repo.owners import known_owners

# Folders never searched for canary definitions and workflows.
_SKIP = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox"}
MAX_FILES = 20_000


@dataclass
class Facts:
    root: Path
    config: Config
    has_config: bool
    fixtures: list[Entry]
    owners: set[str] | None
    incidents: list[str]  # paths, relative
    canaries: list[tuple[str, CanaryConfig]] = field(default_factory=list)
    canary_errors: list[str] = field(default_factory=list)
    ledgers: dict[str, list[LedgerEntry]] = field(default_factory=dict)  # env -> entries
    ledger_errors: list[str] = field(default_factory=list)
    hooks: set[str] = field(default_factory=set)  # pre-commit hook ids configured
    gate_workflows: list[str] = field(default_factory=list)  # CI workflows that run the gate
    gate_records: list[str] = field(default_factory=list)  # gate ledgers / saved reports found
    today: dt.date = field(default_factory=dt.date.today)
    loop: LoopData | None = None  # what `evalloop metrics` reads: incident records, history, ledgers
    metrics: MetricsReport | None = None  # the loop's metrics, as `evalloop metrics` computes them
    metrics_error: str | None = None  # why they could not be computed


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    stack = [root]
    while stack and len(out) < MAX_FILES:
        folder = stack.pop()
        try:
            children = sorted(folder.iterdir())
        except OSError:
            continue
        for child in children:
            if child.is_symlink():
                continue  # a link can point outside the repository, or in a circle
            if child.is_dir():
                if child.name not in _SKIP:
                    stack.append(child)
            elif child.is_file():
                out.append(child)
    return out


def _rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def gather(root: Path, today: dt.date | None = None) -> Facts:
    from evalloop.canary.config import load_canary

    config = load_config(root)
    facts = Facts(root, config, (root / CONFIG_FILE).is_file(), inventory(root, config), known_owners(root, config),
                  [_rel(root, p) for p in incident_files(root, config)])
    if today is not None:
        facts.today = today
    files = _walk(root)
    for p in files:
        rel = _rel(root, p)
        if p.name == "canary.yaml" or p.name.endswith(".canary.yaml"):
            try:
                facts.canaries.append((rel, load_canary(p)))
            except EvalloopError as exc:
                facts.canary_errors.append(str(exc))
        elif p.parent == root / LEDGER_DIR and p.suffix == ".jsonl":
            facts.ledgers[p.stem] = _ledger(p, rel, facts)
        elif p.name == ".pre-commit-config.yaml" and p.parent == root:
            facts.hooks = _hooks(p)
        elif rel.startswith(".github/workflows/") and p.suffix in (".yml", ".yaml"):
            text = p.read_text(encoding="utf-8", errors="replace")
            if "evalloop gate" in text or ("evalloop/" in text and "uses:" in text):
                facts.gate_workflows.append(rel)
        elif p.name == "gates.jsonl":
            facts.gate_records.append(rel)
    _metrics(facts)
    return facts


def _metrics(facts: Facts) -> None:
    from evalloop.metrics import compute, sources

    now = dt.datetime.combine(facts.today, dt.time(23, 59), dt.UTC)
    try:
        data = sources.load(facts.root, facts.config, sources.Options())
        facts.loop = data
        facts.metrics = compute.report(data, compute.window(None, None, now, facts.config.metrics.window_days))
    except EvalloopError as exc:
        facts.metrics_error = str(exc)


def _ledger(path: Path, rel: str, facts: Facts) -> list[LedgerEntry]:
    from evalloop.release.ledger import read_ledger

    try:
        return read_ledger(facts.root, path.stem)
    except EvalloopError as exc:
        facts.ledger_errors.append(str(exc))
        return []


def _hooks(path: Path) -> set[str]:
    try:
        data = parse.load_document(path, max_bytes=1_048_576).data
    except EvalloopError:
        return set()
    ids: set[str] = set()
    for repo in (data or {}).get("repos", []) if isinstance(data, dict) else []:
        for hook in repo.get("hooks", []) if isinstance(repo, dict) else []:
            if isinstance(hook, dict) and isinstance(hook.get("id"), str):
                ids.add(hook["id"])
    return ids
