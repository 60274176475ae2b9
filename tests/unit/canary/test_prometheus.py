"""evalloop/canary/prometheus.py against a real Prometheus holding backfilled metrics of two versions."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from evalloop.canary.prometheus import PromError, PromNoData, fetch_counts, fetch_samples
from evalloop.errors import EvalloopError
from evalloop.model.canary import CanaryConfig
from evalloop.model.prometheus import PromSource, render
from tests.support import PROJECT
from tests.support.prometheus import BASELINE, CANDIDATE, HOSTILE, PromServer, running_prometheus

RUNS = 'sum(increase(agent_runs_total{version="{{ variant }}"}[{{ window }}]))'
ERRORS = 'sum(increase(agent_runs_total{version="{{ variant }}",outcome="tool_error"}[{{ window }}]))'
DENIALS = 'sum(increase(agent_runs_total{version="{{ variant }}",outcome="policy_denial"}[{{ window }}]))'
COST = 'agent_run_cost_usd{version="{{ variant }}"}'
HOUR = 3600


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromServer]:
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as server:
        yield server


def rate(prom: PromServer, events: str = ERRORS, total: str = RUNS, **kw: Any) -> PromSource:
    return PromSource(url=prom.url, events=events, total=total, **kw)


# -- counts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [BASELINE, CANDIDATE, HOSTILE])
def test_counts_of_each_variant_are_what_was_backfilled(prom: PromServer, version: str) -> None:
    expected = (prom.runs(version, "tool_error", HOUR), prom.runs(version, None, HOUR))
    assert fetch_counts(rate(prom), version, prom.end) == expected
    two_hours = (prom.runs(version, "tool_error", 2 * HOUR), prom.runs(version, None, 2 * HOUR))
    assert fetch_counts(rate(prom, window="2h"), version, prom.end) == two_hours


def test_subtracting_the_value_a_window_earlier_counts_exactly_off_the_scrape_times(prom: PromServer) -> None:
    exact = ('sum(agent_runs_total{version="{{ variant }}",outcome="tool_error"}) - '
             'sum(agent_runs_total{version="{{ variant }}",outcome="tool_error"} offset {{ window }})')
    total = ('sum(agent_runs_total{version="{{ variant }}"}) - '
             'sum(agent_runs_total{version="{{ variant }}"} offset {{ window }})')
    src = rate(prom, events=exact, total=total)
    assert fetch_counts(src, CANDIDATE, prom.end - dt.timedelta(seconds=30)) == (
        prom.runs(CANDIDATE, "tool_error", HOUR), prom.runs(CANDIDATE, None, HOUR))


def test_an_extrapolated_fraction_is_refused_and_round_makes_it_a_count(prom: PromServer) -> None:
    off_scrape = prom.end - dt.timedelta(seconds=30)
    with pytest.raises(PromError, match=r"is not a whole number.*round\(\)"):
        fetch_counts(rate(prom), CANDIDATE, off_scrape)
    events, total = fetch_counts(rate(prom, events=f"round({ERRORS})", total=f"round({RUNS})"), CANDIDATE, off_scrape)
    # off by less than the two partial minutes at the window's edges
    assert abs(events - prom.runs(CANDIDATE, "tool_error", HOUR)) <= 2 * 2 * 3
    assert abs(total - prom.runs(CANDIDATE, None, HOUR)) <= 2 * 2 * 13


def test_a_series_that_does_not_exist_is_no_data_not_zero(prom: PromServer) -> None:
    with pytest.raises(PromNoData, match="no series"):
        fetch_counts(rate(prom, events=DENIALS), CANDIDATE, prom.end)
    with pytest.raises(PromNoData, match="no series"):
        fetch_counts(rate(prom), "v40", prom.end)


def test_or_zero_times_total_counts_zero_only_where_the_version_has_runs(prom: PromServer) -> None:
    src = rate(prom, events=f"{DENIALS} or 0 * {RUNS}")
    assert fetch_counts(src, CANDIDATE, prom.end) == (0, prom.runs(CANDIDATE, None, HOUR))
    assert fetch_counts(src, BASELINE, prom.end) == (prom.runs(BASELINE, "policy_denial", HOUR),
                                                     prom.runs(BASELINE, None, HOUR))
    with pytest.raises(PromNoData):
        fetch_counts(src, "v40", prom.end)


def test_nan_is_no_data(prom: PromServer) -> None:
    with pytest.raises(PromNoData, match="NaN"):
        fetch_counts(rate(prom, events=f"{ERRORS} / 0 * 0"), CANDIDATE, prom.end)


@pytest.mark.parametrize(("events", "total", "message"), [
    ('agent_runs_total{version="{{ variant }}"}', RUNS, "series, not one.*sum"),
    ('agent_runs_total{version="{{ variant }}"}[5m]', RUNS, "answered a matrix"),
    (f"-{ERRORS}", RUNS, "is not a count"),
    (f"{ERRORS} / 0", RUNS, "inf is not a count"),
    (RUNS, ERRORS, "events .* out of .* runs .*subset"),
    ('"{{ variant }}"', RUNS, "answered a string, not one number"),
    ('sum(rate(agent_runs_total{version="{{ variant }}"}[5m])', RUNS, "bad_data: .*parse error"),
    ('agent_runs_total{version="{{ variant }}"} + on(version) agent_runs_total', RUNS,
     "execution: .*many-to-many"),
], ids=["two-series", "matrix", "negative", "infinite", "more-events", "string", "parse-error", "execution-error"])
def test_answers_that_are_not_a_count_are_one_line_errors_naming_the_query(
        prom: PromServer, events: str, total: str, message: str) -> None:
    with pytest.raises(PromError, match=message) as err:
        fetch_counts(rate(prom, events=events, total=total), CANDIDATE, prom.end)
    assert "\n" not in str(err.value) and '"v42"' in str(err.value)


# -- samples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [BASELINE, CANDIDATE, HOSTILE])
def test_samples_of_each_variant_are_the_backfilled_points_without_nan(prom: PromServer, version: str) -> None:
    got = fetch_samples(PromSource(url=prom.url, query=COST, window="1h", step="1m"), version, prom.end)
    values, nan = prom.costs(version, HOUR)
    assert got.values == pytest.approx(values)
    assert (got.nan_dropped, got.series) == (nan, 1)
    assert nan > 0 and len(values) + nan == 61


def test_samples_across_series_are_all_points(prom: PromServer) -> None:
    src = PromSource(url=prom.url, query='agent_run_cost_usd{version=~"v41|{{ variant }}"}', window="30m")
    got = fetch_samples(src, CANDIDATE, prom.end)
    assert got.series == 2
    assert sorted(got.values) == pytest.approx(sorted(prom.costs(BASELINE, 1800)[0] + prom.costs(CANDIDATE, 1800)[0]))


def test_no_points_and_infinite_points_are_no_data(prom: PromServer) -> None:
    with pytest.raises(PromNoData, match="no points"):
        fetch_samples(PromSource(url=prom.url, query=COST), "v40", prom.end)
    with pytest.raises(PromNoData, match="no points"):
        fetch_samples(PromSource(url=prom.url, query=COST), CANDIDATE, prom.start - dt.timedelta(hours=2))
    with pytest.raises(PromNoData, match="infinite"):
        fetch_samples(PromSource(url=prom.url, query=f"{COST} / 0"), CANDIDATE, prom.end)
    with pytest.raises(PromError, match=r'bad_data: .*string.* for range query'):
        fetch_samples(PromSource(url=prom.url, query='"{{ variant }}"'), CANDIDATE, prom.end)


# -- escaping --------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", [
    'v42"} or vector(999) or x{a="',
    "v42'} or vector(999) or x{a='",
    'v42\\"} or vector(999) #',
    'v42"}\nor vector(999)',
])
def test_a_hostile_label_value_stays_inside_its_string(prom: PromServer, hostile: str) -> None:
    for template in (RUNS, RUNS.replace('"', "'")):
        with pytest.raises(PromNoData):
            fetch_counts(rate(prom, events=template, total=template), hostile, prom.end)


def test_a_label_value_holding_every_special_character_finds_its_own_series(prom: PromServer) -> None:
    single = rate(prom, events=ERRORS.replace('"', "'"), total=RUNS.replace('"', "'"))
    regex = rate(prom, events=ERRORS.replace("=", "=~", 1), total=RUNS.replace("=", "=~", 1))
    expected = (prom.runs(HOSTILE, "tool_error", HOUR), prom.runs(HOSTILE, None, HOUR))
    for src in (rate(prom), single, regex):
        assert fetch_counts(src, HOSTILE, prom.end) == expected


def test_a_regex_matcher_matches_the_value_literally(prom: PromServer) -> None:
    src = rate(prom, events=ERRORS.replace("=", "=~", 1), total=RUNS.replace("=", "=~", 1))
    assert fetch_counts(src, CANDIDATE, prom.end)[1] == prom.runs(CANDIDATE, None, HOUR)
    for pattern in ("v4.", "v4[12]", ".*", "v41|v42"):
        with pytest.raises(PromNoData):
            fetch_counts(src, pattern, prom.end)


def test_rendering() -> None:
    hostile = 'a"b\'c\\d\ne\x1b.*'
    assert render('x{v="{{variant}}"}', hostile, "1h") == 'x{v="a\\"b\'c\\\\d\\x0ae\\x1b.*"}'
    assert render("x{v='{{ variant }}'}", hostile, "1h") == "x{v='a\"b\\'c\\\\d\\x0ae\\x1b.*'}"
    assert render('x{v=~"{{ variant }}"}', hostile, "1h") == 'x{v=~"a\\"b\'c\\\\\\\\d\\x0ae\\x1b\\\\.\\\\*"}'
    assert render('x{v!~ "{{ variant }}", w="{{ variant }}"}[{{window}}]', "a.b", "5m") == \
        'x{v!~ "a\\\\.b", w="a.b"}[5m]'
    assert render('x{a="q\\"{{ variant }}"} # {{ variant }}\n', "v", "1h") == 'x{a="q\\"v"} # {{ variant }}\n'
    for bad, message in [("x{v={{ variant }}}", "inside"), ("x{v=`{{ variant }}`}", "inside"),
                         ('x{v="{{ version }}"}', "unknown placeholder"), ('x{v="{{ variant }}}', "unterminated")]:
        with pytest.raises(ValueError, match=message):
            render(bad, "v", "1h")


# -- canary.yaml -----------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "message"), [
    ({"query": COST, "events": ERRORS, "total": RUNS}, "either"),
    ({}, "either"),
    ({"events": ERRORS}, "both"),
    ({"events": ERRORS, "total": RUNS, "step": "1m"}, "step"),
    ({"query": "agent_run_cost_usd"}, "no {{ variant }}"),
    ({"query": "agent_run_cost_usd{version={{ variant }}}"}, "inside"),
    ({"query": COST, "window": "1 hour"}, "not a duration"),
    ({"query": COST, "window": "0s"}, "longer than zero"),
    ({"query": COST, "window": "30d", "step": "1m"}, "11000 points"),
    ({"query": COST, "url": "http://user:secret@prometheus:9090"}, "credentials"),
    ({"query": COST, "url": "prometheus:9090"}, "http"),
    ({"query": COST, "headers": {"Authorization": "Bearer abc"}}, "name of an environment variable"),
    ({"query": COST, "timeout_s": 0}, "greater than 0"),
    ({"query": COST, "threshold": 1}, "Extra inputs"),
])
def test_a_bad_source_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        PromSource.model_validate(fields)


@pytest.mark.parametrize("labels", [(None, "v2"), ("v1", "v1")])
def test_a_prometheus_metric_needs_distinct_labels(labels: tuple[str | None, str]) -> None:
    with pytest.raises(ValidationError, match="distinct `label`s"):
        CanaryConfig.model_validate({
            "artifact": "prompts/", "baseline": {"revision": "a", "label": labels[0]},
            "candidate": {"revision": "b", "label": labels[1]}, "steps": [{"weight": 5}],
            "metrics": {"tool_errors": {"allowed": 0.1, "critical": 0.2,
                                        "prometheus": {"events": ERRORS, "total": RUNS}}}})


# -- the connection --------------------------------------------------------------------------


class _Fake(BaseHTTPRequestHandler):
    """Answers every request with the server's `answer` and records its headers."""

    def do_GET(self) -> None:
        status, headers, body = self.server.answer  # type: ignore[attr-defined]
        self.server.seen.append(dict(self.headers))  # type: ignore[attr-defined]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_redirect_is_not_followed(fake: ThreadingHTTPServer) -> None:
    fake.answer = (302, {"Location": "http://elsewhere.example/api/v1/query"}, b"")  # type: ignore[attr-defined]
    with pytest.raises(PromError, match=r"redirecting to http://elsewhere\.example.*no redirect is followed"):
        fetch_counts(PromSource(url=_url(fake), events=ERRORS, total=RUNS), CANDIDATE, dt.datetime.now(dt.UTC))
    assert len(fake.seen) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(("answer", "message"), [
    ((502, {"Content-Type": "text/html"}, b"<html>\n<h1>Bad Gateway</h1>"), "HTTP 502, not a Prometheus API answer"),
    ((200, {}, json.dumps({"status": "success", "warnings": ["store eu-1 did not answer"],
                           "data": {"resultType": "vector", "result": []}}).encode()), "warnings: store eu-1"),
    ((503, {}, json.dumps({"status": "error", "errorType": "timeout", "error": "query timed out"}).encode()),
     "timeout: query timed out"),
])
def test_answers_that_are_not_data_are_errors(fake: ThreadingHTTPServer, answer: Any, message: str) -> None:
    fake.answer = answer  # type: ignore[attr-defined]
    with pytest.raises(PromError, match=message) as err:
        fetch_samples(PromSource(url=_url(fake), query=COST), CANDIDATE, dt.datetime.now(dt.UTC))
    assert "\n" not in str(err.value)


def test_headers_come_from_the_environment(fake: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.answer = (200, {}, json.dumps({"status": "success", "data": {"resultType": "scalar",  # type: ignore[attr-defined]
                                                                      "result": [0, "5"]}}).encode())
    src = PromSource(url=_url(fake), events=ERRORS, total=RUNS, headers={"Authorization": "PROM_AUTH"})
    monkeypatch.delenv("PROM_AUTH", raising=False)
    with pytest.raises(EvalloopError, match=r"Authorization needs \$PROM_AUTH"):
        fetch_counts(src, CANDIDATE, dt.datetime.now(dt.UTC))
    monkeypatch.setenv("PROM_AUTH", "Bearer s3cret")
    assert fetch_counts(src, CANDIDATE, dt.datetime.now(dt.UTC)) == (5, 5)
    assert fake.seen[-1]["Authorization"] == "Bearer s3cret"  # type: ignore[attr-defined]


def test_the_url_may_come_from_the_environment_and_proxies_are_not(
        prom: PromServer, monkeypatch: pytest.MonkeyPatch) -> None:
    src = PromSource(events=ERRORS, total=RUNS)
    monkeypatch.delenv("EVALLOOP_PROMETHEUS_URL", raising=False)
    with pytest.raises(EvalloopError, match="no Prometheus url"):
        fetch_counts(src, CANDIDATE, prom.end)
    monkeypatch.setenv("EVALLOOP_PROMETHEUS_URL", prom.url + "/")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    assert fetch_counts(src, CANDIDATE, prom.end)[0] == prom.runs(CANDIDATE, "tool_error", HOUR)


def test_a_server_that_is_not_there_is_an_error() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Fake) as closed:
        url = _url(closed)
    with pytest.raises(PromError, match="ConnectError"):
        fetch_counts(PromSource(url=url, events=ERRORS, total=RUNS), CANDIDATE, dt.datetime.now(dt.UTC))


def test_end_must_say_its_time_zone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        fetch_counts(PromSource(url="http://127.0.0.1:1", events=ERRORS, total=RUNS), CANDIDATE, dt.datetime.now())


# -- docs/canary.md --------------------------------------------------------------------------

DOC = (PROJECT / "docs" / "canary.md").read_text()


@pytest.mark.parametrize("model", [PromSource], ids=lambda m: m.__name__)
def test_every_field_is_documented_with_its_description(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        row = rf"^\| `{re.escape(name)}` \|.*\| {re.escape(field.description)} \|$"
        assert re.search(row, DOC, re.M), f"{model.__name__}.{name}: no row with its description in docs/canary.md"


def _blocks(data: Any, key: str) -> Iterator[Any]:
    if isinstance(data, dict):
        for k, v in data.items():
            if k == key:
                yield v
            yield from _blocks(v, key)
    elif isinstance(data, list):
        for v in data:
            yield from _blocks(v, key)


def test_the_example_is_valid(prom: PromServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    example = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", DOC.split("## Prometheus")[1], re.S)[0])
    config = CanaryConfig.model_validate(example)  # the whole example is a valid canary.yaml
    sources = [PromSource.model_validate(b) for b in _blocks(example, "prometheus")]
    assert sorted(s.kind for s in sources) == ["continuous", "rate", "rate"]
    # and the queries work, against the test's Prometheus
    monkeypatch.setenv("PROMETHEUS_AUTHORIZATION", "Bearer x")
    for src in sources:
        local = src.model_copy(update={"url": prom.url})
        for version in (config.baseline.label, config.candidate.label):
            assert version is not None
            if local.kind == "rate":
                assert fetch_counts(local, version, prom.end)[1] == prom.runs(version, None, 3600)
            else:
                assert len(fetch_samples(local, version, prom.end).values) > 100


# -- evalloop canary with its metrics in Prometheus ------------------------------------------


def test_the_canary_decides_on_metrics_read_from_prometheus(prom: PromServer, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import invoke

    monkeypatch.chdir(tmp_path)
    (tmp_path / "canary.yaml").write_text(yaml.safe_dump({
        "artifact": "routes/refund.yaml", "baseline": {"revision": "a", "label": BASELINE},
        "candidate": {"revision": "b", "label": CANDIDATE}, "steps": [{"weight": 5, "min_samples": 100}],
        "metrics": {
            "tool_errors": {"allowed": 0.05, "critical": 0.10, "prometheus": {"url": prom.url, "events": ERRORS,
                                                                               "total": f"round({RUNS})"}},
            "cost": {"type": "continuous", "allowed": 0.10, "critical": 0.5, "min_samples": 30,
                     "prometheus": {"url": prom.url, "query": 'agent_run_cost_usd{version="{{ variant }}"}'}},
        }}))
    for side in ("base", "cand"):  # the runs themselves are not needed: every metric is in Prometheus
        (tmp_path / f"{side}.yaml").write_text("kind: evalloop.canary-summary\nruns: 500\n")
    result = invoke("canary", "--baseline", "base.yaml", "--candidate", "cand.yaml", "--format", "json",
                    "--now", prom.end.strftime("%Y-%m-%dT%H:%M:%S%z"))
    report = json.loads(result.output)
    assert result.exit_code == 1 and report["decision"] == "rollback", report
    metrics = {m["name"]: m for m in report["metrics"]}
    errors = metrics["tool_errors"]
    assert errors["status"] == "critical"
    # the counts are the backfilled series', each variant's own
    assert errors["comparison"]["candidate"]["total"] == prom.runs(CANDIDATE, None, 3600)
    assert errors["comparison"]["baseline"]["events"] == round(
        fetch_counts(rate(prom), BASELINE, prom.end)[0])
    costs, _ = prom.costs(CANDIDATE, 3600)
    assert metrics["cost"]["comparison"]["candidate"]["n"] == len(costs)
    assert metrics["cost"]["status"] in ("fail", "critical")
