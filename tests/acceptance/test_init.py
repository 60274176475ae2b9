from __future__ import annotations

from pathlib import Path

import yaml

from evalloop import __version__
from evalloop.schemas import BASE_ID
from tests.support import PROJECT, invoke, run_evalloop, write


def test_init_scaffolds_a_valid_repository(repo: Path) -> None:
    for folder in ("prompts", "policies", "tools", "routes", "retrieval", "memory", "topology",
                   "workflows", "fixtures", "incidents"):
        assert (repo / folder).is_dir(), folder
    for name, schema in (("evalloop.yaml", "config"), ("owners.yaml", "owners"),
                         ("fixtures/example-confirm-before-side-effect.yaml", "fixture")):
        first = (repo / name).read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema={BASE_ID}{schema}.schema.json", name
    assert "my-team" in (repo / "owners.yaml").read_text()
    example = (repo / "fixtures/example-confirm-before-side-effect.yaml").read_text()
    assert "refund" not in example  # about no agent in particular unless asked
    proc = run_evalloop("validate", cwd=repo)
    assert proc.returncode == 0, proc.stdout
    # the hook it configures is the one this project publishes, at this version
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    (entry,) = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"]
    assert entry["rev"] == f"v{__version__}" and [h["id"] for h in entry["hooks"]] == [hooks[0]["id"]]
    workflow = yaml.safe_load((repo / ".github/workflows/evalloop.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0 and steps[-1]["uses"] == f"evalloop/evalloop@v{__version__}"
    assert workflow["permissions"] == {} and workflow["jobs"]["gate"]["permissions"]["pull-requests"] == "write"


def test_init_keeps_an_existing_pre_commit_config_and_says_what_to_add(chdir: Path) -> None:
    write(chdir / ".git/HEAD", "ref: refs/heads/main\n")
    mine = "repos:\n  - repo: local\n    hooks: []\n"
    write(chdir / ".pre-commit-config.yaml", mine)
    result = invoke("init", "--example", "refund")
    assert result.exit_code == 0, result.output
    assert (chdir / ".pre-commit-config.yaml").read_text() == mine
    assert "kept .pre-commit-config.yaml (it exists); add the evalloop-validate hook:" in result.output
    assert "- id: evalloop-validate" in result.output
    assert "approval:required" in (chdir / "fixtures/example-approval-before-refund.yaml").read_text()


def test_init_refuses_to_overwrite_and_writes_nothing(chdir: Path) -> None:
    write(chdir / ".git/HEAD", "ref: refs/heads/main\n")
    write(chdir / "owners.yaml", "# mine\nowners: {me: {}}\n")
    result = invoke("init")
    assert result.exit_code == 1
    assert "owners.yaml already exists; not overwriting" in result.output
    assert (chdir / "owners.yaml").read_text() == "# mine\nowners: {me: {}}\n"
    assert not (chdir / "evalloop.yaml").exists() and not (chdir / "fixtures").exists()


def test_init_from_a_subfolder_targets_the_repository_root(repo: Path) -> None:
    sub = repo / "prompts"
    proc = run_evalloop("init", cwd=sub)
    assert proc.returncode == 1 and "evalloop.yaml already exists" in proc.stderr
    assert not (sub / "evalloop.yaml").exists()
