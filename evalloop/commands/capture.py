"""`evalloop capture TRACE --incident ID --owner O`: the minimal fixture of an incident, drafted
from the recorded run that showed it, written, validated and replayed against that run.

Exit 0 when the fixture is written, validates and fails on the incident's run (it catches the
incident); 1 when the file exists (never overwritten), when the draft does not validate, or when
it passes on the run (its expectations do not catch the failure); 2 on unusable input.

`evalloop capture --scan FILES` is the evalloop-redaction hook: unredacted personal data and
credentials in trace files and captured material, one finding per line; exit 1 on findings.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path
from typing import Any

from evalloop.commands.check import format_text as judgement_text
from evalloop.commands.check import pick_run
from evalloop.errors import UsageError
from evalloop.harness.manifest import agent_manifest
from evalloop.intake import capture as intake
from evalloop.intake.redact import Redactor
from evalloop.intake.scan import scan_text
from evalloop.intake.yaml_writer import render
from evalloop.model.config import Config
from evalloop.model.findings import Finding, format_text
from evalloop.model.fixture import ID_PATTERN, SPAN_REF_PATTERN
from evalloop.model.run import Run
from evalloop.repo import fs, incidents, parse
from evalloop.repo.config import find_root, load_config
from evalloop.repo.globs import compile_globs
from evalloop.repo.owners import known_owners
from evalloop.text import clean
from evalloop.validate.checks import validate as run_checks
from evalloop.validate.repository import Repo, scan_id


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def check_owner(root: Path, config: Config, owner: str) -> None:
    """A fixture or incident names a known owner; UsageError saying which are known otherwise."""
    owners = known_owners(root, config)
    if owners is not None and owner not in owners:
        source = "CODEOWNERS" if config.owners.source == "codeowners" else config.owners.file
        known = ", ".join(sorted(owners)[:20]) or "none"
        raise UsageError(clean(f"owner {owner!r} is not known: {source} lists {known}"))


def incident_record(root: Path, config: Config, incident: str) -> dict[str, Any] | None:
    """The incident's record; None when the repository keeps no incidents folder (validate then
    checks no reference). UsageError when the folder exists and holds no record of it."""
    if not (root / config.incidents_dir).is_dir():
        return None
    for path in incidents.incident_files(root, config):
        if scan_id(path, config.max_fixture_bytes, root=root) == incident:
            data = parse.load_document(path, max_bytes=config.max_fixture_bytes, root=root).data
            return data if isinstance(data, dict) else {}
    raise UsageError(clean(f"no incident record {incident!r} under {config.incidents_dir}/: record it first "
                           f"(`evalloop incident new {incident} --severity ... --signal ... --owner ... "
                           f"--summary ...`)"))


def _default_path(root: Path, config: Config, fixture_id: str) -> Path:
    bases = [b for b in compile_globs(tuple(config.fixtures)).bases() if b]
    return root / (bases[0] if bases else "fixtures") / f"{fixture_id}.yaml"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _fixture_id(incident: str, found: list[intake.Offence], forbid: list[str]) -> str:
    refs = [o.ref for o in found] + forbid
    tail = _slug(refs[0].split(":", 1)[1]) if refs else ""
    return f"{incident.lower()}-{tail or 'capture'}"


def _print_mapping(redactor: Redactor) -> None:
    mapping = redactor.mapping()
    if not mapping:
        print("redaction: nothing found to replace (names in free text are not detected: read the "
              "fixture before committing it)", file=sys.stderr)
        return
    print(f"redaction: {len(mapping)} value(s) replaced; this mapping is shown once and written nowhere:",
          file=sys.stderr)
    for placeholder, forms in mapping:
        print(f"  {placeholder}  {clean(' | '.join(forms))}", file=sys.stderr)


def capture(trace: Path, *, incident: str, owner: str, severity: str | None = None, run_id: str | None = None,
            out: Path | None = None, fixture_id: str | None = None, forbid: tuple[str, ...] = (),
            require: tuple[str, ...] = (), trace_format: str | None = None, config_path: Path | None = None,
            today: dt.date | None = None) -> int:
    from evalloop.traces.load import load_runs_report

    root = find_root(config_path.parent if config_path else Path.cwd())
    config = load_config(root, config_path)
    # every argument is checked before anything is read or written
    for ref in (*forbid, *require):
        if not re.match(SPAN_REF_PATTERN, ref):
            raise UsageError(clean(f"{ref!r} is not a span (`type:name`, e.g. tool:issue_refund)"))
    for name, value in (("incident id", incident), ("fixture id", fixture_id)):
        if value is not None and not re.match(ID_PATTERN, value):
            raise UsageError(clean(f"{name} {value!r} must be letters, digits, '.', '_' or '-'"))
    if out is not None and out.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError("the fixture is written as YAML: --out must end in .yaml or .yml", path=str(out))
    if not trace.is_file():
        raise UsageError("no such trace file", path=str(trace))
    check_owner(root, config, owner)
    record = incident_record(root, config, incident)
    manifest = agent_manifest(root, config.agent)
    mapping = tuple((m.attribute, m.type) for m in config.trace_mapping)
    runs, unrecognised = load_runs_report(trace, trace_format, mapping)
    run = pick_run(runs, run_id, trace)
    redactor = Redactor()
    redacted, request = intake.redact_run(run, intake.user_input(run, trace), redactor)

    fixture_id = fixture_id or _fixture_id(incident, intake.offences(redacted, manifest), list(forbid))
    if not re.match(ID_PATTERN, fixture_id):
        raise UsageError(clean(f"cannot derive a fixture id from {fixture_id!r}: name one with --id"))
    path = out if out is not None else _default_path(root, config, fixture_id)
    if os.path.lexists(path):
        print(f"evalloop: error: {clean(_shown(path))} already exists; not overwriting (choose another --out "
              "or --id)", file=sys.stderr)
        return 1
    repo = Repo(root=root, config=config)
    taken = [p for p in repo.fixture_files() if scan_id(p, config.max_fixture_bytes, root=root) == fixture_id]
    if taken:
        raise UsageError(clean(f"fixture id {fixture_id!r} is already used by {_shown(taken[0])}: name another "
                               "with --id"))
    if repo.kind_of(path) != "fixture":
        if out is None:
            raise UsageError(f"the `fixtures:` globs of evalloop.yaml do not cover {clean(_shown(path))}: name a "
                             "path they cover with --out")
        print(f"warning: the `fixtures:` globs do not cover {clean(_shown(path))}: validate and the gate will "
              "not see it there", file=sys.stderr)

    label = f"run {redacted.run_id or redacted.trace_id or '#0'}"
    signal = record.get("signal") if record else None
    summary = record.get("summary") if record else None
    drafted = intake.draft(
        redacted, request, fixture_id=fixture_id, incident=incident, owner=owner,
        severity=severity or config.defaults.severity, manifest=manifest, forbid=list(forbid),
        require=list(require), signal=signal if isinstance(signal, str) else None,
        summary=summary if isinstance(summary, str) else None, run_label=label, today=today or dt.date.today())
    text = render(drafted.data, drafted.comments, drafted.header)
    path.parent.mkdir(parents=True, exist_ok=True)
    fs.atomic_write(path, text)
    _print_mapping(redactor)
    found = len(drafted.offences)
    print(clean(f"wrote {_shown(path)}: fixture {fixture_id} of incident {incident} (owner {owner}; "
                f"{found} offending span{'s' if found != 1 else ''} found in the trace)"))
    if record is None:
        print(clean(f"note: no {config.incidents_dir}/ folder: `evalloop incident new {incident} ...` records "
                    "the incident"), file=sys.stderr)
    tools = [u for u in unrecognised.get(run.trace_id or "", []) if u.kind == "tool"]
    if tools:
        print(clean(f"note: {len(tools)} span(s) look like tool calls but were not recognised "
                    f"({', '.join(sorted({u.name for u in tools})[:5])}): the draft does not see them; map "
                    "them with trace_mapping in evalloop.yaml"), file=sys.stderr)
    return _validated(repo, path, today) or _replayed(text, redacted, path, trace)


def _validated(repo: Repo, path: Path, today: dt.date | None) -> int:
    findings = run_checks(repo, [path], today or dt.date.today()).findings
    errors = [f for f in findings if f.level == "error"]
    if findings:
        print(format_text(findings))
    if errors:
        print(f"evalloop: error: the draft does not pass `evalloop validate` ({len(errors)} error(s)); fix "
              f"{clean(_shown(path))}", file=sys.stderr)
        return 1
    print("validate: the fixture passes `evalloop validate`")
    return 0


def _replayed(text: str, run: Run, path: Path, trace: Path) -> int:
    judgement = intake.replay(text, run)
    print(judgement_text(judgement, path, trace))
    if judgement.passed:
        print(f"evalloop: error: THE FIXTURE PASSES on the run it was drawn from: its expectations do not catch "
              f"the incident. Name the offending span with --forbid (or the missing one with --require), or "
              f"edit `expected:` in {clean(_shown(path))} and replay it with `evalloop check`", file=sys.stderr)
        return 1
    print("the fixture fails on the incident's run, as it must: it catches the incident. Review the fields "
          "marked REVIEW, then commit it")
    return 0


# --- the redaction scan -------------------------------------------------------------------

def scan(files: list[Path]) -> int:
    """Findings for unredacted values in the named JSON, JSON Lines and YAML files."""
    missing = [f for f in files if not os.path.lexists(f)]
    if missing:
        raise UsageError("no such file", path=str(missing[0]))
    allow: dict[Path, list[re.Pattern[str]]] = {}
    findings: list[Finding] = []
    for f in files:
        root = fs.repository_of(f) or find_root(Path.cwd())
        if root not in allow:
            try:
                allow[root] = [re.compile(rx) for rx in load_config(root).redaction_allow]
            except re.error as exc:
                raise UsageError(f"redaction_allow: invalid pattern: {exc}", path=str(root / "evalloop.yaml")) from None
        shown = _shown(f)
        try:
            raw = fs.read_bytes(f, shown, intake.MAX_TRACE_BYTES, root=root)
            if not raw.strip():
                continue
            text = fs.decode_text(raw, shown)
        except fs.LoadError as exc:
            findings.append(Finding(path=shown, line=exc.line or 1, col=exc.col or 1, code=exc.code,
                                    message=exc.message))
            continue
        findings += scan_text(shown, text, f.suffix.lower(), allow[root])
    findings.sort(key=Finding.sort_key)
    if findings:
        print(format_text(findings))
    print(f"{len(files)} file(s) scanned: {len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0
