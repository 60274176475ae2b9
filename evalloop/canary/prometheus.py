"""Metrics from Prometheus for the canary: one metric's PromQL, per variant, over one window.

A rate metric is two instant queries (`events` out of `total` runs, whole numbers for an exact
test); a continuous metric is one range query whose every point is a sample (Mann-Whitney U).
The variant's label value is put into the queries at `{{ variant }}`, escaped for the PromQL
string literal it stands in (and quoted for RE2 after `=~` / `!~`), since a label value is
untrusted text. Whatever Prometheus cannot answer with a usable number is an error or `PromNoData`,
never a zero: the canary holds on missing data, it does not pass it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evalloop import __version__
from evalloop.errors import EvalloopError

URL_ENV = "EVALLOOP_PROMETHEUS_URL"
# Prometheus refuses range queries of more points than this per series.
MAX_POINTS = 11_000
_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNITS_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RE2_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


class PromError(EvalloopError):
    """Prometheus could not be asked or answered with an error: the query, the server, the network."""


class PromNoData(EvalloopError):
    """Prometheus answered, but with no number the canary can use (no series, NaN): hold, never pass."""


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


class PromVariants(BaseModel):
    """The label values `{{ variant }}` stands for: the baseline's and the candidate's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    baseline: str = Field(min_length=1, description="The baseline's label value (e.g. its version, `v41`).")
    candidate: str = Field(min_length=1, description="The candidate's label value (e.g. `v42`).")

    @model_validator(mode="after")
    def _distinct(self) -> PromVariants:
        if self.baseline == self.candidate:
            raise ValueError("baseline and candidate have the same label value: both would read the same series")
        return self


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


# -- asking Prometheus ---------------------------------------------------------------------


@dataclass(frozen=True)
class PromSamples:
    """A continuous metric's samples for one variant, and what was left out of them."""

    values: list[float]
    nan_dropped: int  # steps where the query had no value (0/0 with no traffic, say)
    series: int
    query: str


def base_url(src: PromSource) -> str:
    url = src.url or os.environ.get(URL_ENV)
    if not url:
        raise EvalloopError(f"no Prometheus url: set `url` in the metric's prometheus block or ${URL_ENV}")
    try:
        return check_url(url, "url" if src.url else URL_ENV)
    except ValueError as exc:
        raise EvalloopError(str(exc)) from None


def _headers(src: PromSource) -> dict[str, str]:
    out = {"Accept": "application/json", "User-Agent": f"evalloop/{__version__}"}
    for name, env in src.headers.items():
        value = os.environ.get(env)
        if not value:
            raise EvalloopError(f"Prometheus header {name} needs ${env}, which is not set")
        out[name] = value
    return out


def _timestamp(end: dt.datetime) -> float:
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    return end.timestamp()


def _one_line(query: str) -> str:
    return " ".join(query.split())


def _ask(src: PromSource, endpoint: str, params: dict[str, str], query: str) -> Any:
    """The `data` of a successful API answer; anything else is a PromError naming the query."""
    url = f"{base_url(src)}/api/v1/{endpoint}"
    where = f"prometheus {url} (query: {_one_line(query)})"
    # No proxies, no .netrc and no redirects from the environment: only the configured URL is asked.
    with httpx.Client(timeout=src.timeout_s, follow_redirects=False, trust_env=False) as client:
        try:
            response = client.get(url, params={"query": query, **params}, headers=_headers(src))
        except httpx.HTTPError as exc:
            raise PromError(f"{where}: {type(exc).__name__}: {exc}") from None
    if response.is_redirect:
        raise PromError(f"{where}: answered HTTP {response.status_code} redirecting to "
                        f"{response.headers.get('location', '?')}; no redirect is followed: set url to its address")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
        raise PromError(f"{where}: HTTP {response.status_code}, not a Prometheus API answer: "
                        f"{_one_line(response.text[:200])!r}")
    if body["status"] == "error":
        raise PromError(f"{where}: {body.get('errorType', 'error')}: {body.get('error', '(no message)')}")
    if body.get("warnings"):
        # a partial answer (a federated or remote store that did not respond) must not decide a release
        raise PromError(f"{where}: answered with warnings: {'; '.join(map(str, body['warnings']))}")
    data = body.get("data")
    if response.status_code != 200 or not isinstance(data, dict):
        raise PromError(f"{where}: HTTP {response.status_code} without data")
    return data


def _number(raw: Any, where: str) -> float:
    try:
        return float(raw[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise PromError(f"{where}: not a [time, value] pair: {raw!r}") from None


def instant_value(src: PromSource, template: str, variant: str, end: dt.datetime) -> float:
    """One number: the query evaluated at `end`, a one-series vector or a scalar."""
    query = render(template, variant, src.window)
    data = _ask(src, "query", {"time": f"{_timestamp(end):.3f}"}, query)
    where = f"prometheus query {_one_line(query)}"
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        value = _number(result, where)
    elif kind == "vector" and isinstance(result, list):
        if not result:
            raise PromNoData(f"{where}: no series at {end.isoformat()} (a series that does not exist "
                             "is not a zero: see docs/canary.md)")
        if len(result) > 1:
            labels = ", ".join(str(s.get("metric", {})) for s in result[:3] if isinstance(s, dict))
            raise PromError(f"{where}: {len(result)} series, not one ({labels}...): aggregate it, e.g. with sum()")
        value = _number(result[0].get("value") if isinstance(result[0], dict) else None, where)
    else:
        raise PromError(f"{where}: answered a {kind}, not one number (an instant vector or a scalar)")
    if math.isnan(value):
        raise PromNoData(f"{where}: NaN at {end.isoformat()}")
    return value


def _count(value: float, where: str) -> int:
    if math.isinf(value) or value < 0:
        raise PromError(f"{where}: {value} is not a count")
    n = round(value)
    if abs(value - n) > max(1e-6, 1e-9 * abs(value)):
        raise PromError(f"{where}: {value} is not a whole number; increase() extrapolates between samples: "
                        "wrap the query in round() or subtract `offset {{ window }}`")
    return n


def fetch_counts(src: PromSource, variant_value: str, end: dt.datetime) -> tuple[int, int]:
    """(events, total) for one variant at `end`: the rate metric's two instant queries."""
    if src.events is None or src.total is None:
        raise ValueError("fetch_counts needs a rate metric (events and total)")
    counts, queries = [], []
    for template in (src.events, src.total):
        queries.append(_one_line(render(template, variant_value, src.window)))
        counts.append(_count(instant_value(src, template, variant_value, end), f"prometheus query {queries[-1]}"))
    events, total = counts
    if events > total:
        raise PromError(f"prometheus: {events} events ({queries[0]}) out of {total} runs ({queries[1]}): "
                        "`events` must count a subset of what `total` counts")
    return events, total


def fetch_samples(src: PromSource, variant_value: str, end: dt.datetime) -> PromSamples:
    """Every point of the range query over [end - window, end] for one variant: the samples."""
    if src.query is None:
        raise ValueError("fetch_samples needs a continuous metric (query)")
    query = render(src.query, variant_value, src.window)
    stop = _timestamp(end)
    start = stop - parse_duration(src.window)
    data = _ask(src, "query_range", {"start": f"{start:.3f}", "end": f"{stop:.3f}",
                                     "step": f"{parse_duration(src.step):g}"}, query)
    where = f"prometheus query {_one_line(query)}"
    if data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise PromError(f"{where}: answered a {data.get('resultType')}, not a range of points")
    values: list[float] = []
    nan = infinite = 0
    for series in data["result"]:
        if not isinstance(series, dict) or "histograms" in series:
            raise PromError(f"{where}: a series without plain values (a native histogram? use histogram_quantile)")
        for point in series.get("values") or []:
            value = _number(point, where)
            if math.isnan(value):
                nan += 1
            elif math.isinf(value):
                infinite += 1
            else:
                values.append(value)
    if infinite:
        # +Inf is real (histogram_quantile above the highest bucket), so dropping it would hide a regression
        raise PromNoData(f"{where}: {infinite} points are infinite (a quantile above the highest histogram "
                         "bucket?); the samples cannot be compared")
    if not values:
        raise PromNoData(f"{where}: no points in the {src.window} before {end.isoformat()}"
                         + (f" ({nan} NaN)" if nan else ""))
    return PromSamples(values=values, nan_dropped=nan, series=len(data["result"]), query=query)

