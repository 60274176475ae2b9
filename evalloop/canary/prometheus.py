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
from dataclasses import dataclass
from typing import Any

import httpx

from evalloop import __version__
from evalloop.errors import EvalloopError
from evalloop.model.prometheus import URL_ENV, PromSource, check_url, parse_duration, render


class PromError(EvalloopError):
    """Prometheus could not be asked or answered with an error: the query, the server, the network."""


class PromNoData(EvalloopError):
    """Prometheus answered, but with no number the canary can use (no series, NaN): hold, never pass."""


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

