"""Checks on the run's spans (required, forbidden, in order) and on its outcome (route,
stop reason, final status)."""

from __future__ import annotations

from typing import Any

from evalloop.evaluate.judgement import Violation
from evalloop.evaluate.values import short
from evalloop.evaluate.view import Check, View, span_evidence


def required_spans(refs: list[str]) -> Check:
    """Each ref happened at least once, whatever its status."""

    def check(view: View, out: list[Violation]) -> None:
        first = view.first()
        for ref in refs:
            if ref not in first:
                kind = ref.split(":", 1)[0]
                similar = sorted({f"{s.type}:{s.name}" for s in view.spans if s.type == kind})
                out.append(Violation(
                    "missing_span", f"required span {ref} never happened",
                    expected=ref, actual=None, ref=ref,
                    details={"same_type_present": similar[:20]} if similar else {}))
    return check


def forbidden_spans(refs: frozenset[str]) -> Check:
    """No ref happened, whatever its status; every occurrence is reported."""

    def check(view: View, out: list[Violation]) -> None:
        first = view.first()
        if first.keys().isdisjoint(refs):
            return
        for i, s in enumerate(view.spans):
            ref = f"{s.type}:{s.name}"
            if ref in refs:
                out.append(Violation(
                    "forbidden_span", f"forbidden span {ref} happened at span {i} "
                    f"(status {s.status})", expected=None,
                    actual={"status": s.status, "args": s.args}, **span_evidence(i, s)))
    return check


def span_order(pairs: list[tuple[str, str]]) -> Check:
    """For each pair (A, B) the first A comes before the first B; a run with no A, or no
    B, does not confirm the order, so it fails too."""

    def check(view: View, out: list[Violation]) -> None:
        first = view.first()
        for a, b in pairs:
            ia, ib = first.get(a), first.get(b)
            if ia is not None and ib is not None and ia < ib:
                continue
            actual = {"first": ia, "second": ib}
            if ia is None and ib is None:
                msg = f"{a} must come before {b}, but neither happened"
                where: dict[str, Any] = {"ref": b}
            elif ia is None:
                assert ib is not None
                msg = f"{b} happened at span {ib} without any {a} before it"
                where = span_evidence(ib, view.spans[ib])
            elif ib is None:
                msg = f"{a} happened at span {ia} but {b} never did, so the order is unconfirmed"
                where = {"ref": b}
            else:
                msg = f"{b} at span {ib} came before the first {a} (span {ia})"
                where = span_evidence(ib, view.spans[ib])
            out.append(Violation("order", msg, expected=[a, b], actual=actual, **where))
    return check


def outcome(kind: str, attr: str, want: str) -> Check:
    """The run's `attr` (route, stop reason, final status) is `want`."""

    def check(view: View, out: list[Violation]) -> None:
        got = getattr(view.run, attr)
        if got != want:
            shown = "nothing recorded" if got is None else repr(short(got))
            out.append(Violation(kind, f"{attr} is {shown}, expected {want!r}",
                                 expected=want, actual=got))
    return check


__all__ = ["forbidden_spans", "outcome", "required_spans", "span_order"]
