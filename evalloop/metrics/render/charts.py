"""A metric's trend as an inline SVG chart, drawn by matplotlib (its SVG backend, no display).

The SVG is deterministic for the same report: text stays text (`svg.fonttype: none`, so the page
needs no embedded font), ids come from a fixed salt per metric, and no creation date is written.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from evalloop.model.metrics import Metric

LINE = "#0969da"  # the value
THRESHOLD = "#bf8700"  # the investigate threshold, dashed
GRID = "#d0d7de"
_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)


def has_trend(m: Metric) -> bool:
    return any(p.value is not None for p in m.trend)


def chart_svg(m: Metric) -> str:
    """The trend of `m` as an `<svg>` element (no XML prolog), ready to sit in an HTML page."""
    import matplotlib
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    scale = 100.0 if m.unit == "ratio" else 1.0
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"evalloop-{m.id}",
                                "font.family": "sans-serif", "font.size": 9, "axes.edgecolor": GRID,
                                "xtick.color": "#59636e", "ytick.color": "#59636e"}):
        fig = Figure(figsize=(5.2, 2.0), dpi=96, layout="constrained")
        ax = fig.subplots()
        xs = mdates.date2num([_middle(p.start, p.end) for p in m.trend])  # type: ignore[no-untyped-call]
        ys = [p.value * scale if p.value is not None else float("nan") for p in m.trend]
        ax.plot(xs, ys, color=LINE, linewidth=2.2, marker="o", markersize=3.5)
        if m.threshold is not None:
            ax.axhline(m.threshold * scale, color=THRESHOLD, linewidth=1.2, linestyle="--")
        if m.unit == "ratio":
            ax.set_ylim(-5, 105)
            ax.set_ylabel("%")
        else:
            top = max([y for y in ys if y == y] + [m.threshold * scale if m.threshold is not None else 0.0])
            ax.set_ylim(0, top * 1.15 + 1)
            ax.set_ylabel({"hours": "hours", "count": "fixtures", "per_week": "a week"}.get(m.unit, "per 30 days"))
        ax.grid(True, color=GRID, linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))  # type: ignore[no-untyped-call]
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, transparent=True)
    return _PROLOG.sub("", buf.getvalue(), count=1).strip()


def _middle(start: dt.date, end: dt.date) -> dt.datetime:
    first = dt.datetime(start.year, start.month, start.day)
    return first + (dt.datetime(end.year, end.month, end.day) - first + dt.timedelta(days=1)) / 2
