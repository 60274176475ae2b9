"""Checks on the run's tool calls by name and arguments: called, not called, called with."""

from __future__ import annotations

from typing import Any

from evalloop.evaluate.judgement import Violation
from evalloop.evaluate.values import args_test, json_contains, short
from evalloop.evaluate.view import Check, View, span_evidence
from evalloop.model.run import Span


def tools_called(names: list[str]) -> Check:
    """Each tool was called at least once."""

    def check(view: View, out: list[Violation]) -> None:
        called = {s.name for _, s in view.tools()}
        for name in names:
            if name not in called:
                out.append(Violation(
                    "tool_not_called", f"tool {name} was never called",
                    expected=name, actual=sorted(called)[:50], ref=f"tool:{name}"))
    return check


def tools_not_called(names: frozenset[str]) -> Check:
    """No call of these tools, whatever its status; every call is reported."""

    def check(view: View, out: list[Violation]) -> None:
        for i, s in view.tools():
            if s.name in names:
                out.append(Violation(
                    "forbidden_tool", f"forbidden tool {s.name} was called at span {i} "
                    f"(status {s.status})", expected=None,
                    actual={"status": s.status, "args": s.args}, **span_evidence(i, s)))
    return check


def tool_args(name: str, args: dict[str, Any]) -> Check:
    """Some call of `name` carries `args` (contained, compared as JSON); a failure points
    at the call that came closest."""
    test = args_test(args, "subset")

    def check(view: View, out: list[Violation]) -> None:
        calls = [(i, s) for i, s in view.tools() if s.name == name]
        if any(test(s.args or {}) for _, s in calls):
            return
        if not calls:
            out.append(Violation(
                "tool_args", f"tool {name} was never called, so no call carries {short(args)}",
                expected=args, actual=None, ref=f"tool:{name}"))
            return
        # Point at the call that came closest: the most expected keys carried right.
        def agreeing(s: Span) -> int:
            got = s.args or {}
            return sum(1 for k, v in args.items() if k in got and json_contains({k: v}, got))

        best_i, best = max(calls, key=lambda c: agreeing(c[1]))
        got = best.args or {}
        differing = {k: got.get(k) for k in args if not json_contains({k: args[k]}, got)}
        out.append(Violation(
            "tool_args", f"no call of {name} carries {short(args)}; closest is span {best_i} "
            f"with {short(differing)}", expected=args, actual=best.args,
            details={"calls": len(calls), "missing_or_different": sorted(differing)},
            **span_evidence(best_i, best)))
    return check


__all__ = ["tool_args", "tools_called", "tools_not_called"]
