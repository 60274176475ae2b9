"""A small client for the parts of GitHub's REST API the Action publishes to.

Issue comments (list, create, update), check runs (create, update), the pull request
(to check a `workflow_run` artifact against the real head) and the token's own user.
Requests carry the headers GitHub documents (`Accept: application/vnd.github+json`,
`X-GitHub-Api-Version: 2022-11-28`, a bearer token, a User-Agent). Server errors,
429 and rate-limited 403s are retried with capped exponential backoff; a 403 that is
not a rate limit (the read-only token of a fork pull request) is not: retrying a
permission error only burns the rate limit.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from evalloop import __version__

API_VERSION = "2022-11-28"
ErrorKind = Literal["forbidden", "unauthorized", "not_found", "invalid", "rate_limited", "server", "network",
                    "other"]


class GitHubError(Exception):
    """A request GitHub refused or could not answer, after any retries."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None,
                 method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        code = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{where}{code}{self.message}"


@dataclass
class RetryPolicy:
    """How long to keep trying. `max_wait` caps one wait: when GitHub asks for a longer
    one (a rate limit that resets in an hour), we stop and report instead of hanging the job."""

    retries: int = 4
    backoff: float = 1.0
    max_wait: float = 60.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> RetryPolicy:
        env = dict(os.environ) if env is None else env
        policy = cls()
        # Tests and impatient users shrink the waits; bad values fall back to the defaults.
        for name, attr, conv in (("EVALLOOP_GITHUB_RETRIES", "retries", int),
                                 ("EVALLOOP_GITHUB_BACKOFF", "backoff", float),
                                 ("EVALLOOP_GITHUB_MAX_WAIT", "max_wait", float)):
            raw = env.get(name, "").strip()
            if raw:
                try:
                    value = conv(raw)
                except ValueError:
                    continue
                if value >= 0:
                    setattr(policy, attr, value)
        return policy


@dataclass
class Attempt:
    """One request as sent and answered, for the log and the tests."""

    method: str
    path: str
    status: int | None
    waited: float = 0.0


@dataclass
class GitHubClient:
    api_url: str
    token: str
    repository: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time
    attempts: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", self.repository):
            raise ValueError(f"not an owner/repo name: {self.repository!r}")
        self._http = httpx.Client(
            base_url=self.api_url.rstrip("/"),
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "Authorization": f"Bearer {self.token}",
                "User-Agent": f"evalloop/{__version__}",
            },
            timeout=httpx.Timeout(30.0, connect=10.0),
            transport=self.transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints -------------------------------------------------------------------

    def repo_path(self, suffix: str) -> str:
        return f"/repos/{self.repository}{suffix}"

    def get_pull(self, number: int) -> dict[str, Any]:
        data: dict[str, Any] = self.request("GET", self.repo_path(f"/pulls/{number}")).json()
        return data

    def list_issue_comments(self, number: int) -> Iterator[dict[str, Any]]:
        """Every comment of the issue or pull request, following the Link header's `next`."""
        url: str | None = self.repo_path(f"/issues/{number}/comments")
        params: dict[str, Any] | None = {"per_page": 100}
        pages = 0
        while url is not None:
            response = self.request("GET", url, params=params)
            yield from response.json()
            url = next_link(response)
            if url is not None and httpx.URL(url).host != self._http.base_url.host:
                # The token goes with every request: never follow a link off the API host.
                raise GitHubError("other", f"pagination link leaves the API host: {url}", method="GET",
                                  path=response.url.path)
            params = None  # the next link carries its own query
            pages += 1
            if pages >= 100:  # 10,000 comments: a broken Link header, not a real thread
                break

    def create_issue_comment(self, number: int, body: str) -> dict[str, Any]:
        data: dict[str, Any] = self.request(
            "POST", self.repo_path(f"/issues/{number}/comments"), json={"body": body}).json()
        return data

    def update_issue_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        data: dict[str, Any] = self.request(
            "PATCH", self.repo_path(f"/issues/comments/{comment_id}"), json={"body": body}).json()
        return data

    def create_check_run(self, payload: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self.request("POST", self.repo_path("/check-runs"), json=payload).json()
        return data

    def update_check_run(self, check_run_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self.request(
            "PATCH", self.repo_path(f"/check-runs/{check_run_id}"), json=payload).json()
        return data

    # -- transport ---------------------------------------------------------------------

    def request(self, method: str, url: str, *, json: Any = None, params: dict[str, Any] | None = None,
                redirect_ok: bool = False) -> httpx.Response:
        """Send one request, retrying what GitHub says is worth retrying. With `redirect_ok` a 3xx
        answer is returned (a download's pre-signed Location), never followed with the token."""
        path = httpx.URL(url).path if url.startswith("http") else url
        waited = 0.0
        attempt = 0
        while True:
            try:
                response = self._http.request(method, url, json=json, params=params)
            except httpx.RequestError as exc:  # connection, timeout, protocol and decoding failures
                self.attempts.append(Attempt(method, path, None, waited))
                error = GitHubError("network", f"{type(exc).__name__}: {exc}", method=method, path=path)
                wait: float | None = self._backoff(attempt)
            else:
                self.attempts.append(Attempt(method, path, response.status_code, waited))
                if response.is_success or (redirect_ok and response.is_redirect):
                    return response
                error = _error(response, method, path)
                wait = self._retry_wait(response, error, attempt)
            if wait is None or attempt >= self.policy.retries:
                raise error
            self.sleep(wait)
            waited = wait
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return float(min(self.policy.backoff * 2.0 ** attempt, self.policy.max_wait))

    def _retry_wait(self, response: httpx.Response, error: GitHubError, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when retrying cannot help.

        GitHub's guidance: honour `retry-after`; when `x-ratelimit-remaining` is 0, wait
        until `x-ratelimit-reset`; otherwise back off exponentially."""
        if error.kind not in ("rate_limited", "server"):
            return None
        headers = response.headers
        retry_after = _number(headers.get("retry-after"))
        if retry_after is not None:
            return retry_after if retry_after <= self.policy.max_wait else None
        if headers.get("x-ratelimit-remaining") == "0":
            reset = _number(headers.get("x-ratelimit-reset"))
            if reset is not None:
                wait = max(reset - self.now(), 0.0) + 1.0  # its clock and ours differ by up to a second
                return wait if wait <= self.policy.max_wait else None
        return self._backoff(attempt)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no message"
    if isinstance(body, dict):
        message = str(body.get("message") or response.reason_phrase)
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            details = "; ".join(str(e.get("message") or e.get("code")) if isinstance(e, dict) else str(e)
                                for e in errors[:3])
            message += f" ({details})"
        return message
    return response.reason_phrase or "no message"


def is_rate_limited(response: httpx.Response, message: str) -> bool:
    """A primary limit says so in its headers; a secondary one may only say so in its message."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    return (response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers
            or "rate limit" in message.lower())


def _error(response: httpx.Response, method: str, path: str) -> GitHubError:
    message = _message(response)
    status = response.status_code
    kind: ErrorKind
    if is_rate_limited(response, message):
        kind = "rate_limited"
    elif status >= 500:
        kind = "server"
    elif status == 401:
        kind = "unauthorized"
    elif status == 403:
        kind = "forbidden"
    elif status in (404, 410):
        kind = "not_found"
    elif status == 422:
        kind = "invalid"
    else:
        kind = "other"
    return GitHubError(kind, message, status=status, method=method, path=path)


def next_link(response: httpx.Response) -> str | None:
    """The `rel="next"` URL of the response's Link header, as GitHub paginates; None on the last page."""
    url = response.links.get("next", {}).get("url")
    return url or None


def pull_request_labels(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """The labels of the pull request an Actions job runs for, from its event payload.

    The payload is GitHub's snapshot at the event: a workflow that lets a label approve
    something must also run on `labeled` and `unlabeled` (docs/protection.md)."""
    import json

    if environ.get("GITHUB_EVENT_NAME") not in ("pull_request", "pull_request_target"):
        return []
    try:
        with open(environ.get("GITHUB_EVENT_PATH", ""), "rb") as f:
            event = json.loads(f.read(16 << 20))
        labels = event["pull_request"]["labels"]
        return [lab["name"] for lab in labels if isinstance(lab, dict) and isinstance(lab.get("name"), str)]
    except (OSError, ValueError, KeyError, TypeError):
        return []
