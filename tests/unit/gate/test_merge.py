"""Shard reports merged: the union of results in selection order, missing shards and fixtures
without a result as no_run, the protection changes' union (unapproved wins), and the reports
that cannot be merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalloop.errors import UsageError
from evalloop.gate.merge import load_shard, merge_reports
from evalloop.model.results import FixtureResult, GateReport, ProtectionChange, Selected, count, decide

SEL = [Selected(id=x, severity="blocking", path=f"fixtures/{x}.yaml", reasons=["r"]) for x in ("a", "b", "c")]


def shard(spec: str | None, *passed: str, protection: list[ProtectionChange] | None = None,
          notes: list[str] | None = None) -> GateReport:
    results = [FixtureResult(id=x, severity="blocking", status="pass") for x in passed]
    return GateReport(verdict=decide(results, protection), base="b", head="h", selected=SEL, results=results,
                      counts=count(results, len(results)), shard=spec, protection_changes=protection or [],
                      notes=notes or [])


def change(kind: str = "removed", approved: bool = False) -> ProtectionChange:
    return ProtectionChange(id="gone", kind=kind, detail="gone", owner="t",  # type: ignore[arg-type]
                            base_path="fixtures/gone.yaml", approved=approved)


def test_results_in_selection_order_and_the_notes_once() -> None:
    merged = merge_reports([shard("2/2", "b", notes=["n1"]), shard("1/2", "c", "a", notes=["n1", "n2"])])
    assert [r.id for r in merged.results] == ["a", "b", "c"]
    assert merged.verdict == "pass" and merged.shard is None and merged.counts.passed == 3
    assert merged.notes == ["n1", "n2"]


def test_a_missing_shard_leaves_its_fixtures_without_a_run() -> None:
    merged = merge_reports([shard("1/3", "a"), shard("3/3", "c")])
    assert merged.notes == ["shard(s) 2/3 missing: their fixtures have no run"]
    b = next(r for r in merged.results if r.id == "b")
    assert (b.status, b.error) == ("no_run", "no shard reported a result for it")
    assert merged.verdict == "block" and merged.counts.selected == 3


def test_shards_of_other_revisions_or_splits_are_not_merged() -> None:
    other = shard("2/2", "b").model_copy(update={"head": "h\x1b[31m"})
    with pytest.raises(UsageError, match=r"shards disagree on the revisions: b\.\.h vs b\.\.h$"):
        merge_reports([shard("1/2", "a"), other])
    with pytest.raises(UsageError, match=r"shards of different splits: \['2', '3'\]"):
        merge_reports([shard("1/2", "a"), shard("2/3", "b")])


def test_protection_changes_are_united_and_an_unapproved_one_wins() -> None:
    merged = merge_reports([shard("1/2", "a", "c", protection=[change(approved=True)]),
                            shard("2/2", "b", protection=[change(), change("narrowed")])])
    assert [(c.kind, c.approved) for c in merged.protection_changes] == [("removed", False), ("narrowed", False)]
    assert merged.notes == ["shards disagree on whether the removed protection change of gone is approved: "
                            "it is treated as not approved"]
    assert merged.verdict == "block"


def test_load_shard_reads_a_report_and_refuses_anything_else(tmp_path: Path) -> None:
    good = tmp_path / "1.json"
    good.write_text(shard("1/1", "a", "b", "c").model_dump_json())
    assert load_shard(good).shard == "1/1"
    bad = tmp_path / "bad.json"
    bad.write_text('{"verdict": "maybe"}')
    with pytest.raises(UsageError, match="not a gate JSON report: verdict: ") as exc:
        load_shard(bad)
    assert exc.value.path == str(bad)
    with pytest.raises(UsageError, match="cannot read shard report: No such file or directory"):
        load_shard(tmp_path / "missing.json")


def test_every_shards_shadow_pairs_are_kept_and_summed_again() -> None:
    from evalloop.model.shadow import ShadowReport
    from evalloop.shadow.compare import judged, pair, summary
    from tests.unit.shadow.test_compare import BYPASS, FIXED, REFUND, run

    one = pair("a", judged(REFUND, run(*FIXED)), judged(REFUND, run(*BYPASS)), severity="blocking")
    two = pair("b", judged(REFUND, run(*FIXED)), judged(REFUND, run(*FIXED, cost=0.002)), severity="blocking")
    shards = [shard("1/2", "a").model_copy(update={"shadow": ShadowReport(baseline="b", candidate="h", pairs=[one],
                                                                          summary=summary([one]))}),
              shard("2/2", "b").model_copy(update={"shadow": ShadowReport(baseline="b", candidate="h", pairs=[two],
                                                                          summary=summary([two]))})]
    merged = merge_reports(shards).shadow
    assert merged is not None and [p.id for p in merged.pairs] == ["a", "b"]
    assert merged.summary == summary([one, two]) and merged.summary.pairs == 2
    assert merge_reports([shard("1/2", "a"), shard("2/2", "b")]).shadow is None
