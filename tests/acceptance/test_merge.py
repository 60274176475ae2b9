from __future__ import annotations

import json
from pathlib import Path

from evalloop.model.results import FixtureResult, GateReport, ProtectionChange, Selected, count, decide
from tests.support import invoke


def shard(i: int, n: int, results: list[FixtureResult], selected: list[Selected],
          protection: list[ProtectionChange] | None = None) -> GateReport:
    return GateReport(verdict=decide(results, protection), base="b", head="h", selected=selected, results=results,
                      counts=count(results, len(results)), shard=f"{i}/{n}", protection_changes=protection or [])


SEL = [Selected(id=x, severity="blocking", path=f"fixtures/{x}.yaml", reasons=["r"]) for x in ("a", "b", "c")]


def write(tmp_path: Path, name: str, r: GateReport) -> str:
    p = tmp_path / name
    p.write_text(r.model_dump_json())
    return str(p)


def test_merge_all_shards_pass(tmp_path: Path) -> None:
    s1 = write(tmp_path, "1.json", shard(1, 2, [FixtureResult(id="a", severity="blocking", status="pass"),
                                                FixtureResult(id="c", severity="blocking", status="pass")], SEL))
    s2 = write(tmp_path, "2.json", shard(2, 2, [FixtureResult(id="b", severity="blocking", status="pass")], SEL))
    result = invoke("merge", s1, s2, "--format", "json")
    assert result.exit_code == 0, result.output
    merged = json.loads(result.output)
    assert merged["verdict"] == "pass" and [r["id"] for r in merged["results"]] == ["a", "b", "c"]
    assert merged["counts"]["passed"] == 3 and merged["shard"] is None


def test_missing_shard_blocks(tmp_path: Path) -> None:
    s1 = write(tmp_path, "1.json", shard(1, 2, [FixtureResult(id="a", severity="blocking", status="pass"),
                                                FixtureResult(id="c", severity="blocking", status="pass")], SEL))
    result = invoke("merge", s1, "--format", "json")
    assert result.exit_code == 1
    merged = json.loads(result.output)
    assert merged["verdict"] == "block"
    assert "shard(s) 2/2 missing" in merged["notes"][0]
    assert {r["id"]: r["status"] for r in merged["results"]}["b"] == "no_run"


def test_merge_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"verdict": "maybe"}')
    result = invoke("merge", str(bad))
    assert result.exit_code == 2 and "not a gate JSON report" in result.output


def change(fid: str, kind: str = "removed", approved: bool = False) -> ProtectionChange:
    return ProtectionChange(id=fid, kind=kind, detail=f"{fid} {kind}", owner="support-platform",  # type: ignore[arg-type]
                            base_path=f"fixtures/{fid}.yaml", approved=approved,
                            approval="label 'evalloop-approved'" if approved else None)


def passing(*ids: str) -> list[FixtureResult]:
    return [FixtureResult(id=x, severity="blocking", status="pass") for x in ids]


def test_merge_carries_protection_changes_and_they_block(tmp_path: Path) -> None:
    gone = change("gone")
    s1 = write(tmp_path, "1.json", shard(1, 2, passing("a", "c"), SEL, [gone, change("gone", "narrowed")]))
    s2 = write(tmp_path, "2.json", shard(2, 2, passing("b"), SEL, [gone, change("other", "downgraded")]))
    result = invoke("merge", s1, s2, "--format", "json")
    assert result.exit_code == 1, result.output
    merged = json.loads(result.output)
    assert merged["verdict"] == "block" and merged["counts"]["passed"] == 3
    assert [(c["id"], c["kind"]) for c in merged["protection_changes"]] == [
        ("gone", "removed"), ("gone", "narrowed"), ("other", "downgraded")]
    text = invoke("merge", s1, s2, "--format", "text").output
    assert text.startswith("evalloop gate: BLOCK: 3 protection changes need approval")


def test_merge_with_approved_protection_changes_passes(tmp_path: Path) -> None:
    ok = change("gone", approved=True)
    s1 = write(tmp_path, "1.json", shard(1, 2, passing("a", "c"), SEL, [ok]))
    s2 = write(tmp_path, "2.json", shard(2, 2, passing("b"), SEL, [ok]))
    result = invoke("merge", s1, s2, "--format", "json")
    assert result.exit_code == 0, result.output
    merged = json.loads(result.output)
    assert merged["verdict"] == "pass" and merged["protection_changes"][0]["approved"] is True


def test_shards_disagreeing_on_an_approval_fail_closed(tmp_path: Path) -> None:
    s1 = write(tmp_path, "1.json", shard(1, 2, passing("a", "c"), SEL, [change("gone", approved=True)]))
    s2 = write(tmp_path, "2.json", shard(2, 2, passing("b"), SEL, [change("gone")]))
    result = invoke("merge", s1, s2, "--format", "json")
    assert result.exit_code == 1
    merged = json.loads(result.output)
    assert [c["approved"] for c in merged["protection_changes"]] == [False]
    assert any("shards disagree" in n for n in merged["notes"])


def test_merge_error_cleans_revisions_from_shard_files(tmp_path: Path) -> None:
    evil = shard(2, 2, passing("b"), SEL).model_copy(update={"head": "h\x1b]0;pwned\x07"})
    s1 = write(tmp_path, "1.json", shard(1, 2, passing("a", "c"), SEL))
    s2 = write(tmp_path, "2.json", evil)
    result = invoke("merge", s1, s2)
    assert result.exit_code == 2 and "shards disagree on the revisions" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
