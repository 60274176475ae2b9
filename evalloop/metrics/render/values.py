"""A metric's value and status as words, the same in every format."""

from __future__ import annotations

from evalloop.model.metrics import Metric, MetricStatus

STATUS_LABEL: dict[MetricStatus, str] = {
    "ok": "ok", "investigate": "investigate", "block": "block / roll back", "no_data": "no data", "info": "info",
}


def shown(m: Metric) -> str:
    """The value with its unit and counts; `no data` when it cannot be computed (never a zero)."""
    v = m.value
    if v is None:
        return "no data"
    if m.unit == "ratio":
        return f"{v:.0%} ({m.numerator} of {m.denominator})"
    if m.unit == "hours":
        return f"{v:.1f} h" if v < 48 else f"{v / 24:.1f} days"
    if m.unit == "count":
        return f"{v:.0f} of {m.denominator} fixtures" if m.denominator is not None else f"{v:.0f}"
    if m.unit == "per_week":
        return f"{v:.1f} a week ({m.numerator} in {m.denominator} days)"
    return f"{v:.1f} per 30 days ({m.numerator} in {m.denominator} days)"


def short(m: Metric, value: float | None) -> str:
    """A trend point's value, short."""
    if value is None:
        return "-"
    if m.unit == "ratio":
        return f"{value:.0%}"
    if m.unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}"


def details(m: Metric) -> list[str]:
    """What a reader acts on: missing data, the reasons, the action, notes."""
    out = [f"missing: {x}" for x in m.missing]
    out += m.reasons
    if m.action:
        out.append(f"action ({m.owner}): {m.action}")
    out += [f"note: {n}" for n in m.notes]
    return out
