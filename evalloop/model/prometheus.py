"""A canary metric read from Prometheus: the `prometheus:` block of canary.yaml and its PromQL templates.

`{{ variant }}` stands for the side's label value (`baseline.label` / `candidate.label`),
escaped for the PromQL string literal it stands in (and quoted for RE2 after `=~` / `!~`),
since a label value is untrusted text; `{{ window }}` for the metric's window. Fetching is
`evalloop.canary.prometheus`.
"""

from __future__ import annotations

import re
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

URL_ENV = "EVALLOOP_PROMETHEUS_URL"
# Prometheus refuses range queries of more points than this per series.
MAX_POINTS = 11_000
_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNITS_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RE2_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


def parse_duration(text: str) -> float:
    """A Prometheus duration (`90s`, `1h30m`, `7d`) in seconds."""
    m = _DURATION.fullmatch(text)
    if not text or m is None:
        raise ValueError(f"not a duration like 30m, 1h or 1h30m: {text!r}")
    seconds = sum(int(n) * unit for n, unit in zip(m.groups(), _UNITS_S, strict=True) if n)
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero: {text!r}")
    return seconds


def check_url(url: str, where: str) -> str:
    """The base URL without its trailing slash; credentials in it are refused (they belong in `headers`)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"{where}: not a URL: {url!r}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{where}: needs an http:// or https:// URL with a host: {url!r}")
    if parsed.userinfo:
        raise ValueError(f"{where}: the URL holds credentials; name an environment variable in `headers` instead")
    if parsed.query or parsed.fragment:
        raise ValueError(f"{where}: the URL must not have a query or fragment: {url!r}")
    return url.rstrip("/")


# -- the query templates -------------------------------------------------------------------


def _escape_literal(value: str, quote: str) -> str:
    """`value` as the inside of a PromQL string literal opened by `quote` (Go's escapes)."""
    out = []
    for c in value:
        if c in ("\\", quote):
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02x}")
        elif 0x80 <= ord(c) <= 0x9F:
            out.append(f"\\u{ord(c):04x}")  # \x80 would be a lone byte, not the character
        else:
            out.append(c)
    return "".join(out)


def render(template: str, variant: str, window: str) -> str:
    """The query with `{{ variant }}` and `{{ window }}` filled in.

    `{{ variant }}` must stand inside a '...' or "..." literal: anywhere else (bare, in a
    backtick raw string) no escaping could keep a hostile value from becoming PromQL; in a
    comment nothing is filled in. Inside a regex matcher's literal the value is matched literally.
    """
    out: list[str] = []
    quote = ""  # the open string literal's quote, or "" outside one
    regex = False
    i = 0
    while i < len(template):
        c = template[i]
        m = _PLACEHOLDER.match(template, i) if c == "{" else None
        if m is not None:
            name = m.group(1)
            if name == "window":
                out.append(window)
            elif name != "variant":
                raise ValueError(f"unknown placeholder {m.group()}: use {{{{ variant }}}} or {{{{ window }}}}")
            elif quote not in ('"', "'"):
                raise ValueError("{{ variant }} must stand inside a \"...\" string, as in version=\"{{ variant }}\"")
            else:
                out.append(_escape_literal(_RE2_META.sub(r"\\\1", variant) if regex else variant, quote))
            i = m.end()
            continue
        out.append(c)
        if quote and c == "\\" and quote != "`" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 1
        elif quote and c == quote:
            quote = ""
        elif not quote and c in "\"'`":
            quote = c
            regex = "".join(out[:-1]).rstrip().endswith(("=~", "!~"))
        elif not quote and c == "#":  # a comment runs to the end of the line and is copied as it is
            end = template.find("\n", i)
            end = len(template) if end < 0 else end
            out.append(template[i + 1:end])
            i = end
            continue
        i += 1
    if quote:
        raise ValueError(f"unterminated {quote}...{quote} string in the query")
    return "".join(out)


# -- canary.yaml -----------------------------------------------------------------------------


class PromSource(BaseModel):
    """Where one canary metric comes from in Prometheus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(default=None, description=(
        f"Prometheus's base URL (http or https, no credentials); absent: ${URL_ENV}."))
    events: str | None = Field(default=None, description=(
        "Rate metric: PromQL instant query for the variant's events in the window (a whole number)."))
    total: str | None = Field(default=None, description=(
        "Rate metric: PromQL instant query for the variant's runs in the window (a whole number)."))
    query: str | None = Field(default=None, description=(
        "Continuous metric: PromQL range query over the window; every point is one sample."))
    window: str = Field(default="1h", description=(
        "How far back from the decision time the metric looks; `{{ window }}` in a query."))
    step: str = Field(default="1m", description="Continuous metric: the range query's resolution.")
    headers: dict[str, str] = Field(default_factory=dict, description=(
        "HTTP header name -> the environment variable holding its value (never the secret itself)."))
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="Seconds each HTTP request may take.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_url(v, "url")

    @field_validator("window", "step")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, env in v.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"not an HTTP header name: {name!r}")
            if not _ENV_NAME.fullmatch(env):
                raise ValueError(f"headers.{name}: give the name of an environment variable, not its value")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> PromSource:
        rate = self.events is not None or self.total is not None
        if rate == (self.query is not None):
            raise ValueError("give either `events` and `total` (a rate metric) or `query` (a continuous one)")
        if rate and (self.events is None or self.total is None):
            raise ValueError("a rate metric needs both `events` and `total`")
        if rate and "step" in self.model_fields_set:
            raise ValueError("`step` is for a continuous metric's `query`")
        if parse_duration(self.window) / parse_duration(self.step) > MAX_POINTS:
            raise ValueError(f"window / step is more than the {MAX_POINTS} points Prometheus returns a series")
        for name in ("events", "total", "query"):
            text = getattr(self, name)
            if text is None:
                continue
            try:
                probe = render(text, "\x00", self.window)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
            if "\\x00" not in probe:
                raise ValueError(f"{name}: has no {{{{ variant }}}}: baseline and candidate would read the same series")
        return self

    @property
    def kind(self) -> Literal["rate", "continuous"]:
        return "continuous" if self.query is not None else "rate"
