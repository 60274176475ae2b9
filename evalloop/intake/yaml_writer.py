"""Fixtures and incident records as YAML a reviewer reads: a comment above each field.

Written with ruamel.yaml (it keeps comments), read by evalloop with PyYAML (YAML 1.1): every
string, number and time is written so that the 1.1 reader gets back exactly the data written,
and `render` checks that it does before anything is kept.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

from evalloop.repo import parse

_RESOLVER = yaml.resolver.Resolver()


def _scalar(value: str) -> Any:
    """A string as YAML keeps it a string for every reader: PyYAML (YAML 1.1, which validate
    uses) reads `yes`, `on` and `1:20` as a boolean and a number, ruamel (1.2) writes them bare."""
    if "\n" in value and value[:1] != " " and all(
            line.isprintable() and line == line.rstrip() for line in value.split("\n")):
        return LiteralScalarString(value)
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if tag != "tag:yaml.org,2002:str":
        return SingleQuotedScalarString(value)
    return value


def _tree(value: Any, path: tuple[str, ...], comments: dict[tuple[str, ...], str]) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _tree(v, (*path, str(k)), comments)
            note = comments.get((*path, str(k)))
            if note is not None:
                # a blank line below the header and before each section (input, context, expected)
                gap = "\n" if not path and (isinstance(v, dict) or not out.keys() - {k}) else ""
                out.yaml_set_comment_before_after_key(k, before=gap + note, indent=2 * len(path))
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_tree(v, path, comments) for v in value)
        if value and all(isinstance(v, str) and len(v) < 60 for v in value) and len(value) <= 8:
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str):
        return _scalar(value)
    return value


def _float(value: float) -> str:
    """A float as YAML 1.1 reads it back: `1e+20` is a string there, `1.0e+20` a number."""
    if value != value:
        return ".nan"
    if value in (math.inf, -math.inf):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)  # the exponent always has its sign: 1e+20, 1e-07
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}.0e{exponent}" if exponent and "." not in mantissa else text


def _same(a: Any, b: Any) -> bool:
    """Equal as data, NaN included (a recorded result may hold one; it never equals itself)."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def render(data: dict[str, Any], comments: dict[tuple[str, ...], str], header: list[str]) -> str:
    """YAML with a comment above each commented key; the result reads back as `data`."""
    tree = _tree(data, (), comments)
    tree.yaml_set_start_comment("\n".join(header) + "\n")
    y = YAML(typ="rt")
    # `null`, not an empty value: `- ` with nothing after it reads as a mistake
    y.representer.add_representer(type(None), lambda r, _v: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    y.representer.add_representer(float, lambda r, v: r.represent_scalar("tag:yaml.org,2002:float", _float(v)))
    # times as ISO 8601 (`2026-04-18T09:12:00Z`), as the formats' examples write them
    y.representer.add_representer(dt.datetime, lambda r, v: r.represent_scalar(
        "tag:yaml.org,2002:timestamp", v.isoformat().replace("+00:00", "Z")))
    y.width = 4096  # long values stay on one line
    y.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    y.dump(tree, out)
    text = out.getvalue()
    if not _same(parse.plain(parse.parse_text(text, "capture", is_json=False)), parse.plain(data)):
        raise RuntimeError("the rendered YAML does not read back as the data it was rendered from")
    return text


__all__ = ["render"]
