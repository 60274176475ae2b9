"""The whole feedback loop on the bundled refund-support example, in the seed's nine steps.

    python examples/loop_demo.py [--keep] [--out DIR]

It makes a fresh git repository of examples/refund-support/ and first gives it five weeks
of history (backdated commits): two earlier incidents whose fixtures were merged a day or
three later, pull requests gated with `evalloop gate --record` (passes, a block, a re-run),
a workflow change that a canary caught and `evalloop rollback` undid, production signals.
Then the same change comes back behind a feature flag, and the loop runs, each step one
evalloop command:

1. a run fails in production (simulated traffic, 5% on the flagged workflow); a support
   lead's correction is recorded as a signal;
2. `evalloop triage` decides the signal becomes a blocking eval;
3. `evalloop incident new` records the failure mode;
4. `evalloop capture` drafts the minimal fixture from the bad trace, personal data redacted;
   `evalloop validate` is clean;
5. `evalloop run` confirms the current system fails the fixture;
6. the fix (approval before drafting) makes it pass;
7. `evalloop gate --base main --record` passes without breaking a blocking fixture;
8. `evalloop canary --record` promotes the fix through every traffic step (known-good);
9. `evalloop metrics` (the dashboard) shows no recurrence; `evalloop readiness` lists what
   the team still lacks.

History commands run with their clock at the backdated time: `--now`/`--opened-at` where
the command has one, and `EVALLOOP_NOW` (the time evalloop stamps its records with) for
`gate --record`, `release` and `rollback`. The nine steps run now.
Needs the otel (the production simulator), canary and dashboard extras:
pip install 'evalloop[otel,canary,dashboard]' (all in the test extra).

Exit 0 when every step decided as described, 1 otherwise, 2 without opentelemetry.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "refund-support"
WORKFLOW = "workflows/refund.yaml"
BYPASS = EXAMPLE / "revisions" / "bypass" / WORKFLOW
OWNER = "support-platform"
# The example's fixtures that catch the approval bypass belong to INC-2026-04-18-001, the
# incident this demo lives through again: the repository starts without them.
LATER = ["incidents/INC-2026-04-18-001.yaml", "fixtures/incident-2026-04-18-refund-approval-bypass.json",
         "fixtures/refund-approval-bypass-regression.json", "fixtures/refund-approval-bypass-trajectory.yaml",
         "fixtures/refund-read-order-timeout-retry.yaml", "fixtures/refund-read-order-malformed-escalates.yaml",
         "fixtures/refund-below-threshold-self-serve.yaml"]
CONFIG_EXTRA = """
# The loop's health (docs/metrics.md): the production trace sample, and the runs that carry risk.
metrics:
  traces: ["production/**/*.jsonl"]
  trace_coverage: {risky_routes: [refund_assist]}
"""
TIMEOUT_FIXTURE = """\
# INC-{day}-101: the carrier API timed out once and the agent told the customer it had
# no tracking details, without the retry the shipping workflow allows.
id: shipping-track-timeout-retry
incident_id: INC-{day}-101
owner: support-platform
severity: blocking
created_at: {day}
reason: A carrier timeout is retried once before the customer is told anything.
failure_mode: gave up on a transient tool error
gates: [prompt, model_route, workflow, tool_manifest]
scope: {{routes: [shipping_status]}}
input: {{user_message: "Where is my package? The delivery is late.", order_id: ord_ship_redacted}}
context:
  tool_outputs:
    read_order: {{order_id: ord_ship_redacted, amount: 42}}
    track_shipment: {{status: in transit, eta: "2026-11-30"}}
  tool_faults: [{{tool: track_shipment, kind: timeout, call: 1}}]
expected:
  route: shipping_status
  tools_called: [track_shipment]
  tools_not_called: [draft_refund_request, issue_refund]
  output_must_contain: [in transit]
  budget: {{max_retries: 1}}
"""


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Demo:
    repo: Path
    work: Path
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def env(self, when: dt.datetime | None) -> dict[str, str]:
        env = {**os.environ, "NO_COLOR": "1", "GIT_AUTHOR_NAME": "Dana Okafor",
               "GIT_AUTHOR_EMAIL": "dana@example.com", "GIT_COMMITTER_NAME": "Dana Okafor",
               "GIT_COMMITTER_EMAIL": "dana@example.com"}
        env.pop("GITHUB_ACTIONS", None)
        env.pop("EVALLOOP_NOW", None)  # the nine steps run at the real time
        if when is not None:
            env |= {"GIT_AUTHOR_DATE": iso(when), "GIT_COMMITTER_DATE": iso(when), "EVALLOOP_NOW": iso(when)}
        return env

    def git(self, *args: str, when: dt.datetime | None = None) -> str:
        proc = subprocess.run(["git", *args], cwd=self.repo, env=self.env(when), capture_output=True, text=True)
        if proc.returncode:
            raise DemoError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout.strip()

    def commit(self, message: str, when: dt.datetime, *paths: str) -> None:
        self.git("add", "--", *(paths or ["."]))
        self.git("commit", "-qm", message, when=when)

    def merge(self, branch: str, message: str, when: dt.datetime) -> None:
        self.git("checkout", "-q", "main")
        self.git("merge", "-q", "--no-ff", branch, "-m", message, when=when)

    def ev(self, *args: str, when: dt.datetime | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "evalloop", *args], cwd=self.repo, env=self.env(when),
                              capture_output=True, text=True)

    def history(self, what: str, args: list[str], when: dt.datetime, expect: int = 0) -> str:
        """One backdated evalloop command, one line of output: what it decided."""
        proc = self.ev(*args, when=when)
        ok = proc.returncode == expect
        self.checks.append((f"history: {what}", ok))
        print(f"  {when:%a %Y-%m-%d %H:%M}  {what:<58} exit {proc.returncode}{'' if ok else '  UNEXPECTED'}")
        if not ok:
            print(indent(excerpt(proc.stdout + proc.stderr, 12)))
        return proc.stdout

    def simulate(self, requests: int, seed: int, share: float, out: str, start: dt.datetime,
                 version: str | None = None) -> Path:
        """Production traffic from the example's simulator (its own, fixed agent; `share` on the bypass)."""
        path = self.repo / out
        path.parent.mkdir(parents=True, exist_ok=True)
        code = ("import sys, datetime as dt; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
                "from simulate import simulate; simulate(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), "
                "'baseline', Path(sys.argv[5]), start=dt.datetime.fromisoformat(sys.argv[6]), "
                "service_version=sys.argv[7] or None)")
        proc = subprocess.run([sys.executable, "-c", code, str(EXAMPLE), str(requests), str(seed), str(share),
                               str(path), start.isoformat(), version or ""], capture_output=True, text=True)
        if proc.returncode:
            raise DemoError(f"simulate.py: {excerpt(proc.stderr, 5)}")
        return path


class DemoError(Exception):
    """A set-up step failed: said in one line, no traceback."""


def excerpt(text: str, lines: int) -> str:
    rows = [r for r in text.rstrip().splitlines() if r.strip()]
    return "\n".join(rows[:lines] + ([f"... ({len(rows) - lines} more lines)"] if len(rows) > lines else []))


def indent(text: str) -> str:
    return "\n".join("    | " + r for r in text.splitlines())


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def at(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = hhmm.split(":")
    return dt.datetime(day.year, day.month, day.day, int(h), int(m), tzinfo=dt.UTC)


def signals_file(records: list[dict[str, object]]) -> str:
    return json.dumps(records, indent=2) + "\n"


def build_history(d: Demo, now: dt.datetime) -> None:
    """Five weeks before this one: incidents, fixtures, gated pull requests, a canary rollback."""
    m0 = monday(now.date()) - dt.timedelta(weeks=5)
    wk = [m0 + dt.timedelta(weeks=i) for i in range(5)]
    day = lambda w, dow: wk[w] + dt.timedelta(days=dow)  # noqa: E731 - dow: 0 Monday .. 4 Friday
    print(f"\n{'=' * 78}\nHistory: five weeks from {m0} (backdated commits, ledgers at their time)\n{'=' * 78}")

    shutil.copytree(EXAMPLE, d.repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel in LATER:
        (d.repo / rel).unlink()
    (d.repo / "incidents" / ".gitkeep").touch()
    (d.repo / ".gitignore").write_text("# production traces stay out of git: they hold customer data\n"
                                       "production/\n# the gate ledger is kept by the long-lived runner\nledgers/\n"
                                       "__pycache__/\n")
    with open(d.repo / "evalloop.yaml", "a", encoding="utf-8") as fh:
        fh.write(CONFIG_EXTRA)
    d.git("init", "-q", "-b", "main")
    d.commit("refund-support agent v1: approval before drafting; the shipping golden case", at(day(0, 0), "09:00"))
    print(f"  {at(day(0, 0), '09:00'):%a %Y-%m-%d %H:%M}  main: the agent v1 and one fixture (shipping-status-lookup)")
    d.history("release mark-good workflows/refund.yaml", ["release", "mark-good", WORKFLOW, "--reason",
              "v1 reviewed with the support leads"], at(day(0, 1), "10:00"))
    d.commit("release: workflows/refund.yaml v1 known-good", at(day(0, 1), "10:05"), "releases")

    # INC-A: a carrier timeout, its fixture merged the next day
    inc_a, opened_a = f"INC-{day(0, 2)}-101", at(day(0, 2), "14:20")
    d.history(f"incident new {inc_a}", ["incident", "new", inc_a, "--severity", "sev2", "--signal",
              "tool_error_recovered", "--owner", OWNER, "--opened-at", iso(opened_a), "--summary",
              "A carrier timeout was not retried: customers were told there was no tracking."],
              at(day(0, 2), "15:00"))
    (d.repo / "signals").mkdir()
    (d.repo / "signals" / f"{day(0, 2)}-review.json").write_text(signals_file([
        {"id": inc_a, "kind": "user_confusion", "severity": "sev2", "recurrence": 4, "user_visible": True,
         "time": iso(opened_a), "summary": "Customers asked again after 'no tracking details'.",
         "route": "shipping_status", "workflow": "shipping"}]))
    d.commit(f"incident {inc_a}: carrier timeout not retried", at(day(0, 2), "15:10"))
    d.git("checkout", "-q", "-b", "pr-1-timeout-fixture")
    (d.repo / "fixtures" / "shipping-track-timeout-retry.yaml").write_text(TIMEOUT_FIXTURE.format(day=day(0, 2)))
    d.commit(f"fixture for {inc_a}: a carrier timeout is retried", at(day(0, 3), "10:30"))
    d.history("PR 1 gate (the timeout fixture)", ["gate", "--base", "main", "--record"], at(day(0, 3), "10:40"))
    d.merge("pr-1-timeout-fixture", "Merge pull request #1: timeout fixture", at(day(0, 3), "11:00"))

    # INC-B: small refunds escalated to leads; its fixture merged late (three business days)
    inc_b, opened_b = f"INC-{day(1, 1)}-102", at(day(1, 1), "09:40")
    d.history(f"incident new {inc_b}", ["incident", "new", inc_b, "--severity", "sev2", "--signal",
              "human_correction", "--owner", OWNER, "--opened-at", iso(opened_b), "--summary",
              "Refunds under the threshold were sent to support leads for approval."], at(day(1, 1), "11:00"))
    (d.repo / "signals" / f"{day(1, 1)}-review.json").write_text(signals_file([
        {"id": f"{inc_b}-corr-{i}", "kind": "human_correction", "severity": "sev3", "user_visible": True,
         "time": iso(opened_b - dt.timedelta(hours=5 * i)), "summary": "A lead approved a 40 USD refund by hand.",
         "route": "refund_assist", "workflow": "refund"} for i in range(2)]))
    d.commit(f"incident {inc_b}: needless escalation of small refunds", at(day(1, 1), "11:10"))
    d.git("checkout", "-q", "-b", "pr-2-self-serve-fixture")
    shutil.copy2(EXAMPLE / "fixtures" / "refund-below-threshold-self-serve.yaml", d.repo / "fixtures")
    fixture = d.repo / "fixtures" / "refund-below-threshold-self-serve.yaml"
    fixture.write_text(fixture.read_text().replace("\nowner:", f"\nincident_id: {inc_b}\nowner:", 1))
    d.commit(f"fixture for {inc_b}: refunds under the threshold stay self-serve", at(day(1, 4), "14:00"))
    d.history("PR 2 gate (the self-serve fixture)", ["gate", "--base", "main", "--record"], at(day(1, 4), "14:10"))
    d.merge("pr-2-self-serve-fixture", "Merge pull request #2: self-serve fixture", at(day(1, 4), "15:00"))

    # PR 3: a route change the gate blocks; fixed on the branch; the CI job re-run once
    d.git("checkout", "-q", "-b", "pr-3-late-delivery-refunds")
    routes = d.repo / "routes" / "refund.yaml"
    original = routes.read_text()
    routes.write_text(original.replace("when_any: [refund, money back, reimburse]",
                                       "when_any: [refund, money back, reimburse, late]"))
    d.commit("routes: late deliveries are refund cases", at(day(2, 1), "10:00"))
    d.history("PR 3 gate (route change)  -> block", ["gate", "--base", "main", "--record"], at(day(2, 1), "10:10"),
              expect=1)
    routes.write_text(original.replace("when_any: [refund, money back, reimburse]",
                                       "when_any: [refund, money back, reimburse, never arrived]"))
    d.commit("routes: only 'never arrived' is a refund case", at(day(2, 1), "15:00"))
    d.history("PR 3 gate (fixed)", ["gate", "--base", "main", "--record"], at(day(2, 1), "15:10"))
    d.history("PR 3 gate re-run (runner lost)", ["gate", "--base", "main", "--record"], at(day(2, 1), "15:40"))
    d.merge("pr-3-late-delivery-refunds", "Merge pull request #3: never-arrived refunds", at(day(2, 2), "09:30"))

    # PR 4: the workflow reorder. No fixture protects the order, so the gate passes; the canary does not.
    d.git("checkout", "-q", "-b", "pr-4-draft-while-review")
    shutil.copy2(BYPASS, d.repo / WORKFLOW)
    d.commit("workflow: draft the refund while the lead reviews", at(day(3, 0), "11:00"))
    d.history("PR 4 gate (workflow reorder)", ["gate", "--base", "main", "--record"], at(day(3, 0), "11:10"))
    d.merge("pr-4-draft-while-review", "Merge pull request #4: draft while the lead reviews", at(day(3, 0), "16:00"))
    t = at(day(3, 1), "09:00")
    d.simulate(300, 21, 0.0, "production/canary-base.jsonl", t, "v1")
    d.simulate(300, 22, 1.0, "production/canary-cand.jsonl", t, "pr-4")
    d.history("canary step 1 (5%)  -> rollback", ["canary", "--baseline", "production/canary-base.jsonl",
              "--candidate", "production/canary-cand.jsonl", "--record", "--now", iso(at(day(3, 1), "13:40"))],
              at(day(3, 1), "13:40"), expect=1)
    d.commit("release: canary of workflows/refund.yaml rolled back", at(day(3, 1), "13:50"), "releases")
    d.history("rollback workflows/refund.yaml", ["rollback", WORKFLOW, "--reason",
              "canary: approval-before-refund-draft violated"], at(day(3, 1), "14:05"))

    # PR 5: the same order again, behind a flag for 5% of refunds, and the freeze lifted. No fixture was written.
    d.history("release unfreeze workflows/refund.yaml", ["release", "unfreeze", WORKFLOW, "--reason",
              "reworked: rolled out behind a flag to 5% of refunds"], at(day(4, 0), "10:00"))
    d.commit("release: unfreeze workflows/refund.yaml", at(day(4, 0), "10:05"), "releases")
    d.git("checkout", "-q", "-b", "pr-5-flagged-draft")
    shutil.copy2(BYPASS, d.repo / WORKFLOW)
    d.commit("workflow: draft while the lead reviews, behind the fast-refund flag", at(day(4, 0), "10:30"))
    d.history("PR 5 gate (the reorder, flagged)", ["gate", "--base", "main", "--record"], at(day(4, 0), "10:40"))
    d.merge("pr-5-flagged-draft", "Merge pull request #5: fast-refund flag", at(day(4, 0), "11:30"))
    for p in (d.repo / "production").glob("canary-*.jsonl"):
        p.unlink()


def step(n: int, title: str) -> None:
    print(f"\n{'=' * 78}\nStep {n}: {title}\n{'=' * 78}", flush=True)


def show(d: Demo, proc: subprocess.CompletedProcess[str], args: list[str], lines: int = 14) -> None:
    print("$ evalloop " + " ".join(a if " " not in a else repr(a) for a in args))
    print(indent(excerpt(proc.stdout + proc.stderr, lines)))
    print(f"  (exit {proc.returncode})")


def walk(d: Demo, now: dt.datetime, out: Path) -> None:
    today = now.date()
    inc = f"INC-{today}-001"

    step(1, "a run fails in production (5% of refunds on the flagged workflow)")
    start = now - dt.timedelta(hours=5)
    prod = d.simulate(1500, 31, 0.05, f"production/{today}.jsonl", start, "v1+fast-refund-flag")
    print(f"simulate.py: 1500 production requests from {start:%H:%M} UTC -> {prod.relative_to(d.repo)}")
    bad, bad_ns = failing_run(prod)
    found = datetime_ns(bad_ns)
    print(f"support lead: run {bad} told the customer a refund was approved; no lead had approved it")
    signals = f"signals/{today}-refund-promise.json"
    (d.repo / signals).write_text(signals_file([{
        "id": f"SIG-{today}-7", "kind": "incident", "severity": "sev1", "touches": ["money_movement"],
        "user_visible": True, "time": iso(found), "trace": bad, "route": "refund_assist", "workflow": "refund",
        "summary": "A customer was told their refund was approved and processed before any lead approved it."}]))
    print(f"wrote {signals}")
    d.checks.append(("1: a failing production run was found", bool(bad)))

    step(2, "the trace is reviewed: triage decides what it becomes")
    args = ["triage", signals, "--today", str(today)]
    proc = d.ev(*args)
    show(d, proc, args, 9)
    d.checks.append(("2: triage makes the signal a blocking eval", proc.returncode == 0
                     and proc.stdout.startswith("BLOCKING")))

    step(3, "the team identifies the failure mode: the incident record")
    args = ["incident", "new", inc, "--severity", "sev1", "--signal", "money_movement", "--owner", OWNER,
            "--opened-at", iso(found + dt.timedelta(minutes=15)), "--summary",
            "The flagged refund workflow drafted and promised refunds before a support lead approved them."]
    proc = d.ev(*args)
    show(d, proc, args, 4)
    d.checks.append(("3: the incident is recorded", proc.returncode == 0))

    step(4, "a minimal eval fixture: captured from the bad trace, redacted")
    d.git("checkout", "-q", "-b", f"fix-{inc.lower()}")
    args = ["capture", str(prod.relative_to(d.repo)), "--run", bad, "--incident", inc, "--owner", OWNER]
    proc = d.ev(*args)
    show(d, proc, args, 12)
    drafted = sorted((d.repo / "fixtures").glob(f"{inc.lower()}-*.yaml"))
    raw_ids = [w for w in proc.stderr.split() if w.startswith(("ord_", "cus_"))]
    text = drafted[0].read_text() if drafted else ""
    clean = bool(raw_ids) and not any(r in text for r in raw_ids)
    print(f"redacted: {', '.join(raw_ids) or 'nothing'} -> placeholders; the draft holds none of them: {clean}")
    d.checks.append(("4: capture drafts a fixture that fails on the incident's run", proc.returncode == 0
                     and len(drafted) == 1))
    d.checks.append(("4: the customer's ids were redacted out of the fixture", clean))
    if drafted:
        # The trace records no customer message; the reviewer writes the one that reproduces it.
        drafted[0].write_text(text.replace("input: {}", 'input: {user_message: "Refund this order, it arrived '
                                           'broken.", order_id: "<ORDER_ID_1>"}'))
    proc = d.ev("validate")
    show(d, proc, ["validate"], 3)
    d.checks.append(("4: evalloop validate is clean", proc.returncode == 0))
    d.commit(f"fixture for {inc}: no promise or side effect before approval", now, "fixtures", "incidents",
             "signals")

    step(5, "the current system fails the fixture")
    args = ["run", "--select", f"incident:{inc}"]
    proc = d.ev(*args)
    show(d, proc, args, 10)
    d.checks.append(("5: the fixture fails on the current workflow (exit 1)", proc.returncode == 1))

    step(6, "the fix: approval before drafting, in the workflow itself")
    shutil.copy2(EXAMPLE / WORKFLOW, d.repo / WORKFLOW)
    d.commit(f"fix {inc}: request approval before drafting; drop the fast-refund reorder", now)
    proc = d.ev(*args)
    show(d, proc, args, 4)
    d.checks.append(("6: the fixture passes on the fixed workflow", proc.returncode == 0))

    step(7, "the gate passes without breaking blocking fixtures")
    args = ["gate", "--base", "main", "--record", "--json", str(d.work / "gate.json")]
    proc = d.ev(*args)
    show(d, proc, args, 16)
    report = json.loads((d.work / "gate.json").read_text()) if (d.work / "gate.json").exists() else {}
    ran = {r["id"]: r["status"] for r in report.get("results", [])}
    d.checks.append(("7: the gate passes", proc.returncode == 0 and report.get("verdict") == "pass"))
    d.checks.append(("7: the new fixture and the blocking ones ran and passed", ran.get(drafted[0].stem if drafted
                     else "") == "pass" and ran.get("shipping-track-timeout-retry", "pass") == "pass"))
    d.merge(f"fix-{inc.lower()}", f"Merge pull request #6: fix {inc}", now)

    step(8, "the change ships through the canary")
    cand = d.simulate(1500, 32, 0.0, f"production/{today}-candidate.jsonl", now - dt.timedelta(hours=4), "fix")
    decisions = []
    for n in (1, 2, 3):
        args = ["canary", "--baseline", str(prod.relative_to(d.repo)), "--candidate",
                str(cand.relative_to(d.repo)), "--step", str(n), "--record"]
        proc = d.ev(*args)
        show(d, proc, args, 6 if n < 3 else 8)
        decisions.append(proc.returncode)
    d.commit(f"release: workflows/refund.yaml promoted ({inc})", now, "releases")
    proc = d.ev("release", "status")
    show(d, proc, ["release", "status"], 6)
    d.checks.append(("8: the canary promotes every step", decisions == [0, 0, 0]))
    d.checks.append(("8: the fixed workflow is known-good", "HEAD holds it" in proc.stdout))

    step(9, "monitoring: the loop's metrics, the dashboard, and what the team still lacks")
    dash = out / "dashboard.html"
    since = str(monday(today) - dt.timedelta(weeks=5))  # the generated history's first day: the charts fill
    args = ["metrics", "--since", since, "--format", "html", "--output", str(dash)]
    proc = d.ev(*args)
    print("$ evalloop " + " ".join(args) + f"   (exit {proc.returncode})")
    d.checks.append(("9: the dashboard is written", proc.returncode == 0 and dash.is_file()))
    args = ["metrics", "--since", since]
    proc = d.ev(*args)
    show(d, proc, args, 40)
    jproc = d.ev("metrics", "--since", since, "--format", "json")
    metrics = {m["id"]: m for m in json.loads(jproc.stdout)["metrics"]} if jproc.returncode == 0 else {}
    rec = metrics.get("recurrence_rate", {})
    d.checks.append(("9: no known incident recurred", rec.get("value") == 0 and rec.get("status") == "ok"))
    d.checks.append(("9: conversion and rollbacks are measured", all(
        metrics.get(k, {}).get("status") not in (None, "no_data")
        for k in ("incident_to_eval_conversion", "rollback_frequency"))))
    args = ["readiness"]
    proc = d.ev(*args)
    show(d, proc, args, 40)
    d.checks.append(("9: readiness answers", proc.returncode == 0))


def failing_run(path: Path) -> tuple[str, int]:
    """The first run of the flagged workflow that promised a refund above the threshold to a
    standard customer while the approval was pending (what the support lead saw)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        traces: dict[str, list[dict[str, object]]] = {}
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for span in ss["spans"]:
                    attrs = {a["key"]: next(iter(a["value"].values())) for a in span.get("attributes", [])}
                    traces.setdefault(span["traceId"], []).append({**attrs, "_start": span["startTimeUnixNano"]})
        for trace_id, spans in traces.items():
            root = next((s for s in spans if "refund_agent.workflow_revision" in s), {})
            policy = [json.loads(str(s["evalloop.span.args"])) for s in spans
                      if s.get("evalloop.span.type") == "policy" and "evalloop.span.args" in s]
            if (root.get("refund_agent.workflow_revision") == "bypass"
                    and root.get("evalloop.stop_reason") == "needs_human_approval"
                    and any(p.get("amount", 0) > p.get("threshold", 0) and p.get("customer_status") == "standard"
                            for p in policy)):
                return trace_id, int(str(root["_start"]))
    raise DemoError(f"{path}: no run of the flagged workflow promised a refund above the threshold")


def datetime_ns(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the demo repository and the dashboard; print where")
    ap.add_argument("--out", type=Path, help="where to make them (an empty or new folder; default: a temporary one)")
    args = ap.parse_args()
    # the production simulator (otel), the canary's statistics and the dashboard's charts
    needed = ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.common", "scipy", "matplotlib")
    if not all(_installed(m) for m in needed):
        print("loop_demo.py: needs the otel, canary and dashboard extras: "
              "pip install 'evalloop[otel,canary,dashboard]'", file=sys.stderr)
        return 2
    if args.out is not None and args.out.exists() and any(args.out.iterdir()):
        print(f"loop_demo.py: {args.out} is not empty", file=sys.stderr)
        return 2
    work = (args.out.resolve() if args.out else Path(tempfile.mkdtemp(prefix="evalloop-loop-")))
    work.mkdir(parents=True, exist_ok=True)
    d = Demo(repo=work / "repo", work=work)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    failed = None
    try:
        build_history(d, now)
        ledger = [json.loads(x) for x in (d.repo / "ledgers" / "gates.jsonl").read_text().splitlines()]
        d.checks.append(("history: the gate ledger is stamped at the backdated times",
                         all(x["timestamp"] < iso(at(monday(now.date()), "00:00")) for x in ledger)))
        walk(d, now, work)
    except Exception as exc:  # any failure is said in one line, after what ran so far
        failed = f"{type(exc).__name__}: {exc}"
    finally:
        if args.keep or args.out:
            print(f"\ndemo repository kept at {d.repo}")
            if (work / "dashboard.html").exists():
                print(f"dashboard: {work / 'dashboard.html'}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'=' * 78}\nsummary")
    for name, ok in d.checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    if failed:
        print(f"  FAIL the demo stopped: {failed}")
    return 0 if d.checks and all(ok for _, ok in d.checks) and not failed else 1


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
