from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import git
import pytest

from tests.support import invoke
from tests.support.gitrepo import commit_all, write_files

FIX = "owner: t\nseverity: {sev}\ninput: {{user_message: hi}}\n"
BASE_FILES = {
    "evalloop.yaml": "version: 1\n",
    "owners.yaml": "owners: {t: {}}\n",
    "fixtures/f-prompt.yaml": "id: f-prompt\ngates: [prompt]\n" + FIX.format(sev="blocking"),
    "fixtures/f-policy.yaml": "id: f-policy\ngates: [policy]\nscope: {paths: [policies/refund.yaml]}\n"
    + FIX.format(sev="blocking"),
    "fixtures/f-route.yaml": "id: f-route\ngates: [model_route]\nscope: {routes: [refund_assist]}\n"
    + FIX.format(sev="warning"),
    "fixtures/f-all.json": json.dumps({"id": "f-all", "owner": "t", "severity": "exploratory"}),
    "prompts/refund.md": "Be careful with refunds.\n",
    "policies/refund.yaml": "# refund policy\nrefund_threshold: 500\ncurrency: EUR\n",
    "policies/shipping.yaml": "max_days: 5\n",
    "routes/refund_assist.yaml": "route: refund_assist\nmodel: small-1\n",
    "routes/billing.yaml": "route: billing\nmodel: small-1\n",
    "README.md": "docs\n",
}


@pytest.fixture
def grepo(chdir: Path) -> tuple[git.Repo, str]:
    repo = git.Repo.init(chdir, initial_branch="main")
    write_files(chdir, BASE_FILES)
    base = commit_all(repo, "base")
    repo.git.checkout("-b", "change")
    return repo, base


def gate_json(base: str, *extra: str) -> dict[str, object]:
    result = invoke("gate", "--base", base, "--select-only", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def selected_ids(report: dict[str, object]) -> list[str]:
    return sorted(s["id"] for s in report["selected"])  # type: ignore[attr-defined, index]


def test_policy_key_change_selects_gated_and_scoped(grepo: tuple[git.Repo, str], chdir: Path) -> None:
    repo, base = grepo
    write_files(chdir, {"policies/refund.yaml": "# refund policy\nrefund_threshold: 50\ncurrency: EUR\n"})
    commit_all(repo, "lower threshold")
    report = gate_json(base)
    assert report["changed"] == [{"path": "policies/refund.yaml", "kind": "policy", "status": "modified",
                                  "old_path": None, "keys": ["refund_threshold"]}]
    assert selected_ids(report) == ["f-all", "f-policy"]
    assert report["behaviours"] == {"policy": ["denial tests", "approval tests", "canary monitoring"]}
    f_policy = next(s for s in report["selected"] if s["id"] == "f-policy")  # type: ignore[attr-defined]
    assert "policies/refund.yaml [refund_threshold] modified (policy)" in f_policy["reasons"][0]


def test_unrelated_artifact_selects_only_what_it_can_affect(grepo: tuple[git.Repo, str], chdir: Path) -> None:
    repo, base = grepo
    write_files(chdir, {"policies/shipping.yaml": "max_days: 7\n", "routes/billing.yaml":
                        "route: billing\nmodel: small-2\n", "README.md": "more docs\n"})
    commit_all(repo, "shipping and billing")
    report = gate_json(base)
    assert selected_ids(report) == ["f-all"]
    kinds = {c["path"]: c["kind"] for c in report["changed"]}  # type: ignore[attr-defined]
    assert kinds == {"README.md": "other", "policies/shipping.yaml": "policy", "routes/billing.yaml": "model_route"}
    why = invoke("gate", "--base", base, "--explain", "f-route").output
    assert "scope.routes ['refund_assist'] does not cover route(s) ['billing'] in routes/billing.yaml" in why
    why = invoke("gate", "--base", base, "--explain", "f-policy").output
    assert "scope.paths ['policies/refund.yaml'] does not cover policies/shipping.yaml" in why
    assert "f-prompt is not selected" in invoke("gate", "--base", base, "--explain", "f-prompt").output


def test_route_change_selects_scoped_route_fixture(grepo: tuple[git.Repo, str], chdir: Path) -> None:
    repo, base = grepo
    write_files(chdir, {"routes/refund_assist.yaml": "route: refund_assist\nmodel: big-2\n"})
    commit_all(repo, "upgrade model")
    report = gate_json(base)
    assert selected_ids(report) == ["f-all", "f-route"]
    assert report["changed"][0]["keys"] == ["model"]  # type: ignore[index]


def test_rename_delete_and_mode_change(grepo: tuple[git.Repo, str], chdir: Path) -> None:
    repo, base = grepo
    repo.git.mv("prompts/refund.md", "prompts/refunds.md")
    repo.git.rm("policies/shipping.yaml")
    os.chmod(chdir / "routes/billing.yaml", 0o755)
    commit_all(repo, "rename, delete, chmod")
    report = gate_json(base)
    by_path = {c["path"]: c for c in report["changed"]}  # type: ignore[attr-defined]
    assert by_path["prompts/refunds.md"]["status"] == "renamed"
    assert by_path["prompts/refunds.md"]["old_path"] == "prompts/refund.md"
    assert by_path["policies/shipping.yaml"]["status"] == "deleted"
    assert by_path["routes/billing.yaml"]["status"] == "mode_changed"
    assert "f-prompt" in selected_ids(report)


def test_changed_fixture_and_config_selection(grepo: tuple[git.Repo, str], chdir: Path) -> None:
    repo, base = grepo
    write_files(chdir, {"fixtures/f-new.yaml": "id: f-new\ngates: [memory_rule]\n" + FIX.format(sev="blocking")})
    commit_all(repo, "new fixture")
    report = gate_json(base)
    assert selected_ids(report) == ["f-new"]
    write_files(chdir, {"evalloop.yaml": "version: 1\nexpiry_warning_days: 7\n"})
    commit_all(repo, "config")
    report = gate_json(base)
    assert selected_ids(report) == ["f-all", "f-new", "f-policy", "f-prompt", "f-route"]


def test_merge_base_not_base_tip(grepo: tuple[git.Repo, str], chdir: Path) -> None:
    repo, base = grepo
    write_files(chdir, {"prompts/refund.md": "Be very careful.\n"})
    commit_all(repo, "prompt change")
    repo.git.checkout("main")
    write_files(chdir, {"policies/refund.yaml": "refund_threshold: 1\n"})
    main_tip = commit_all(repo, "main moves on")
    repo.git.checkout("change")
    report = gate_json(main_tip)
    assert report["merge_base"] == base
    assert [c["path"] for c in report["changed"]] == ["prompts/refund.md"]  # type: ignore[attr-defined]


def test_missing_base_runs_everything_and_says_so(grepo: tuple[git.Repo, str], chdir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")  # in CI; outside it a base that names no commit is a usage error
    report = gate_json("origin/nope")
    assert len(selected_ids(report)) == 4
    assert "revision 'origin/nope' not found" in report["notes"][0]  # type: ignore[index]
    assert "Ran every fixture instead" in report["notes"][0]  # type: ignore[index]


def test_shallow_clone_without_merge_base(grepo: tuple[git.Repo, str], chdir: Path, tmp_path_factory:
                                          pytest.TempPathFactory) -> None:
    repo, _base = grepo
    for i in range(3):
        write_files(chdir, {"prompts/refund.md": f"v{i}\n"})
        commit_all(repo, f"c{i}")
    clone = tmp_path_factory.mktemp("shallow") / "c"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "change", f"file://{chdir}", str(clone)],
                   check=True)
    subprocess.run(["git", "fetch", "-q", "--depth", "1", "origin", "main:main"], cwd=clone, check=True)
    os.chdir(clone)
    report = gate_json("main")
    assert "fetch-depth: 0" in report["notes"][0]  # type: ignore[index]
    assert len(selected_ids(report)) == 4


def test_head_other_than_checkout_uses_a_worktree(grepo: tuple[git.Repo, str], chdir: Path) -> None:
    repo, base = grepo
    write_files(chdir, {"fixtures/f-new.yaml": "id: f-new\n" + FIX.format(sev="blocking")})
    head = commit_all(repo, "new fixture")
    repo.git.checkout("main")
    report = gate_json(base, "--head", head)
    assert selected_ids(report) == ["f-new"]
    assert repo.git.worktree("list").count("\n") == 0  # the temporary worktree is gone


def test_shard_partitions_selection() -> None:
    from evalloop.gate.shard import shard
    from evalloop.model.results import Selected

    sel = [Selected(id=f"f{i:02d}", severity="blocking", path=f"f{i}.yaml", reasons=["r"]) for i in range(11)]
    parts = [shard(sel, i, 3) for i in (1, 2, 3)]
    assert sorted(s.id for p in parts for s in p) == sorted(s.id for s in sel)
    assert [len(p) for p in parts] == [4, 4, 3]
    assert shard(list(reversed(sel)), 2, 3) == parts[1]


def test_usage_errors(grepo: tuple[git.Repo, str]) -> None:
    assert invoke("gate", "--base", "main", "--shard", "4/3").exit_code == 2
    result = invoke("gate", "--base", "main", "--head", "nope")
    assert result.exit_code == 2 and "--head revision 'nope' not found" in result.output
