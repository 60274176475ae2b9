"""`evalloop metrics --format html`: the dashboard, one self-contained page.

Nothing is fetched to open it: the styles are inline, the charts are inline SVG, there are no
scripts, fonts or images, and the page's Content-Security-Policy forbids loading anything
(`default-src 'none'`), so a page that renders proves it needs no network. Every text that comes
from the repository (ids, paths, owners, actions) is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from evalloop.metrics.render.charts import LINE, THRESHOLD, chart_svg, has_trend
from evalloop.metrics.render.values import STATUS_LABEL, short, shown
from evalloop.model.metrics import Metric, MetricsReport

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
COLOURS = {"ok": "#1a7f37", "investigate": "#9a6700", "block": "#cf222e", "no_data": "#59636e", "info": "#0969da"}

_STYLE = """
body { font: 14px/1.45 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328;
       margin: 0; background: #f6f8fa; }
header { background: #24292f; color: #fff; padding: 16px 28px; }
header h1 { margin: 0; font-size: 22px; } header p { margin: 4px 0 0; color: #d0d7de; }
main { padding: 20px 28px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border: 1px solid #d0d7de; padding: 6px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 9px; color: #fff; font-weight: 600;
         white-space: nowrap; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; margin-top: 20px; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 16px; }
.card h3 { margin: 0 0 4px; font-size: 16px; } .value { font-size: 20px; font-weight: 600; }
.card ul { margin: 6px 0 0; padding-left: 18px; } .nodata { color: #59636e; font-style: italic; }
.legend span { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin: 0 4px 0 10px; }
svg { max-width: 100%; height: auto; }
"""


def render_html(report: MetricsReport) -> str:
    summary = ", ".join(f"{n} {label}" for status, label in STATUS_LABEL.items()
                        if (n := sum(m.status == status for m in report.metrics)))
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>evalloop loop health {report.since} to {report.until}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<header><h1>Loop health</h1><p>{report.since} to {report.until} · made {report.generated_at:%Y-%m-%d %H:%M} "
        f"UTC · {escape(summary)}</p></header><main>",
        "<h2>Dashboard thresholds</h2>", _table(report),
        '<p class="legend">Charts:<span style="background:' + LINE + '"></span>value per period'
        '<span style="background:' + THRESHOLD + '"></span>investigate threshold (dashed)</p>',
        '<div class="grid">', *(_card(m) for m in report.metrics), "</div>",
        "<h2>Sources</h2>", _sources(report), "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _badge(m: Metric) -> str:
    return f'<span class="badge" style="background:{COLOURS[m.status]}">{escape(STATUS_LABEL[m.status])}</span>'


def _table(report: MetricsReport) -> str:
    rows = ["<table><thead><tr><th>status</th><th>metric</th><th>value</th><th>investigate when</th>"
            "<th>block or roll back when</th><th>owner</th><th>action</th></tr></thead><tbody>"]
    for m in report.metrics:
        rows.append(f"<tr><td>{_badge(m)}</td><td>{escape(m.name)}</td><td>{escape(shown(m))}</td>"
                    f"<td>{escape(m.investigate_when)}</td><td>{escape(m.block_when or '-')}</td>"
                    f"<td>{escape(m.owner)}</td><td>{escape(m.action or '-')}</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _card(m: Metric) -> str:
    out = [f'<section class="card" id="{escape(m.id)}"><h3>{escape(m.name)} {_badge(m)}</h3>',
           f'<div class="value">{escape(shown(m))}</div>']
    if has_trend(m):
        points = ", ".join(f"{p.start}: {short(m, p.value)}" for p in m.trend)
        out.append(f'<figure role="img" aria-label="{escape(m.name)} by period: {escape(points)}">{chart_svg(m)}'
                   "</figure>")
    else:
        out.append('<p class="nodata">No trend: no period of the window has data.</p>')
    items = [f"<li><b>missing</b>: {escape(x)}</li>" for x in m.missing]
    items += [f"<li>{escape(x)}</li>" for x in m.reasons[:20]]
    if len(m.reasons) > 20:
        items.append(f"<li>and {len(m.reasons) - 20} more</li>")
    if m.action:
        items.append(f"<li><b>action</b> ({escape(m.owner)}): {escape(m.action)}</li>")
    items += [f'<li class="nodata">{escape(n)}</li>' for n in m.notes]
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    out.append("</section>")
    return "".join(out)


def _sources(report: MetricsReport) -> str:
    rows = ["<table><thead><tr><th>source</th><th>where</th><th>records</th></tr></thead><tbody>"]
    for s in report.sources:
        found = str(s.records) if s.found else '<span class="nodata">not found</span>'
        rows.append(f"<tr><td>{escape(s.name)}</td><td>{escape(s.where)}</td><td>{found}</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)
