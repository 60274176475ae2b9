"""Loading evalloop.yaml: a typo in a key or a choice says what was meant, whichever command loads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalloop.errors import UsageError
from evalloop.repo.config import load_config


@pytest.mark.parametrize(("text", "expected"), [
    ("fixture: ['evals/*.yaml']\n", "evalloop.yaml:2:1: CFG001 fixture: Extra inputs are not permitted "
     "(did you mean 'fixtures'?)"),
    ("agnet: {command: [x]}\n", "evalloop.yaml:2:1: CFG001 agnet: Extra inputs are not permitted "
     "(did you mean 'agent'?)"),
    ("owners: {fil: team.yaml}\n", "evalloop.yaml:2:10: CFG001 owners.fil: Extra inputs are not permitted "
     "(did you mean 'file'?)"),
    ("defaults: {ownr: a}\n", "(did you mean 'owner'?)"),
    ("agent: {command: [x], timout_s: 3}\n", "(did you mean 'timeout_s'?)"),
    ("owners: {source: codeowner}\n", "owners.source: Input should be 'owners_file' or 'codeowners' "
     "(did you mean 'codeowners'?)"),
    ("artifacts: {promt: ['prompts/**']}\n", "(did you mean 'prompt'?)"),
])
def test_typos_say_what_was_meant(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "evalloop.yaml").write_text("version: 1\n" + text)
    with pytest.raises(UsageError) as exc:
        load_config(tmp_path)
    assert str(exc.value).endswith(expected)


@pytest.mark.parametrize("text", [
    "zzzz: 1\n",  # nothing close
    "trace_mapping: [{attribute: a, type: tool, typo: 1}]\n",  # the close name is already there
    "expiry_warning_days: soon\n",  # not a name at all
])
def test_no_guess_where_there_is_none(tmp_path: Path, text: str) -> None:
    (tmp_path / "evalloop.yaml").write_text("version: 1\n" + text)
    with pytest.raises(UsageError) as exc:
        load_config(tmp_path)
    assert "CFG001" in str(exc.value) and "did you mean" not in str(exc.value)


def test_a_config_read_from_a_revision_says_it_too() -> None:
    """The gate reads the base revision's config from git objects, through the same function."""
    from evalloop.repo.config import config_from_document
    from evalloop.repo.parse import blob_document

    with pytest.raises(UsageError, match=r"evalloop.yaml:1:1: CFG001 fixture: .* \(did you mean 'fixtures'\?\)"):
        config_from_document(blob_document(b"fixture: []\n", "evalloop.yaml"))
