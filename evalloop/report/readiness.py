"""`evalloop readiness`'s report: each question, its answer, the evidence and the gaps."""

from __future__ import annotations

import orjson

from evalloop.model.readiness import Answer
from evalloop.report.escape import md
from evalloop.text import clean

MARK = {"answered": "OK ", "partial": "GAP", "gap": "GAP"}
ICON = {"answered": "✅", "partial": "⚠️", "gap": "❌"}
TITLES = {"readiness": "Feedback loop readiness", "checklist": "Design checklist"}


def _gaps(answers: list[Answer]) -> int:
    return sum(len(a.gaps) for a in answers)


def format_text(answers: list[Answer]) -> str:
    lines: list[str] = []
    for section, title in TITLES.items():
        lines += ["", title] if lines else [title]
        for a in (a for a in answers if a.section == section):
            lines.append(clean(f"  {MARK[a.status]} {a.question} {a.answer}"))
            lines += [clean(f"        evidence: {e}") for e in a.evidence]
            lines += [clean(f"        gap: {g}") for g in a.gaps]
    missing = _gaps(answers)
    lines += ["", f"{missing} gap(s): the repository cannot answer everything the seed asks before production"
              if missing else "no gaps: every question is answered from the repository"]
    return "\n".join(lines) + "\n"


def format_markdown(answers: list[Answer]) -> str:
    out: list[str] = []
    for section, title in TITLES.items():
        out += [f"## {title}", "", "| | question | answer | evidence | gaps |", "|---|---|---|---|---|"]
        for a in (a for a in answers if a.section == section):
            out.append(f"| {ICON[a.status]} | {md(a.question)} | {md(a.answer)} | "
                       f"{'<br>'.join(md(e, 300) for e in a.evidence) or '—'} | "
                       f"{'<br>'.join(md(g, 300) for g in a.gaps) or '—'} |")
        out.append("")
    return "\n".join(out)


def format_json(answers: list[Answer]) -> str:
    data = {"gaps": _gaps(answers), "answers": [a.model_dump(mode="json") for a in answers]}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
