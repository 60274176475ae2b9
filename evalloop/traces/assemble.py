"""Assembling runs: the `Collector` that groups mapped spans by trace, and `build_runs`.

A reader hands each `RawSpan` to `Collector.add`, which maps it at once
(`traces.classify`) so that a plumbing span shrinks to an `Other` tuple and its
attributes are freed while the file is being read. `build_runs` then merges the
copies of one model call that several instrumentation layers record
(`traces.merge`), links each kept span to its nearest kept ancestor
(`traces.tree`) and assembles one `Run` per trace. docs/traces.md describes the
rules for users.

This is the hot path of a 100 MB import, so spans are built as plain dicts and
adopted by the pydantic models without re-validation (`traces.construct`).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from evalloop.model.run import Run, Span, Unjudged
from evalloop.traces.classify import classify
from evalloop.traces.construct import construct
from evalloop.traces.draft import INF, Draft, Other, when
from evalloop.traces.events import fold as fold_events
from evalloop.traces.merge import NO_TEXT, merge_model_calls
from evalloop.traces.raw import RawSpan
from evalloop.traces.text import agent_output, model_text
from evalloop.traces.totals import run_totals
from evalloop.traces.tree import ancestors, kept_parent, order_ties, trace_root
from evalloop.traces.unrecognised import Unrecognised, looks_like

OUTCOME_KEYS = ("evalloop.stop_reason", "evalloop.final_status", "evalloop.route")


class Trace:
    """A trace's spans as the collector keeps them."""

    __slots__ = ("drafts", "marked", "others")

    def __init__(self) -> None:
        self.drafts: list[Draft] = []
        self.others: list[Other] = []
        # spans carrying evalloop.stop_reason / final_status / route: (start, attrs)
        self.marked: list[tuple[float | None, dict[str, Any]]] = []


class Collector:
    """Spans grouped by trace as a reader produces them.

    Each span is mapped on arrival, so a plumbing span shrinks to an `Other`
    tuple at once and its attributes are freed while the file is being read.
    `mapping` holds (attribute, span type) pairs of the user's `trace_mapping`: a
    span carrying the attribute becomes a span of that type named by its value.
    """

    __slots__ = ("mapping", "oi_first", "traces", "unrecognised")

    def __init__(self, oi_first: bool, mapping: tuple[tuple[str, str], ...] = ()) -> None:
        self.oi_first = oi_first
        self.mapping = mapping
        self.traces: dict[str, Trace] = {}
        self.unrecognised: dict[str, list[Unrecognised]] = {}

    def add(self, s: RawSpan) -> None:
        if s.events:
            fold_events(s.attrs, s.events)
        if self.mapping:
            a = s.attrs
            for attr, type_ in self.mapping:
                if attr in a and "evalloop.span.type" not in a:
                    a["evalloop.span.type"] = type_
                    if "evalloop.span.name" not in a and a[attr] is not None:
                        value = a[attr]
                        a["evalloop.span.name"] = value if isinstance(value, str) else str(value)
                    break
        d = classify(s, self.oi_first)
        if d is None:
            kind = looks_like(s)
            if kind is not None:
                self.unrecognised.setdefault(s.trace_id, []).append(
                    Unrecognised(kind, s.name, s.span_id, sorted(s.attrs)))
        trace = self.traces.get(s.trace_id)
        if trace is None:
            trace = self.traces[s.trace_id] = Trace()
        a = s.attrs
        marked = "evalloop.stop_reason" in a or "evalloop.final_status" in a \
            or "evalloop.route" in a
        if marked:
            trace.marked.append((s.start_ms, a))
        if d is not None:
            trace.drafts.append(d)
        else:
            # attributes matter only for a root (its output) or an outcome marker
            trace.others.append((s.span_id, s.parent_id, s.start_ms, s.end_ms, s.failed,
                                 a if marked or s.parent_id is None else None))


def build_runs(collector: Collector, *, source: str,
               final_outputs: dict[str, str] | None = None) -> list[Run]:
    """One run per trace id, ordered by start time."""
    runs: list[tuple[float, str, Run]] = []
    outputs = final_outputs or {}
    for trace_id, trace in collector.traces.items():
        built = build_run(trace_id, trace, source=source, final_output=outputs.get(trace_id))
        if built is not None:
            runs.append((built[0], trace_id, built[1]))
    runs.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in runs]


_BY_KEY = attrgetter("key")


def build_run(trace_id: str, trace: Trace, *, source: str,
              final_output: str | None = None) -> tuple[float, Run] | None:
    """One run (and its start) from a trace's spans; None when no span has agent meaning."""
    order, others = trace.drafts, trace.others
    if not order:
        return None
    drafts: dict[str, Draft] = {}
    models: list[Draft] = []
    for d in order:
        sid = d.f["span_id"]
        if sid is not None:
            drafts[sid] = d
            if d.f["type"] == "model" and d.prio:
                models.append(d)
    order.sort(key=_BY_KEY)
    root = trace_root(order, others)
    up = ancestors(order, drafts, others)
    order_ties(order, up)
    replaced: dict[str, str | None] = {}
    if models:
        models.sort(key=_BY_KEY)
        replaced = merge_model_calls(models, drafts, up)

    spans: list[Span] = []
    unjudged: list[Unjudged] = []
    top_failed = False
    last_model: dict[str, Any] | None = None
    tops: list[dict[str, Any]] = []
    for d in order:
        f = d.f
        sid = f["span_id"]
        if replaced and sid in replaced:
            continue
        parent = kept_parent(sid, up, replaced) if replaced else up.get(sid) if sid else None
        f["parent_id"] = parent
        type_ = f["type"]
        if type_ == "model":
            result = f["result"]
            if result is None:
                result = f["result"] = model_text(f["attributes"])
            elif result is NO_TEXT:
                result = f["result"] = None
            if last_model is None or (f["end_ms"] or -INF) >= (last_model["end_ms"] or -INF):
                last_model = f
        elif parent is None and type_ == "workflow":
            tops.append(f)
            if f["status"] == "failed":
                top_failed = True
        if d.kind is not None and "span.kind" not in f["attributes"]:
            f["attributes"]["span.kind"] = d.kind
        if d.bad:
            unjudged.extend(Unjudged(field, len(spans), raw) for field, raw in d.bad)
        spans.append(construct(Span, f))

    outcome = _outcome(root, trace.marked)
    output = final_output
    if output is None and root[5] is not None:
        output = agent_output(root[5])
    for f in tops:
        if output is not None:
            break
        output = agent_output(f["attributes"])
    if output is None and last_model is not None and isinstance(last_model["result"], str):
        output = last_model["result"]
    final_status = outcome.get("evalloop.final_status")
    if final_status is None and (root[4] or top_failed):
        final_status = "error"
    start, end = root[2], root[3]
    totals = run_totals(spans, start, end)
    fields = {
        "run_id": trace_id or None, "trace_id": trace_id or None, "spans": spans,
        "stop_reason": _str_or_none(outcome.get("evalloop.stop_reason")),
        "final_status": _str_or_none(final_status), "output": output,
        "route": _str_or_none(outcome.get("evalloop.route")),
        "input_tokens": totals.input_tokens, "output_tokens": totals.output_tokens,
        "cost_usd": totals.cost_usd, "latency_ms": totals.latency_ms,
        "source": source,
    }
    run = construct(Run, fields)
    if unjudged:
        run.set_unjudged(tuple(unjudged))
    return (when(start) if start is not None else order[0].key[0]), run


def _outcome(root: Other, marked: list[tuple[float | None, dict[str, Any]]]) -> dict[str, Any]:
    """`evalloop.stop_reason` etc.: the root span's value, else the latest span's."""
    found: dict[str, Any] = {}
    latest: dict[str, float] = {}
    for start, a in marked:
        at = start if start is not None and start == start else -INF
        for key in OUTCOME_KEYS:
            if key in a and (key not in latest or at >= latest[key]):
                latest[key] = at
                found[key] = a[key]
    root_attrs = root[5] or {}
    for key in OUTCOME_KEYS:
        if key in root_attrs:
            found[key] = root_attrs[key]
    return found


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
