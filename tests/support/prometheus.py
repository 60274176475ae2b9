"""A real Prometheus on 127.0.0.1 holding known metrics for two versions of an agent (and one
with a hostile label value), backfilled with `promtool tsdb create-blocks-from openmetrics`.

The data ends at `end` (a whole minute shortly before now) and reaches back `HOURS` hours, one
sample a minute: counters of runs by outcome and a cost gauge with some NaN points. Queries are
evaluated at `end`, so the answers are exact and independent of when the test runs; the blocks
predate Prometheus's (empty) head and are loaded when it opens its data folder.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HOURS = 4
STEP_S = 60
BASELINE, CANDIDATE = "v41", "v42"
# Everything PromQL and OpenMetrics escape, and a payload that would add a series if it got out
# of its string: a real label value, so escaping it right finds exactly its series.
HOSTILE = 'v9"} or vector(999) or x{a="\\\'\n'
# Runs a minute by outcome; an outcome absent for a version has no series at all.
RUNS_PER_MINUTE: dict[str, dict[str, int]] = {
    BASELINE: {"ok": 10, "tool_error": 1, "policy_denial": 2},
    CANDIDATE: {"ok": 10, "tool_error": 3},
    HOSTILE: {"ok": 5, "tool_error": 2},
}
NAN_EVERY = 7  # every 7th cost point is NaN (no run finished in that minute)


def runs(version: str, outcome: str, i: int) -> int:
    """The runs counter of `version` and `outcome` at the i-th minute: a burst every 4th minute, so
    that increase() extrapolating between samples is not exact by the luck of a straight line."""
    per_minute = RUNS_PER_MINUTE[version][outcome]
    return per_minute * (i + (i + 3) // 4)


def cost(version: str, i: int) -> float:
    """The cost gauge of `version` at the i-th minute."""
    if i % NAN_EVERY == 3:
        return math.nan
    base = {BASELINE: 0.20, CANDIDATE: 0.26, HOSTILE: 1.0}[version]
    return round(base + 0.01 * (i % 5), 4)


@dataclass(frozen=True)
class PromServer:
    url: str
    end: dt.datetime  # the last sample's time
    start: dt.datetime  # the first sample's time

    def minute(self, t: dt.datetime) -> int:
        return int((t - self.start).total_seconds()) // STEP_S

    def runs(self, version: str, outcome: str | None, window_s: int) -> int:
        """Runs (of `outcome`, or all) of `version` counted in the `window_s` seconds before `end`."""
        last = self.minute(self.end)
        outcomes = list(RUNS_PER_MINUTE[version]) if outcome is None else [outcome]
        return sum(runs(version, o, last) - runs(version, o, last - window_s // STEP_S) for o in outcomes)

    def costs(self, version: str, window_s: int) -> tuple[list[float], int]:
        """The cost points a range query over [end - window_s, end] at one a minute sees; NaN counted."""
        last = self.minute(self.end)
        points = [cost(version, i) for i in range(last - window_s // STEP_S, last + 1)]
        return [p for p in points if not math.isnan(p)], sum(math.isnan(p) for p in points)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(start: int, end: int) -> str:
    """The exposition: metric families not interleaved, each series' samples in time order, `# EOF`."""
    minutes = range((end - start) // STEP_S + 1)
    lines = ["# HELP agent_runs Agent runs by outcome.", "# TYPE agent_runs counter"]
    for version, outcomes in RUNS_PER_MINUTE.items():
        for outcome in outcomes:
            lines += [f'agent_runs_total{{version="{_label(version)}",outcome="{outcome}"}} '
                      f"{runs(version, outcome, i)} {start + i * STEP_S}" for i in minutes]
    lines += ["# HELP agent_run_cost_usd Cost of the last finished run.", "# TYPE agent_run_cost_usd gauge"]
    for version in RUNS_PER_MINUTE:
        lines += [f'agent_run_cost_usd{{version="{_label(version)}"}} '
                  f"{'NaN' if math.isnan(cost(version, i)) else cost(version, i)} {start + i * STEP_S}"
                  for i in minutes]
    return "\n".join([*lines, "# EOF", ""])


def binaries() -> tuple[str, str]:
    """prometheus and promtool; skips locally when they are missing, fails in CI (.ci/run installs them)."""
    found = shutil.which("prometheus"), shutil.which("promtool")
    if found[0] and found[1]:
        return found[0], found[1]
    missing = " and ".join(n for n, f in zip(("prometheus", "promtool"), found, strict=True) if not f)
    if os.environ.get("CI"):
        pytest.fail(f"{missing} not installed: .ci/run installs them (apt-get install prometheus)")
    pytest.skip(f"{missing} not installed (Debian: apt-get install --no-install-recommends prometheus)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, deadline_s: float = 90) -> bool:
    """True once /-/ready answers 200; False if Prometheus exited (its port taken, say)."""
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/-/ready", timeout=2, trust_env=False).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"prometheus was not ready within {deadline_s}s:\n{log.read_text()[-2000:]}")


@contextmanager
def running_prometheus(root: Path) -> Iterator[PromServer]:
    prometheus, promtool = binaries()
    end = int(time.time()) // STEP_S * STEP_S - 2 * STEP_S
    start = end - HOURS * 3600
    source, data, config, log = root / "metrics.om", root / "data", root / "prometheus.yml", root / "prometheus.log"
    source.write_text(openmetrics(start, end), encoding="utf-8")
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
                   check=True, capture_output=True, timeout=120)
    # No scrape jobs: nothing but the backfilled blocks is in the database.
    config.write_text("global:\n  evaluation_interval: 1m\n", encoding="utf-8")
    for _ in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [prometheus, f"--config.file={config}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=7d"],
                stdout=out, stderr=subprocess.STDOUT, cwd=root)
        try:
            if _wait_ready(proc, url, log):
                yield PromServer(url=url, end=dt.datetime.fromtimestamp(end, dt.UTC),
                                 start=dt.datetime.fromtimestamp(start, dt.UTC))
                return
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    raise RuntimeError(f"prometheus did not start:\n{log.read_text()[-2000:]}")
