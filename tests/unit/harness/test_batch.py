"""Many runs through one session: every run handed on as it completes, repeats, skipped items,
failed runs as their HarnessError."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from evalloop.harness.batch import run_batch
from evalloop.harness.channel import HarnessError
from evalloop.harness.protocol import Session
from evalloop.model.config import AgentConfig
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run
from tests.support import write

AGENT = """\
import time


def run(request, tools):
    time.sleep(request["input"].get("sleep_s", 0))
    if request["input"].get("fail"):
        raise RuntimeError("boom")
    return {"stop_reason": "done", "output": str(request["run"])}
"""

Ran = Run | HarnessError


def session(tmp_path: Path) -> Session:
    write(tmp_path / "agent" / "sleepy.py", AGENT)
    return Session(tmp_path, AgentConfig(entrypoint="sleepy:run", python_path=["agent"], timeout_s=20.0), parallel=2)


def fixture(fid: str, runs: int = 1, **given: object) -> Fixture:
    return Fixture.model_validate({"id": fid, "runs": runs, "input": given})


def test_each_run_is_handed_on_by_item_and_run_number(tmp_path: Path) -> None:
    fixtures = {"twice": fixture("twice", runs=2), "broken": fixture("broken", fail=True)}
    prepared: list[str] = []
    handed: list[tuple[str, int, Ran, str]] = []
    lock = threading.Lock()

    def prepare(item: str) -> Fixture | None:
        prepared.append(item)
        return fixtures.get(item)  # "skipped" has nothing to run

    def done(item: str, run_number: int, ran: Ran) -> None:
        with lock:
            handed.append((item, run_number, ran, threading.current_thread().name))

    with session(tmp_path) as s:
        run_batch(s, ["twice", "skipped", "broken"], prepare, done, jobs=2)
    assert sorted(prepared) == ["broken", "skipped", "twice"]
    got = sorted((item, n, ran.output if isinstance(ran, Run) else ran.reason.split(" (")[0])
                 for item, n, ran, _thread in handed)
    assert got == [("broken", 1, "the agent failed: RuntimeError: boom"), ("twice", 1, "1"), ("twice", 2, "2")]
    assert {ran.run_id for _i, _n, ran, _t in handed if isinstance(ran, Run)} == {"twice#1", "twice#2"}
    # in the worker that ran it: the batch's threads, not the caller's
    assert all(thread.startswith("evalloop-run") for *_rest, thread in handed)


def test_a_run_is_handed_on_while_slower_runs_are_still_in_flight(tmp_path: Path) -> None:
    """What lets the caller judge one run while the next ones run."""
    fixtures = {"slow": fixture("slow", sleep_s=1.5), "fast": fixture("fast")}
    handed: list[tuple[str, float]] = []

    with session(tmp_path) as s:
        run_batch(s, ["slow", "fast"], fixtures.get, lambda item, _n, _ran: handed.append((item, time.monotonic())),
                  jobs=2)
    assert [item for item, _at in handed] == ["fast", "slow"]
    assert handed[1][1] - handed[0][1] > 0.5


def test_an_exception_from_the_caller_ends_the_batch(tmp_path: Path) -> None:
    def done(_item: str, _n: int, _ran: Ran) -> None:
        raise ValueError("the caller failed")

    with session(tmp_path) as s, pytest.raises(ValueError, match="the caller failed"):
        run_batch(s, ["one"], lambda _item: fixture("one"), done)
