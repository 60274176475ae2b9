"""Incident-to-eval conversion, eval catch rate, recurrence and time to regression test, on a real
repository whose history the test wrote."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path

from evalloop.intake.deadline import add_business_days
from evalloop.metrics import compute
from evalloop.metrics.base import Window
from tests.unit.metrics.loop import NOW, Loop, at

MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31), NOW)


def march_loop(tmp_path: Path) -> Loop:
    loop = Loop(tmp_path)
    loop.incident("INC-OLD", opened="2026-02-10", severity="sev3")  # before the window, no fixture
    loop.incident("INC-A", opened="2026-03-02")  # Monday: due Wednesday
    loop.fixture("fx-a", committed="2026-03-03T15:00", incident_id="INC-A")
    loop.incident("INC-B", opened="2026-03-05", severity="sev2")  # Thursday: due Monday 9th
    loop.fixture("fx-b", committed="2026-03-12T09:00", incident_id="INC-B")  # late
    loop.incident("INC-C", opened="2026-03-06", severity="sev4")  # not serious
    loop.incident("INC-D", opened="2026-03-20", severity="blocking")  # never converted: overdue by the 31st
    loop.incident("INC-E", opened="2026-03-25", recurrence_of="INC-OLD")  # repeats an incident nobody captured
    loop.incident("INC-F", opened="2026-03-27", recurrence_of="INC-A")  # repeats a captured one
    return loop


def serious(loop: Loop, w: Window) -> list[dict[str, object]]:
    return [i for i in loop.truth["incidents"] if i["severity"] in ("sev1", "sev2", "blocking")
            and w.start <= i["opened"] < w.end]  # type: ignore[operator]


def first_fixture(loop: Loop, incident_id: str) -> dt.datetime | None:
    times = [f["committed"] for f in loop.truth["fixtures"] if f["incident_id"] == incident_id]
    return min(times) if times else None


def test_conversion_counts_serious_incidents_with_a_fixture(tmp_path: Path) -> None:
    loop = march_loop(tmp_path)
    out = compute.outcome(loop.data(), "incident_to_eval_conversion", MARCH)
    expected = serious(loop, MARCH)
    converted = [i for i in expected if first_fixture(loop, str(i["id"])) is not None]
    assert (out.numerator, out.denominator) == (len(converted), len(expected)) == (2, 5)
    assert out.value == len(converted) / len(expected)
    late = {str(i["id"]) for i in expected
            if (first_fixture(loop, str(i["id"])) or NOW).date()
            > add_business_days(i["opened"].date(), 2)}  # type: ignore[attr-defined]
    assert late == {"INC-B", "INC-D", "INC-E"}  # INC-F (Friday 27th) is due on the 31st: in time
    assert {r.split(" ")[0] for r in out.reasons if "due" in r} == late
    # INC-E repeats INC-OLD and neither has a fixture: block; INC-F's original has one
    assert out.status == "block"
    assert [r for r in out.reasons if "repeats" in r] == ["INC-E repeats INC-OLD and no fixture names either"]


def test_conversion_before_any_fixture_was_late_is_ok(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.incident("INC-A", opened="2026-03-02")
    loop.fixture("fx-a", committed="2026-03-04T17:00", incident_id="INC-A")  # the deadline day itself
    out = compute.outcome(loop.data(), "incident_to_eval_conversion", MARCH)
    assert (out.value, out.status, out.reasons) == (1.0, "ok", [])


def test_conversion_without_incidents_says_what_is_missing(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    (tmp_path / "incidents").rmdir()
    out = compute.outcome(loop.data(), "incident_to_eval_conversion", MARCH)
    assert (out.value, out.status, out.missing) == (None, "no_data", ["incident records (incidents/)"])
    (tmp_path / "incidents").mkdir()
    out = compute.outcome(loop.data(), "incident_to_eval_conversion", MARCH)
    assert out.status == "no_data" and "serious incidents" in out.missing[0]


def test_time_to_regression_test_is_the_median_of_committed_fixtures(tmp_path: Path) -> None:
    loop = march_loop(tmp_path)
    out = compute.outcome(loop.data(), "time_to_regression_test", MARCH)
    hours = [(first_fixture(loop, str(i["id"])) - i["opened"]).total_seconds() / 3600  # type: ignore[operator]
             for i in serious(loop, MARCH) if first_fixture(loop, str(i["id"]))]
    assert out.value == statistics.median(hours) == (39 + 7 * 24 + 9) / 2
    assert out.status == "investigate"
    assert any(r.startswith("INC-B: opened 2026-03-05, first fixture 2026-03-12") for r in out.reasons)
    assert any(r.startswith("INC-D: opened 2026-03-20, still no fixture") for r in out.reasons)


def test_time_to_regression_test_needs_history(tmp_path: Path) -> None:
    loop = march_loop(tmp_path)
    data = loop.data()
    data.history = None
    out = compute.outcome(data, "time_to_regression_test", MARCH)
    assert out.status == "no_data" and out.missing == ["git history (first-parent line of HEAD)"]
    # conversion still counts the work tree's links, and says the deadline was not checked
    conv = compute.outcome(data, "incident_to_eval_conversion", MARCH)
    assert (conv.numerator, conv.denominator) == (2, 5) and "not made" in conv.notes[0]


def test_recurrence_rate_of_known_incidents(tmp_path: Path) -> None:
    loop = march_loop(tmp_path)
    out = compute.outcome(loop.data(), "recurrence_rate", MARCH)
    known = {f["incident_id"] for f in loop.truth["fixtures"]}
    recurred = {i["recurrence_of"] for i in loop.truth["incidents"] if i["recurrence_of"] in known}
    assert (out.numerator, out.denominator) == (len(recurred), len(known)) == (1, 2)
    assert out.status == "investigate" and out.reasons == ["INC-A recurred after its fixture: INC-F"]


def test_catch_rate_counts_gate_catches_against_incidents(tmp_path: Path) -> None:
    loop = march_loop(tmp_path)
    loop.gate("2026-03-10", "h1", [("fx-a", "blocking", "fail")])
    loop.gate("2026-03-10T01:00", "h1", [("fx-a", "blocking", "fail")])  # the same change again: one catch
    loop.gate("2026-03-11", "h2", [("fx-a", "blocking", "pass")])
    loop.gate("2026-03-12", "h3", [("fx-b", "warning", "fail")])
    loop.gate("2026-03-13", "h4", [("fx-b", "exploratory", "fail")])  # exploratory never gates
    loop.gate("2026-03-14", "h5", [("fx-b", "blocking", "error")])  # an error is no catch
    out = compute.outcome(loop.data(), "eval_catch_rate", MARCH)
    catches = {g["head"] for g in loop.truth["gates"]
               if any(st == "fail" and sev != "exploratory" for _i, sev, st in g["results"])}
    escapes = [i for i in loop.truth["incidents"] if MARCH.start <= i["opened"] < MARCH.end]
    assert (out.numerator, out.denominator) == (len(catches), len(catches) + len(escapes)) == (2, 8)
    # no release ledger: 14-day cycles from March 1st; the cycles hold 3, 0 and 3 incidents (C, E, F...)
    assert out.status == "block"
    assert any(r.startswith("INC-F repeats INC-A, whose fixture was on the main line since 2026-03-03")
               and "fx-a on 2026-03-11: pass" in r for r in out.reasons)
    assert sum("reached production in the release cycle" in r for r in out.reasons) == 2


def test_catch_rate_cycles_come_from_promotions(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.incident("INC-1", opened="2026-03-02")
    loop.incident("INC-2", opened="2026-03-03")
    loop.incident("INC-3", opened="2026-03-20")
    loop.release("2026-03-10", "canary", "prompts/a.md", revision="r1", decision="promote")
    loop.gate("2026-03-05", "h1", [("x", "blocking", "fail")])
    out = compute.outcome(loop.data(), "eval_catch_rate", MARCH)
    # two incidents before the promotion on the 10th: one cycle too many; the third is alone in its cycle
    assert out.status == "investigate"
    assert out.reasons == ["2 incidents reached production in the release cycle 2026-03-01..2026-03-09: "
                           "INC-1, INC-2"]


def test_catch_rate_without_a_gate_ledger(tmp_path: Path) -> None:
    loop = march_loop(tmp_path)
    out = compute.outcome(loop.data(), "eval_catch_rate", MARCH)
    assert (out.value, out.status, out.missing) == (None, "no_data", ["gate ledger (ledgers/gates.jsonl)"])


def test_the_window_bounds_what_counts(tmp_path: Path) -> None:
    loop = march_loop(tmp_path)
    early = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 4), NOW)
    out = compute.outcome(loop.data(), "incident_to_eval_conversion", early)
    assert (out.numerator, out.denominator, out.status) == (1, 1, "ok")
    assert at("2026-03-03T15:00") < early.end
