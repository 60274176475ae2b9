from __future__ import annotations

from pathlib import Path

from tests.support import invoke, run_evalloop, write


def test_init_scaffolds_a_valid_repository(repo: Path) -> None:
    for folder in ("prompts", "policies", "tools", "routes", "retrieval", "memory", "topology",
                   "workflows", "fixtures", "incidents"):
        assert (repo / folder).is_dir(), folder
    assert (repo / "evalloop.yaml").read_text().startswith("# evalloop configuration")
    assert "my-team" in (repo / "owners.yaml").read_text()
    proc = run_evalloop("validate", cwd=repo)
    assert proc.returncode == 0, proc.stdout


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
