"""The report as JSON: the GateReport model as it is, what `evalloop publish` and
`evalloop merge` read back. (Not `json.py`: that name would shadow the standard library's
module wherever this one is imported by its short name.)"""

from __future__ import annotations

from evalloop.model.results import GateReport


def render_json(r: GateReport) -> str:
    return r.model_dump_json(indent=2) + "\n"
