"""The seed's "Feedback Loop Readiness Questions" and "Design Checklist", answered from the
repository: each answer with its evidence, and a gap (what is missing, what to do) where the
repository cannot answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Literal

from evalloop.metrics.incidents import Links
from evalloop.model.readiness import Answer
from evalloop.model.signal import SIGNAL_KINDS
from evalloop.readiness.facts import Facts
from evalloop.repo.classify import Classifier

# The artifact kinds the seed says a rollback must restore.
ROLLBACK_KINDS = ("prompt", "policy", "tool_manifest", "model_route", "memory_rule", "retrieval_index")


def kind_of(path: str, f: Facts) -> str:
    """The artifact kind of a canary's target, a file or a folder, as the gate classifies it."""
    classifier = Classifier(f.config)
    kind = classifier.kind(path)
    return classifier.kind(path.rstrip("/") + "/") if kind == "other" else kind


def _answer(question: str, section: Literal["readiness", "checklist"], evidence: list[str], gaps: list[str],
            answer: str) -> Answer:
    status: Literal["answered", "partial", "gap"] = \
        "gap" if gaps and not evidence else "partial" if gaps else "answered"
    return Answer(question=question, section=section, status=status, answer=answer, evidence=evidence, gaps=gaps)


def signals_become_evals(f: Facts) -> Answer:
    rules = f.config.triage.rules
    evidence = ["built-in triage flow (docs/intake.md): a signal touching safety, privacy, money movement, "
                "authorization or a side effect -> blocking eval; recurring, costly or user-visible -> warning; "
                "a recovered tool error with a useful trace -> trace evidence; one-off confusion -> UX fix first; "
                "else exploratory"]
    evidence += [f"evalloop.yaml triage rule {r.name or i + 1}: -> {r.decision}" for i, r in enumerate(rules)]
    gaps = []
    if not f.incidents:
        gaps.append(f"no incident records in {f.config.incidents_dir}/: record serious failures "
                    "(`evalloop incident new`) so they can become fixtures")
    records = f.loop.incidents or [] if f.loop else []
    links = Links(f.loop) if f.loop else None
    unconverted = [r.path for r in records if links is None or not links.linked(r.id)]
    linked = [r.id for r in records if links is not None and links.linked(r.id)]
    if unconverted:
        gaps.append(f"{len(unconverted)} incident record(s) no fixture names (`incident_id`, or the record's "
                    f"`fixture_ids`): {', '.join(unconverted[:5])}")
    return _answer("Which production signals become evals?", "readiness", evidence, gaps,
                   f"Signals of {len(SIGNAL_KINDS)} kinds are triaged by the built-in flow"
                   + (f" and {len(rules)} rule(s) of the repository" if rules else "")
                   + f"; {len(linked)} incident(s) have fixtures.")


def loop_owner(f: Facts) -> Answer:
    loop = f.config.loop
    evidence, gaps = [], []
    for label, value, fix in (("loop owner", loop.owner, "loop.owner"),
                              ("release authority", loop.release_authority, "loop.release_authority"),
                              ("escalation path", loop.escalation, "loop.escalation")):
        if value:
            evidence.append(f"{label}: {value} (evalloop.yaml {fix})")
        else:
            gaps.append(f"no {label}: set `{fix}` in evalloop.yaml")
    if loop.owner and f.owners is not None and loop.owner not in f.owners:
        gaps.append(f"loop.owner {loop.owner!r} is not a known owner ({f.config.owners.source})")
    unowned = [e.id for e in f.fixtures if e.fixture is not None and not e.owner]
    owners = sorted({e.owner for e in f.fixtures if e.owner})
    if owners:
        evidence.append(f"fixture owners: {', '.join(owners[:10])}")
    if unowned:
        gaps.append(f"{len(unowned)} fixture(s) without an owner: {', '.join(unowned[:5])}")
    return _answer("Who owns the loop?", "readiness", evidence, gaps,
                   loop.owner or "Nobody is named as accountable for the loop.")


def what_blocks(f: Facts) -> Answer:
    blocking = [e for e in f.fixtures if e.fixture is not None and e.severity == "blocking"]
    evidence = []
    for e in blocking[:20]:
        assert e.fixture is not None
        gates = ", ".join(e.fixture.gates) if e.fixture.gates else "every change"
        evidence.append(f"{e.id} (owner {e.owner or '?'}; gates {gates}): {e.fixture.reason or 'no reason'}")
    gaps = []
    if not blocking:
        gaps.append("no blocking fixture: nothing blocks a release")
    noreason = [e.id for e in blocking if e.fixture is not None and not e.fixture.reason]
    if noreason:
        gaps.append(f"blocking fixture(s) without a reason: {', '.join(noreason[:5])}")
    if not f.gate_workflows:
        gaps.append("no CI workflow runs `evalloop gate` (`evalloop init` writes .github/workflows/evalloop.yml)")
    else:
        evidence.append(f"the gate runs in {', '.join(f.gate_workflows)}")
    return _answer("What blocks release?", "readiness", evidence, gaps,
                   f"{len(blocking)} blocking fixture(s) block the release of the changes they gate.")


def what_expires(f: Facts) -> Answer:
    dated = [e for e in f.fixtures if e.expires_at]
    temporary = [e for e in f.fixtures if e.fixture is not None and e.fixture.temporary]
    soon = [e for e in dated if e.expires_at and e.expires_at <= f.today + timedelta(days=f.config.expiry_warning_days)]
    evidence = [f"{e.id} expires {e.expires_at}" for e in dated[:10]]
    evidence.append(f"`evalloop validate` fails an expired fixture and warns {f.config.expiry_warning_days} days "
                    "ahead; "
                    "`evalloop fixtures prune` deletes expired ones, `evalloop fixtures orphans` finds fixtures of "
                    "retired tools and old policies")
    gaps = [f"{e.id} expires {e.expires_at}: renew or retire it" for e in soon]
    if temporary and not dated:
        gaps.append("temporary fixtures without an expiry")
    return _answer("What expires or gets deleted?", "readiness", evidence, gaps,
                   f"{len(dated)} fixture(s) carry an expiry ({len(temporary)} temporary).")


def recurrence(f: Facts) -> Answer:
    evidence, gaps = [], []
    incident_fixtures = [e for e in f.fixtures if e.incident_id]
    if incident_fixtures:
        evidence.append(f"{len(incident_fixtures)} fixture(s) name their incident (incident-to-eval conversion, "
                        "time to regression test from git history)")
    else:
        gaps.append("no fixture names an incident (`incident_id`): conversion and recurrence cannot be measured")
    if f.gate_records:
        evidence.append(f"gate results recorded in {', '.join(f.gate_records)} (catch rate, flaky rate)")
    else:
        gaps.append("no gate results recorded: run `evalloop gate --record` in CI, or point `evalloop metrics` "
                    "at the Action's saved reports")
    rollbacks = sum(1 for es in f.ledgers.values() for e in es if e.event == "rollback")
    if f.ledgers:
        evidence.append(f"release ledgers {', '.join(sorted(f.ledgers))}: {rollbacks} rollback(s) (rollback frequency)")
    else:
        gaps.append("no release ledger (releases/<env>.jsonl): canary decisions and rollbacks are not recorded")
    if f.metrics_error:
        gaps.append(f"`evalloop metrics` cannot read its sources: {f.metrics_error}")
    for m in f.metrics.metrics if f.metrics else []:
        if m.id not in RECURRENCE_METRICS:
            continue
        if m.status == "no_data":
            gaps.append(f"{m.name} cannot be computed: {'; '.join(m.missing) or 'no data'}")
        else:
            evidence.append(f"{m.name}: {_shown(m.value, m.unit)} ({m.status})")
    return _answer("How is recurrence measured?", "readiness", evidence, gaps,
                   "`evalloop metrics` computes conversion, catch rate, recurrence and time to regression test "
                   "from these sources.")


# The seed's recurrence evidence: "incident-to-eval conversion, eval catch rate, recurrence rate, and
# time to regression test".
RECURRENCE_METRICS = ("incident_to_eval_conversion", "eval_catch_rate", "recurrence_rate", "time_to_regression_test")


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if unit == "ratio" else f"{value:.1f} {unit.replace('_', ' ')}"


def rollback_connects(f: Facts) -> Answer:
    evidence, gaps = [], []
    kinds: dict[str, list[str]] = {}
    for path, cfg in f.canaries:
        kind = cfg.kind or kind_of(cfg.artifact, f)
        kinds.setdefault(str(kind), []).append(cfg.artifact)
        crit = [f"{n} {m.critical:g}" for n, m in cfg.metrics.items()]
        evidence.append(f"{path}: {cfg.artifact} ({kind}), {len(cfg.invariants)} invariant(s), critical "
                        f"thresholds {', '.join(crit) or 'none'}, env {cfg.env}")
    evidence += [f"canary config error: {e}" for e in f.canary_errors]
    good = {e.artifact for es in f.ledgers.values() for e in es if e.event == "mark_good"
            or (e.event == "canary" and e.decision == "promote" and e.evidence.get("complete") is True)}
    for _, cfg in f.canaries:
        if cfg.artifact not in good:
            gaps.append(f"{cfg.artifact} has no known-good version in releases/{cfg.env}.jsonl: "
                        f"`evalloop release mark-good {cfg.artifact}`")
    missing = [k for k in ROLLBACK_KINDS if k not in kinds]
    if missing:
        gaps.append(f"no canary (canary.yaml) for {', '.join(missing)}")
    if f.canary_errors:
        gaps.append("fix the canary configs that do not load")
    return _answer("How does rollback connect?", "readiness", evidence, gaps,
                   f"{len(f.canaries)} canary definition(s) with rollback to the last known-good version.")


def _check(question: str, ok: bool, evidence: str, gap: str, answer: str) -> Answer:
    return _answer(question, "checklist", [evidence] if ok else [], [] if ok else [gap], answer if ok else gap)


def checklist(f: Facts) -> list[Answer]:
    agent = f.config.agent
    blocking = sum(1 for e in f.fixtures if e.severity == "blocking")
    warning = sum(1 for e in f.fixtures if e.severity == "warning")
    mocked = [e.id for e in f.fixtures if e.fixture is not None and (e.fixture.context.tool_outputs
                                                                     or e.fixture.context.tool_faults)]
    canaries_stop = [p for p, c in f.canaries if c.invariants or any(m.critical for m in c.metrics.values())]
    kinds = {str(c.kind or kind_of(c.artifact, f)) for _, c in f.canaries}
    return [
        _check("Which traces are captured?", bool(f.config.trace_mapping) or bool(f.incidents),
               f"{len(f.incidents)} incident record(s) with their traces; trace_mapping rules: "
               f"{len(f.config.trace_mapping)}",
               "no incident records or trace mapping: decide which production traces are exported and kept",
               "Incident traces are kept with their records."),
        _check("Which traces are safe to store?", "evalloop-redaction" in f.hooks,
               "the evalloop-redaction pre-commit hook scans traces and captured material",
               "the evalloop-redaction hook is not in .pre-commit-config.yaml: unredacted traces can be committed",
               "Only redacted traces are committed."),
        _check("Which failures become evals?", True, "the triage flow and rules (see above)", "",
               "Decided by `evalloop triage`."),
        _check("Who owns incident-derived evals?",
               all(e.owner for e in f.fixtures if e.incident_id) and any(e.incident_id for e in f.fixtures),
               "every fixture naming an incident has an owner",
               "incident fixtures without an owner, or none at all",
               "Each incident fixture's owner."),
        _check("Which evals block release?", blocking > 0, f"{blocking} blocking fixture(s)",
               "no blocking fixture", f"{blocking} blocking fixture(s)."),
        _check("Which evals only warn?", True, f"{warning} warning fixture(s)", "", f"{warning} warning fixture(s)."),
        _check("Can tools be mocked?", agent is not None and agent.tools is not None and bool(mocked),
               f"tool manifest {agent.tools if agent else '?'}; {len(mocked)} fixture(s) mock tool outputs or faults",
               "no agent tool manifest (agent.tools) or no fixture mocks a tool",
               "The harness serves mocked tools from the manifest."),
        _check("Can runs be replayed?", agent is not None and bool(agent.entrypoint or agent.command),
               f"agent {agent.entrypoint or agent.command if agent else ''} runs under the harness",
               "no agent in evalloop.yaml (agent.entrypoint or agent.command): fixtures cannot be replayed",
               "`evalloop run` replays fixtures through the agent."),
        _check("Can prompts, policies, tools, and model routes be rolled back?",
               {"prompt", "policy", "tool_manifest", "model_route"} <= kinds,
               f"canaries cover {', '.join(sorted(kinds))}",
               f"no canary for {', '.join(sorted({'prompt', 'policy', 'tool_manifest', 'model_route'} - kinds))}",
               "`evalloop rollback` restores each from the release ledger."),
        _check("Can a canary be stopped automatically?", bool(canaries_stop),
               f"{', '.join(canaries_stop)}: invariants and critical thresholds roll back",
               "no canary.yaml with invariants or critical thresholds", "`evalloop canary` rolls back on them."),
        _check("Can operators explain why a release was blocked?", bool(f.gate_workflows),
               "the gate's report names each blocking fixture, its evidence, owner and a reproduce command",
               "the gate does not run in CI, so no report explains a block", "The gate's PR comment explains it."),
    ]


QUESTIONS: list[Callable[[Facts], Answer]] = [signals_become_evals, loop_owner, what_blocks, what_expires,
                                              recurrence, rollback_connects]


def review(f: Facts) -> list[Answer]:
    return [q(f) for q in QUESTIONS] + checklist(f)

