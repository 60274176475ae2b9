"""Values as the checks compare and show them: equality and containment as JSON has
them, predicates on a call's arguments, and the short renderings messages use."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

_SHOW = 80  # characters of a value shown inside a message; the evidence keeps it whole


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON has it: `true` is not `1` (Python says it is), `1` is `1.0`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return False
        return all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple):
        if not isinstance(b, list | tuple) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def json_contains(expected: Mapping[str, Any], actual: Any) -> bool:
    """Every key of `expected` is in `actual` with an equal value; nested objects recurse."""
    if not isinstance(actual, dict):
        return False
    for k, v in expected.items():
        if k not in actual:
            return False
        got = actual[k]
        if isinstance(v, dict) and isinstance(got, dict):
            if not json_contains(v, got):
                return False
        elif not json_equal(v, got):
            return False
    return True


def _number_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], bool]]:
    """Paths to the number and boolean leaves of a value, each with whether it is a boolean.

    They are the only places where Python's `==` can disagree with JSON equality
    (`True == 1`); everywhere else `==`, which runs in C, is exact.
    """
    if isinstance(value, bool):
        return [(path, True)]
    if isinstance(value, int | float):
        return [(path, False)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _number_paths(v, (*path, k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _number_paths(v, (*path, i))]
    return []


def _leaf(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


ArgsTest = Callable[[dict[str, Any]], bool]


def args_test(args: dict[str, Any], mode: str) -> ArgsTest:
    """A predicate on a call's arguments for one expected call spec (`exact` or `subset`).

    Both modes first compare with Python's C-level `==` (`subset`: dict items
    containment, `args.items() <= got.items()`), then check the boolean-ness of
    the few number and boolean leaves, where `==` is looser than JSON. Nested
    objects in `subset` mode are contained recursively (`json_contains`).
    """
    if mode != "exact" and any(isinstance(v, dict) for v in args.values()):
        return lambda got: json_contains(args, got)
    numbers = _number_paths(args)
    items = args.items()
    if not numbers:
        if mode == "exact":
            return lambda got: got == args
        return lambda got: items <= got.items()
    top = tuple((p[0], b) for p, b in numbers) if all(len(p) == 1 for p, _ in numbers) else None

    def test(got: dict[str, Any]) -> bool:
        if not (got == args if mode == "exact" else items <= got.items()):
            return False
        # The values compared equal, so every path exists in `got`; only a boolean
        # against a number can still differ. A plain loop: all() over a generator
        # costs more on this hot path.
        if top is not None:
            for k, b in top:  # noqa: SIM110
                if (type(got[k]) is bool) is not b:
                    return False
            return True
        return all((type(_leaf(got, p)) is bool) is b for p, b in numbers)
    return test


def short(value: Any, limit: int = _SHOW) -> str:
    """`value` as text for a message, cut to `limit` characters."""
    text = value if isinstance(value, str) else dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dumps(value: Any) -> str:
    """`value` as JSON with sorted keys, or its repr when orjson refuses it."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(value)


def call_text(name: str, args: Mapping[str, Any] | None) -> str:
    """A call as a message shows it, `name(key=value, ...)`; `name(*)`: any arguments."""
    if args is None:
        return f"{name}(*)"
    inner = ", ".join(f"{k}={short(v, 40)}" for k, v in args.items())
    return f"{name}({short(inner, _SHOW)})"


__all__ = ["ArgsTest", "args_test", "call_text", "dumps", "json_contains", "json_equal", "short"]
