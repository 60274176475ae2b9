"""Pydantic models built from field dicts without validation: `construct(Span, fields)`.

An import builds tens of thousands of `Span`s from dicts the mapping already
made well-formed, so they are adopted by the models as they are. The shortcut
sets pydantic's instance slots directly; it is checked once, at import, against
the public API, and `model_construct` is used instead if a pydantic release
changes those internals.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from evalloop.model.run import Span

M = TypeVar("M", bound=BaseModel)


def _descriptor_setters() -> tuple[Any, Any, Any, Any]:
    slots = BaseModel.__dict__
    return (slots["__dict__"].__set__, slots["__pydantic_fields_set__"].__set__,
            slots["__pydantic_extra__"].__set__, slots["__pydantic_private__"].__set__)


try:
    _SET_DICT, _SET_FIELDS_SET, _SET_EXTRA, _SET_PRIVATE = _descriptor_setters()
except (KeyError, AttributeError):  # a pydantic without these slots: _fast_path_works says no
    _SET_DICT = _SET_FIELDS_SET = _SET_EXTRA = _SET_PRIVATE = None


# Every field of a constructed model is set, so all instances of a class can share
# one fields-set: pydantic only ever adds a field name to it (a no-op here) or
# copies it. One set per object would be 30,000 more objects for the collector.
_ALL_FIELDS: dict[type[BaseModel], set[str]] = {}


def _construct_fast(cls: type[M], fields: dict[str, Any]) -> M:
    obj = cls.__new__(cls)
    _SET_DICT(obj, fields)
    all_fields = _ALL_FIELDS.get(cls)
    if all_fields is None:
        all_fields = _ALL_FIELDS[cls] = set(cls.model_fields)
    _SET_FIELDS_SET(obj, all_fields)
    _SET_EXTRA(obj, None)
    # A model with private attributes (Run) needs their defaults, as model_construct
    # gives them; one without (Span, the many) keeps None and costs no dict.
    private = cls.__private_attributes__
    _SET_PRIVATE(obj, {k: v.get_default() for k, v in private.items()} if private else None)
    return obj


def _construct_slow(cls: type[M], fields: dict[str, Any]) -> M:
    return cls.model_construct(None, **fields)


def _fast_path_works() -> bool:
    # model_construct costs ~8 us a span, five times the bare object setup; the
    # shortcut relies on pydantic internals, so it is checked once against the
    # public API and abandoned if a pydantic release changes them.
    sample: dict[str, Any] = {"type": "tool", "name": "t", "status": "failed", "args": {"a": 1},
                              "result": [1],
                              "error": "e", "start_ms": 1.0, "end_ms": 2.0, "span_id": "s",
                              "parent_id": "p", "input_tokens": 1, "output_tokens": 2,
                              "cost_usd": 0.5, "attributes": {"k": "v"}}
    try:
        fast = _construct_fast(Span, dict(sample))
        other = _construct_fast(Span, dict(sample))
        slow = Span.model_construct(**sample)
        same = (fast.model_dump() == slow.model_dump() == Span.model_validate(sample).model_dump()
                and fast == slow and fast.ref == "tool:t")
        # assignment and copies must not leak between instances sharing the fields-set
        fast.name = "u"
        copy = fast.model_copy(update={"name": "v"})
        return same and other.name == "t" and copy.name == "v" and fast.name == "u" \
            and fast.model_fields_set == set(Span.model_fields)
    except Exception:  # any surprise from the internals means: use the public API
        return False


construct = _construct_fast if _fast_path_works() else _construct_slow
