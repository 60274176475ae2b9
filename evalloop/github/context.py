"""What the runner tells a step about its run, and the pull request the run is about.

Read from the GITHUB_* environment and the event payload. For the `workflow_run`
pattern (a second workflow publishing what a fork's pull request run gated), the pull
request's own run leaves a small file beside the report naming the pull request; that
file is untrusted and checked against GitHub before anything is posted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PULL_REQUEST_FILE = "pull-request.json"  # beside the report, for the workflow_run pattern


@dataclass
class PullRequest:
    number: int
    head_sha: str
    fork: bool
    # False when the number came from an artifact another workflow uploaded: it must be
    # checked against GitHub before anything is posted to that pull request.
    trusted: bool = True


@dataclass
class ActionsContext:
    """What the runner tells a step about the run, read from the GITHUB_* environment."""

    env: Mapping[str, str]
    event_name: str = ""
    event: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActionsContext:
        ctx = cls(env=env, event_name=env.get("GITHUB_EVENT_NAME", ""))
        path = env.get("GITHUB_EVENT_PATH", "")
        if path:
            try:
                data = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None
            ctx.event = data if isinstance(data, dict) else {}
        return ctx

    def get(self, name: str, default: str = "") -> str:
        return self.env.get(name, "") or default

    @property
    def server_url(self) -> str:
        return self.get("GITHUB_SERVER_URL", "https://github.com")

    @property
    def run_url(self) -> str:
        server, repo, run = self.server_url, self.get("GITHUB_REPOSITORY"), self.get("GITHUB_RUN_ID")
        return f"{server}/{repo}/actions/runs/{run}" if repo and run else ""


def _full_name(repo: Any) -> str | None:
    return repo.get("full_name") if isinstance(repo, dict) else None


def pull_request(ctx: ActionsContext, report_dir: Path) -> PullRequest | None:
    """The pull request this run is about, from the event, or for `workflow_run` from the
    artifact the pull request's own run left beside the report."""
    pr = ctx.event.get("pull_request")
    if isinstance(pr, dict) and isinstance(pr.get("number"), int):
        head, base = pr.get("head") or {}, pr.get("base") or {}
        head_repo, base_repo = _full_name(head.get("repo")), _full_name(base.get("repo"))
        # A deleted fork has no head repo: treat it as a fork too.
        fork = head_repo is None or head_repo != base_repo
        return PullRequest(pr["number"], str(head.get("sha", "")), fork)
    run = ctx.event.get("workflow_run")
    if ctx.event_name == "workflow_run" and isinstance(run, dict):
        head_sha = str(run.get("head_sha", ""))
        for linked in run.get("pull_requests") or []:
            # GitHub lists the pull requests of the run's own repository (never a fork's).
            if isinstance(linked, dict) and isinstance(linked.get("number"), int) \
                    and (linked.get("head") or {}).get("sha") == head_sha:
                return PullRequest(linked["number"], head_sha, fork=False)
        return _artifact_pull_request(report_dir, head_sha)
    return None


def _artifact_pull_request(report_dir: Path, head_sha: str) -> PullRequest | None:
    try:
        data = json.loads((report_dir / PULL_REQUEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = data.get("number") if isinstance(data, dict) else None
    # bool is an int in Python; an artifact is untrusted, so insist on a plain positive int.
    if type(number) is not int or number <= 0:
        return None
    return PullRequest(number, head_sha, fork=bool(data.get("fork", True)), trusted=False)


def write_pull_request_file(report_dir: Path, pr: PullRequest) -> None:
    if not report_dir.is_dir():
        return
    doc = {"number": pr.number, "head_sha": pr.head_sha, "fork": pr.fork}
    (report_dir / PULL_REQUEST_FILE).write_text(json.dumps(doc) + "\n", encoding="utf-8")
