"""Many fixtures through one `Session`, `jobs` runs at a time, each run handed on as it completes.

The batch yields runs, never verdicts: whoever gives it the fixtures judges each
`Run` (or the `HarnessError` that stands for it), and can do so while other runs
are still in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from evalloop.harness.channel import HarnessError
from evalloop.harness.protocol import Session
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run

T = TypeVar("T")


def run_batch(session: Session, items: Iterable[T], prepare: Callable[[T], Fixture | None],
              done: Callable[[T, int, Run | HarnessError], None], *, jobs: int = 1) -> None:
    """Run each item's fixture `fixture.runs` times, `jobs` runs at a time; return when all are done.

    `prepare` turns an item into the fixture to run, or None for nothing to run;
    it is called in the pool, so the first runs start while later items are still
    being read (loading a fixture file, say). `done` gets each run, by item and
    run number (from 1), as it completes, in the worker that ran it: work it hands
    to another thread (judging) leaves the worker free to start the next run at
    once instead of holding a run slot. An exception from either ends the batch.
    """

    def one(item: T, fixture: Fixture, run_number: int) -> None:
        try:
            ran: Run | HarnessError = session.run(fixture, run_number)
        except HarnessError as exc:
            ran = exc
        done(item, run_number, ran)

    def start(item: T) -> list[Future[None]]:
        fixture = prepare(item)
        if fixture is None:
            return []
        # the repeats go to the back of the queue; the first run goes now, in this worker
        more = [pool.submit(one, item, fixture, n) for n in range(2, fixture.runs + 1)]
        one(item, fixture, 1)
        return more

    # threads, not processes: a run is waiting on its agent process almost all the time
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="evalloop-run") as pool:
        heads = [pool.submit(start, item) for item in items]
        for head in heads:
            for repeat in head.result():
                repeat.result()


__all__ = ["run_batch"]
