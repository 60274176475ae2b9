from __future__ import annotations

import httpx
import pytest

from evalloop.github.api import GitHubClient, GitHubError, RetryPolicy, next_link
from tests.support.github_server import FakeGitHub


def test_link_header_next() -> None:
    header = ('<https://api.github.com/repositories/1/issues/2/comments?page=1>; rel="prev", '
              '<https://api.github.com/repositories/1/issues/2/comments?page=3>; rel="next", '
              '<https://api.github.com/repositories/1/issues/2/comments?page=5>; rel="last"')
    assert next_link(httpx.Response(200, headers={"link": header})) == \
        "https://api.github.com/repositories/1/issues/2/comments?page=3"
    assert next_link(httpx.Response(200, headers={"link": '<https://x/a?page=5>; rel="last"'})) is None
    assert next_link(httpx.Response(200)) is None


def test_pagination_follows_the_link_header_to_the_last_page() -> None:
    gh = FakeGitHub(token="t").start()
    try:
        for i in range(250):
            gh.add_comment(2, f"comment {i}", "octocat")
        with GitHubClient(gh.url, "t", "Codertocat/Hello-World") as client:
            bodies = [c["body"] for c in client.list_issue_comments(2)]
    finally:
        gh.stop()
    assert bodies == [f"comment {i}" for i in range(250)]
    lists = [r for r in gh.requests if r.operation == "issues/list-comments"]
    assert len(lists) == 3 and all(r.path.startswith("/repositories/") for r in lists[1:])
    assert gh.violations == []


def test_pagination_never_leaves_the_api_host() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[], headers={"link": '<https://evil.example/steal?page=2>; rel="next"'})

    client = GitHubClient("https://api.github.com", "t", "o/r", transport=httpx.MockTransport(answer))
    with pytest.raises(GitHubError, match="leaves the API host"):
        list(client.list_issue_comments(1))


def test_network_errors_are_retried_then_reported() -> None:
    calls: list[float] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(1.0)
        raise httpx.ConnectError("connection refused", request=request)

    slept: list[float] = []
    client = GitHubClient("https://api.github.com", "t", "o/r", transport=httpx.MockTransport(refuse),
                          policy=RetryPolicy(retries=3, backoff=0.5, max_wait=1.0), sleep=slept.append)
    with pytest.raises(GitHubError) as info:
        client.create_issue_comment(1, "x")
    assert info.value.kind == "network" and len(calls) == 4 and slept == [0.5, 1.0, 1.0]


def test_retry_policy_from_env() -> None:
    policy = RetryPolicy.from_env({"EVALLOOP_GITHUB_RETRIES": "2", "EVALLOOP_GITHUB_BACKOFF": "oops",
                                   "EVALLOOP_GITHUB_MAX_WAIT": "5"})
    assert (policy.retries, policy.backoff, policy.max_wait) == (2, 1.0, 5.0)
