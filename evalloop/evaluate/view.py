"""The run as the checks read it (`View`), what a check is (`Check`), and the time
limits of judging one run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from evalloop.evaluate.judgement import Violation
from evalloop.model.run import Run, Span

REGEX_TIMEOUT_S = 1.0  # one search of one output rule
DEADLINE_S = 10.0  # the whole evaluation of one run


class View:
    """What the checks need from a run, each part computed once and only if asked for."""

    __slots__ = ("_args", "_by_name", "_first", "_names", "_ref_names", "_tools", "deadline",
                 "deadline_s", "regex_timeout_s", "run", "spans")

    def __init__(self, run: Run, ref_names: frozenset[str] = frozenset(), *,
                 deadline_s: float = DEADLINE_S, regex_timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self.run = run
        self.spans = run.spans
        self.deadline_s = deadline_s
        self.deadline = time.monotonic() + deadline_s  # monotonic: immune to clock changes
        self.regex_timeout_s = regex_timeout_s
        self._ref_names = ref_names
        self._first: dict[str, int] | None = None
        self._tools: list[tuple[int, Span]] | None = None
        self._names: list[str] = []
        self._args: list[dict[str, Any]] = []
        self._by_name: dict[str, list[int]] | None = None

    def first(self) -> dict[str, int]:
        """Index of the first span of each `type:name` ref the fixture names.

        Only spans whose name the fixture's refs use are looked at (`ref_names`,
        known when compiling), so most spans cost a set lookup, not a string.
        """
        if self._first is None:
            first: dict[str, int] = {}
            wanted = self._ref_names
            for i, s in enumerate(self.spans):
                if s.name in wanted:
                    ref = f"{s.type}:{s.name}"
                    if ref not in first:
                        first[ref] = i
            self._first = first
        return self._first

    def tools(self) -> list[tuple[int, Span]]:
        """Tool calls with their span index, in run order."""
        if self._tools is None:
            # One pass collecting what the sequence checks read again and again:
            # attribute access on pydantic models costs about three list lookups.
            tools, names, args = [], self._names, self._args
            for i, s in enumerate(self.spans):
                if s.type == "tool":
                    tools.append((i, s))
                    names.append(s.name)
                    args.append(s.args or {})
            self._tools = tools
        return self._tools

    def tool_names(self) -> list[str]:
        """Name of each tool call, parallel to `tools()`."""
        self.tools()
        return self._names

    def tool_args(self) -> list[dict[str, Any]]:
        """Arguments of each tool call (`{}` for none), parallel to `tools()`."""
        self.tools()
        return self._args

    def by_name(self) -> dict[str, list[int]]:
        """Positions in `tools()` of the calls of each tool name."""
        if self._by_name is None:
            by_name: dict[str, list[int]] = {}
            for k, name in enumerate(self.tool_names()):
                by_name.setdefault(name, []).append(k)
            self._by_name = by_name
        return self._by_name


def span_evidence(span_index: int, span: Span) -> dict[str, Any]:
    """Evidence keyword arguments naming a span."""
    return {"span_index": span_index, "ref": f"{span.type}:{span.name}", "span_id": span.span_id}


# A check appends what it finds to one list per run: judging a run that passes
# allocates nothing per check.
Check = Callable[[View, list[Violation]], None]


__all__ = ["DEADLINE_S", "REGEX_TIMEOUT_S", "Check", "View", "span_evidence"]
