from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from evalloop.errors import EvalloopError, UsageError
from evalloop.github import artifacts
from evalloop.github.api import GitHubClient, GitHubError
from evalloop.model.results import FixtureResult, GateReport, count
from tests.support.github_server import FakeGitHub

REPO = "Codertocat/Hello-World"


def report_json(n: int, status: str = "pass") -> str:
    results = [FixtureResult(id="a", severity="blocking", status=status, runs=2,  # type: ignore[arg-type]
                             passes=1 + (status == "pass"), owner="t")]
    report = GateReport(verdict="pass", head=f"{n % 10}" * 40, results=results, counts=count(results, 1),
                        timestamp=f"2026-03-{10 + n:02d}T10:00:00Z")
    return report.model_dump_json(indent=2)


def zipped(members: dict[str, str | bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, body in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 3, 1, 0, 0, 0)), body, compress_type=compression)
    return buf.getvalue()


def report_zip(n: int, status: str = "pass") -> bytes:
    # What the Action's report directory holds, uploaded as the evalloop-report artifact.
    return zipped({"report.json": report_json(n, status), "report.md": "## evalloop\n", "gate.log": "ok\n",
                   "pull-request.json": '{"number": 7, "head_sha": "x", "fork": true}'})


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    server = FakeGitHub(token="t").start()
    try:
        yield server
    finally:
        server.stop()
    assert server.violations == []


def client(gh: FakeGitHub) -> GitHubClient:
    return GitHubClient(gh.url, "t", REPO)


def test_listing_follows_pages_and_keeps_only_the_name(gh: FakeGitHub) -> None:
    ids = [gh.add_artifact("evalloop-report", report_zip(n % 20))["id"] for n in range(230)]
    gh.add_artifact("coverage", b"zip")
    with client(gh) as c:
        found = list(artifacts.list_artifacts(c, "evalloop-report"))
    assert sorted(a.id for a in found) == sorted(ids)
    lists = [r for r in gh.requests if r.operation == "actions/list-artifacts-for-repo"]
    assert len(lists) == 3 and lists[0].query["name"] == ["evalloop-report"]
    assert all(r.path.startswith("/repositories/") and r.query["name"] == ["evalloop-report"] for r in lists[1:])


def test_reports_are_read_expired_ones_skipped_and_no_token_reaches_the_blob(gh: FakeGitHub) -> None:
    gh.add_artifact("evalloop-report", report_zip(1), run_id=501)
    gh.add_artifact("evalloop-report", report_zip(2, "flaky"), run_id=502)
    gh.add_artifact("evalloop-report", b"not even a zip", expired=True)
    with client(gh) as c:
        fetched = artifacts.fetch_records(c, ["evalloop-report"])
    assert (fetched.artifacts, fetched.expired) == (2, 1)
    assert sorted((r.run_id, r.results[0].status) for r in fetched.records) == [("501", "pass"), ("502", "flaky")]
    downloads = [r for r in gh.requests if r.operation == "actions/download-artifact"]
    assert [r.status for r in downloads] == [302, 302]
    blobs = gh.blob_requests()
    assert len(blobs) == 2 and all("authorization" not in r.headers for r in blobs)


def test_a_redirect_off_https_is_not_followed(gh: FakeGitHub) -> None:
    gh.add_artifact("evalloop-report", report_zip(1))
    gh.artifact_location = "http://blobs.example/zip?sig=1"
    with client(gh) as c, pytest.raises(artifacts.BadArtifact, match="not an https URL: not followed"):
        artifacts.fetch_records(c, ["evalloop-report"])
    assert gh.blob_requests() == []


def test_an_https_redirect_is_followed_without_the_token() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.github.com" and request.url.path.endswith("/actions/artifacts"):
            return httpx.Response(200, json={"total_count": 1, "artifacts": [
                {"id": 9, "name": "evalloop-report", "size_in_bytes": 10, "expired": False,
                 "workflow_run": {"id": 77}}]})
        if request.url.host == "api.github.com":
            return httpx.Response(302, headers={"location": "https://blobs.example/9.zip?sig=abc"})
        return httpx.Response(200, content=report_zip(3))

    with GitHubClient("https://api.github.com", "secret", "o/r", transport=httpx.MockTransport(answer)) as c:
        fetched = artifacts.fetch_records(c, ["evalloop-report"])
    assert [r.run_id for r in fetched.records] == ["77"]
    blob = seen[-1]
    assert blob.url.host == "blobs.example" and "authorization" not in blob.headers
    assert all(r.headers["authorization"] == "Bearer secret" for r in seen[:-1])


@pytest.mark.parametrize("name", ["../report.json", "/etc/report.json", "a/../../report.json", "C:report.json",
                                  "sub\\..\\report.json"])
def test_a_member_name_that_climbs_out_is_refused(name: str) -> None:
    with pytest.raises(artifacts.BadArtifact, match="leaves the archive"):
        artifacts.report_member(zipped({"report.json": report_json(1), name: "{}"}), "GitHub artifact 5")


def test_an_oversized_member_is_refused_even_when_its_header_lies() -> None:
    big = b'{"x": "' + b"a" * 5000 + b'"}'
    with pytest.raises(artifacts.BadArtifact, match="over the"):
        artifacts.report_member(zipped({"report.json": big}), "GitHub artifact 5", max_member=1000)
    # A zip bomb: 40 MiB of zeros in a few KiB of archive, refused before it is inflated.
    bomb = zipped({"report.json": b"\0" * (40 << 20)})
    assert len(bomb) < 100_000
    with pytest.raises(artifacts.BadArtifact, match=r"report.json is 41943040 bytes, over the 32 MiB limit"):
        artifacts.report_member(bomb, "GitHub artifact 5")


def test_the_archive_itself_is_bounded(gh: FakeGitHub) -> None:
    gh.add_artifact("evalloop-report", report_zip(1) + b"\0" * 4096)
    with client(gh) as c:
        art = next(artifacts.list_artifacts(c, "evalloop-report"))
        with pytest.raises(artifacts.BadArtifact, match=f"GitHub artifact {art.id} .*over the"):
            artifacts.download(c, art, max_bytes=1024)


@pytest.mark.parametrize(("body", "why"), [
    ('{"total_count": 3}', "no schema_version 1 and timestamp"),
    (json.dumps({**json.loads(report_json(1)), "timestamp": None}), "no schema_version 1 and timestamp"),
    (json.dumps({**json.loads(report_json(1)), "schema_version": 2}), "no schema_version 1 and timestamp"),
    (json.dumps({**json.loads(report_json(1)), "verdict": "maybe"}), "not a gate report: "),
    ("[1, 2", "not JSON"),
])
def test_a_json_that_is_not_a_gate_report_stops_with_the_artifact_id(gh: FakeGitHub, body: str, why: str) -> None:
    gh.add_artifact("evalloop-report", report_zip(1))
    bad = gh.add_artifact("evalloop-report", zipped({"report.json": body}), run_id=4242)
    with client(gh) as c, pytest.raises(EvalloopError) as info:
        artifacts.fetch_records(c, ["evalloop-report"])
    message = str(info.value)
    assert message.startswith(f"GitHub artifact {bad['id']} (evalloop-report, run 4242) report.json: ")
    assert why in message and "\n" not in message


def test_which_member_is_the_report() -> None:
    # A shard's artifact holds only its JSON report, under its own name.
    name, _ = artifacts.report_member(zipped({"shard-2.json": report_json(1)}), "a")
    assert name == "shard-2.json"
    with pytest.raises(artifacts.BadArtifact, match=r"no single gate report .*found a.json, b.json"):
        artifacts.report_member(zipped({"a.json": "{}", "b.json": "{}"}), "a")
    with pytest.raises(artifacts.BadArtifact, match="found none"):
        artifacts.report_member(zipped({"gate.log": "could not run", "pull-request.json": "{}"}), "a")
    with pytest.raises(artifacts.BadArtifact, match="not a zip archive"):
        artifacts.report_member(b"PK nonsense", "a")


def test_github_errors_and_a_missing_token_are_one_line(gh: FakeGitHub) -> None:
    env = {"GITHUB_API_URL": gh.url, "EVALLOOP_GITHUB_RETRIES": "0"}
    with pytest.raises(UsageError, match="GITHUB_TOKEN"):
        artifacts.gate_records(REPO, ["evalloop-report"], env)
    gh.fail("GET", "actions/list-artifacts-for-repo", 404)
    with pytest.raises(EvalloopError, match=r"^reading the gate's artifacts from GitHub .*HTTP 404: Not Found$"):
        artifacts.gate_records(REPO, ["evalloop-report"], {**env, "GITHUB_TOKEN": "t"})
    with pytest.raises(UsageError, match="not an owner/repo"):
        artifacts.gate_records("not a repo", ["evalloop-report"], {**env, "GITHUB_TOKEN": "t"})


def test_a_pagination_link_off_the_api_host_is_not_followed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"total_count": 0, "artifacts": []},
                              headers={"link": '<https://evil.example/steal?page=2>; rel="next"'})

    c = GitHubClient("https://api.github.com", "t", "o/r", transport=httpx.MockTransport(answer))
    with pytest.raises(GitHubError, match="leaves the API host"):
        list(artifacts.list_artifacts(c, "evalloop-report"))
