from __future__ import annotations

import json
from pathlib import Path

from evalloop.verdict import FixtureResult, GateReport, Selected, count, decide
from tests.conftest import invoke


def shard(i: int, n: int, results: list[FixtureResult], selected: list[Selected]) -> GateReport:
    return GateReport(verdict=decide(results), base="b", head="h", selected=selected, results=results,
                      counts=count(results, len(results)), shard=f"{i}/{n}")


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
