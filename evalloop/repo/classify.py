"""Which kind of file a repository path is: the one path -> kind rule the gate and validate share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from evalloop.model.config import CONFIG_FILE, Config
from evalloop.model.kinds import CONVENTIONAL_FOLDERS
from evalloop.model.quarantine import QUARANTINE_FILE
from evalloop.repo.globs import Globs, compile_globs


@dataclass
class Classifier:
    """Path -> kind, the one classifier: config globs first, then the conventional folders."""

    config: Config
    _rules: list[tuple[Globs, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for kind, globs in self.config.artifacts.items():
            self._rules.append((compile_globs(tuple(globs)), kind))
        self._rules.append((compile_globs(tuple(self.config.fixtures)), "fixture"))
        self._rules.append((compile_globs((*self.config.run_all_on, *agent_code_globs(self.config))), "harness"))

    def role(self, path: str) -> Literal["config", "owners", "quarantine"] | None:
        """Which of evalloop's own files `path` is, if any."""
        if path == CONFIG_FILE:
            return "config"
        if path == self.config.owners.file:
            return "owners"
        return "quarantine" if path == QUARANTINE_FILE else None

    def kind(self, path: str) -> str:
        """The kind a change of `path` is (evalloop's own files are all `config`)."""
        if self.role(path) is not None:
            return "config"
        for globs, kind in self._rules:
            if globs.matches(path):
                return kind
        if path.startswith(self.config.incidents_dir.rstrip("/") + "/"):
            return "incident"
        for folder, kind in CONVENTIONAL_FOLDERS.items():
            if path.startswith(folder):
                return kind
        return "other"


def agent_code_globs(config: Config) -> list[str]:
    """The agent's own code (its `python_path` folders): when it changes, every fixture runs."""
    if config.agent is None:
        return []
    out = []
    for folder in config.agent.python_path:
        folder = folder.replace("\\", "/").strip("/")
        while folder.startswith("./"):
            folder = folder[2:]
        # anchored at the root (leading slash), whatever depth; "." is the root itself
        out.append("/**/*.py" if folder in ("", ".") else f"/{folder}/**/*.py")
    return out
