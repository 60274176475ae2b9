"""Triage decisions as text (the terminal), JSON (tools) and markdown (an incident review or an issue).

Everything a signals file or evalloop.yaml says is untrusted: `clean` for the terminal,
`md` for markdown; JSON escapes by itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from evalloop.intake.triage import TriageDecision
from evalloop.model.triage import DECISIONS
from evalloop.report.escape import md
from evalloop.text import clean

_LABELS = {"blocking": "BLOCKING", "warning": "WARNING", "exploratory": "EXPLORATORY",
           "trace_evidence": "TRACE EVIDENCE", "ux_first": "UX FIRST"}
_WORDS = {"blocking": "blocking", "warning": "warning", "exploratory": "exploratory",
          "trace_evidence": "trace evidence", "ux_first": "UX or docs first"}


def render(decisions: list[TriageDecision], fmt: str, today: dt.date) -> str:
    if fmt == "json":
        return format_json(decisions, today)
    if fmt == "markdown":
        return format_markdown(decisions, today)
    return format_text(decisions, today)


def summary(decisions: list[TriageDecision]) -> str:
    """`4 signals: 2 blocking, 1 warning, 1 trace evidence; 1 overdue, 1 unassigned`."""
    counts: Counter[str] = Counter(d.decision for d in decisions)
    parts = [f"{counts[k]} {_WORDS[k]}" for k in DECISIONS if counts[k]]
    flags = [f"{n} {what}" for n, what in ((sum(d.overdue for d in decisions), "overdue"),
                                           (sum(d.unassigned for d in decisions), "unassigned")) if n]
    head = f"{len(decisions)} signal{'s' if len(decisions) != 1 else ''}"
    return head + (": " + ", ".join(parts) if parts else "") + ("; " + ", ".join(flags) if flags else "")


def _rule(d: TriageDecision) -> str:
    return f"{d.rule} ({d.rule_name})" if d.rule_name else d.rule


def _owner(d: TriageDecision) -> str:
    return d.owner if d.owner is not None else "unassigned"


def _deadline(d: TriageDecision, today: dt.date) -> str:
    if d.deadline is None:
        return ""
    return f"{d.deadline.isoformat()}: OVERDUE (today {today.isoformat()})" if d.overdue else d.deadline.isoformat()


def format_text(decisions: list[TriageDecision], today: dt.date) -> str:
    lines: list[str] = []
    for d in decisions:
        s = d.signal.signal
        lines.append(clean(f"{_LABELS[d.decision]}  {d.signal.label}  {s.kind}, {s.severity} ({d.signal.where})"))
        if s.summary:
            lines.append(f"  summary:  {clean(s.summary)}")
        lines.append(f"  rule:     {clean(_rule(d))}: {clean(d.why)}")
        for row in d.rows:
            lines.append(f"  review:   {row.review}")
        for action in d.actions:
            lines.append(f"  action:   {clean(action)}")
        lines.append(f"  owner:    {clean(_owner(d))}" + (" (!) no owner: set one on the signal or defaults.owner"
                                                          if d.unassigned else ""))
        if d.gates:
            lines.append(f"  gates:    {', '.join(d.gates)}")
        if d.deadline is not None:
            lines.append(f"  deadline: {_deadline(d, today)}")
        if d.trace is not None:
            lines.append(f"  trace:    {clean(d.trace.ref)} ({clean(d.trace.note)})")
        lines.append(f"  next:     {d.next_step}")
    lines.append(summary(decisions))
    return "\n".join(lines)


def to_dict(d: TriageDecision) -> dict[str, Any]:
    s = d.signal.signal
    return {
        "signal": {"id": s.id, "where": d.signal.where, "kind": s.kind, "severity": s.severity,
                   "time": s.time.isoformat(), "summary": s.summary, "route": s.route, "workflow": s.workflow},
        "decision": d.decision,
        "severity": d.severity,
        "rule": d.rule,
        "rule_name": d.rule_name,
        "why": d.why,
        "rows": [{"signal": r.signal, "review": r.review, "action": r.action} for r in d.rows],
        "actions": list(d.actions),
        "owner": d.owner,
        "owner_source": d.owner_source,
        "unassigned": d.unassigned,
        "gates": list(d.gates),
        "deadline": d.deadline.isoformat() if d.deadline else None,
        "overdue": d.overdue,
        "next": d.next_step,
        "trace": None if d.trace is None else
        {"ref": d.trace.ref, "kind": d.trace.kind, "useful": d.trace.useful, "note": d.trace.note},
    }


def format_json(decisions: list[TriageDecision], today: dt.date) -> str:
    counts: Counter[str] = Counter(d.decision for d in decisions)
    doc = {
        "today": today.isoformat(),
        "signals": len(decisions),
        "counts": {k: counts[k] for k in DECISIONS},
        "overdue": sum(d.overdue for d in decisions),
        "unassigned": sum(d.unassigned for d in decisions),
        "decisions": [to_dict(d) for d in decisions],
    }
    return json.dumps(doc, indent=2)


def format_markdown(decisions: list[TriageDecision], today: dt.date) -> str:
    out = [f"## evalloop triage: {md(summary(decisions))}", "",
           f"Deadlines against {today.isoformat()}: two business days after the signal for blocking and "
           "warning evals.", ""]
    if not decisions:
        return "\n".join(out).rstrip() + "\n"
    out += ["| signal | decision | rule | owner | gates | deadline | actions |",
            "|---|---|---|---|---|---|---|"]
    for d in decisions:
        s = d.signal.signal
        decision = f"**{_WORDS[d.decision]}**"
        owner = md(_owner(d)) + (" ⚠️" if d.unassigned else "")
        deadline = _deadline(d, today)
        if d.overdue:
            deadline = f"**{deadline}**"
        cells = [f"{md(d.signal.label)}<br>{md(s.kind)}, {md(s.severity)}", decision,
                 f"{md(_rule(d))}: {md(d.why)}", owner, md(", ".join(d.gates)) or "—", deadline or "—",
                 "<br>".join(md(a) for a in d.actions)]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
