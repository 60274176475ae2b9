"""Copies of one model call recorded by several instrumentation layers, merged into one span.

ADK records a call as `call_llm` > `generate_content` (> OpenLLMetry's
`openai.chat`), the Vercel AI SDK as `ai.generateText` > `ai.generateText.doGenerate`;
counting each would count the call's tokens and cost two or three times.
"""

from __future__ import annotations

from evalloop.traces.draft import P_WRAPPER, Draft
from evalloop.traces.text import model_text

# Marks a model span whose text was looked for and not found (None means: not looked yet).
NO_TEXT = object()


def _same_call(child: Draft, parent: Draft) -> bool:
    """Whether a model-like span and its model-like parent can be one call: same usage,
    or one of them records none."""
    c, p = child.f, parent.f
    ci, co, pi, po = c["input_tokens"], c["output_tokens"], p["input_tokens"], p["output_tokens"]
    if (ci is None and co is None) or (pi is None and po is None):
        return True
    return bool(ci == pi and co == po)


def merge_model_calls(models: list[Draft], drafts: dict[str, Draft],
                      up: dict[str, str | None]) -> dict[str, str | None]:
    """Spans dropped because another span records the same model call, each mapped
    to the span kept for that call (None for a dropped aggregate).

    A model-like span whose nearest mapped ancestor is a model-like span with the
    same token usage (or no usage at all) is the same LLM call seen by another
    instrumentation layer (ADK's call_llm > generate_content > openai.chat). One
    span per call survives: the highest priority, the outermost on ties; it
    borrows usage, cost and text it lacks from the others. A usage-only wrapper
    around several different calls is an aggregate, not a call, and is dropped.
    """
    head: dict[str, str] = {}
    parents_of_models: set[str] = set()
    limit = len(models) + 1
    for d in models:
        chain: list[str] = []
        cur = d
        h: str | None = None
        while True:
            sid = cur.f["span_id"]
            if sid in head:
                h = head[sid]
                break
            chain.append(sid)
            pid = up.get(sid)
            parent = drafts.get(pid) if pid is not None else None
            if pid is None or parent is None or parent.f["type"] != "model" or not parent.prio:
                break
            parents_of_models.add(pid)
            if not _same_call(cur, parent) or len(chain) > limit:
                break
            cur = parent
        if h is None:
            h = chain[-1]
        for sid in chain:
            head[sid] = h
    groups: dict[str, list[Draft]] = {}
    for d in models:
        groups.setdefault(head[d.f["span_id"]], []).append(d)
    replaced: dict[str, str | None] = {}
    for members in groups.values():
        if len(members) == 1:
            only = members[0]
            if only.prio == P_WRAPPER and only.f["span_id"] in parents_of_models:
                replaced[only.f["span_id"]] = None
            continue
        # members are in start order, so the outermost (earliest) wins ties.
        best = max(members, key=_prio)
        bf = best.f
        for m in members:
            if m is best:
                continue
            mf = m.f
            replaced[mf["span_id"]] = bf["span_id"]
            if bf["input_tokens"] is None and bf["output_tokens"] is None:
                bf["input_tokens"], bf["output_tokens"] = mf["input_tokens"], mf["output_tokens"]
                _borrow_bad(best, m, ("input_tokens", "output_tokens"))
            if bf["cost_usd"] is None:
                bf["cost_usd"] = mf["cost_usd"]
                _borrow_bad(best, m, ("cost_usd",))
            if mf["status"] == "failed" and bf["status"] != "failed":
                bf["status"], bf["error"] = "failed", mf["error"]
        if bf["result"] is None:
            for m in (best, *members):
                text = model_text(m.f["attributes"])
                if text is not None:
                    bf["result"] = text
                    break
        bf["result"] = bf["result"] if bf["result"] is not None else NO_TEXT
    return replaced


def _prio(d: Draft) -> int:
    return d.prio


def _borrow_bad(best: Draft, other: Draft, fields: tuple[str, ...]) -> None:
    """The kept copy of a model call takes the unparseable values of the fields it
    borrowed: they are the same call's measurement, and must not vanish with the copy."""
    if other.bad:
        taken = [b for b in other.bad if b[0] in fields]
        if taken:
            best.bad = (best.bad or []) + taken
