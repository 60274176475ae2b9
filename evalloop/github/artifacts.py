"""The gate's reports as the Action's workflows upload them: Actions artifacts, read through the REST API.

`evalloop metrics --github OWNER/REPO` lists the repository's artifacts of one name
(`evalloop-report`, what docs/workflows/ upload: report.json, report.md, gate.log,
pull-request.json), downloads each zip and reads the gate's JSON report out of it.

An artifact is untrusted input (a fork's pull request run uploads it): the zip is read in
memory, never extracted; member names that climb out of the archive, oversized members and
archives, and too many members are refused; the report must be a gate report with its
`schema_version` and `timestamp`. A bad artifact stops the command with its id (fail closed:
a report skipped silently would leave the gate data incomplete, and a broken one is no pass).
Expired artifacts (GitHub's retention) are skipped and counted.

The download answers 302 with a pre-signed Location (GitHub's docs): that one redirect is
followed only to an https URL (or, for a test server, the API's own host), and without the
Authorization header, which stays with the API host.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import httpx
from pydantic import ValidationError

from evalloop import __version__
from evalloop.errors import EvalloopError
from evalloop.github.api import GitHubClient, GitHubError, next_link
from evalloop.metrics.ledger import MAX_REPORT_BYTES, record_of
from evalloop.model.metrics import GateRecord
from evalloop.model.results import GateReport
from evalloop.repo import parse
from evalloop.text import clean

REPORT_ARTIFACT = "evalloop-report"  # the name docs/workflows/evalloop-fork-gate.yml uploads
REPORT_MEMBER = "report.json"  # the Action's JSON report in its report directory
NOT_REPORTS = frozenset({"pull-request.json"})  # beside the report, for the workflow_run pattern
MAX_ARCHIVE_BYTES = 64 << 20
MAX_MEMBER_BYTES = MAX_REPORT_BYTES
MAX_MEMBERS = 1000
MAX_PAGES = 100  # 10,000 artifacts: a broken Link header, not a real repository's retention


@dataclass(frozen=True)
class Artifact:
    id: int
    name: str
    size: int
    expired: bool
    run_id: int | None

    @property
    def label(self) -> str:
        run = f", run {self.run_id}" if self.run_id is not None else ""
        return clean(f"GitHub artifact {self.id} ({self.name}{run})")


@dataclass
class Fetched:
    records: list[GateRecord] = field(default_factory=list)
    artifacts: int = 0  # read, not expired
    expired: int = 0


class BadArtifact(EvalloopError):
    """An artifact that is not a readable gate report; the message names it."""


def list_artifacts(client: GitHubClient, name: str) -> Iterator[Artifact]:
    """Every artifact of the repository named `name` (expired ones included), following `next` links."""
    url: str | None = client.repo_path("/actions/artifacts")
    params: dict[str, Any] | None = {"name": name, "per_page": 100}
    api_host = httpx.URL(client.api_url).host
    for _ in range(MAX_PAGES):
        response = client.request("GET", url or "", params=params)
        body = response.json()
        items = body.get("artifacts") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise GitHubError("other", "the artifacts list has no `artifacts` array", method="GET",
                              path=response.url.path)
        for item in items:
            artifact = _artifact(item)
            if artifact is not None and artifact.name == name:  # `name` filters exactly; check anyway
                yield artifact
        url = next_link(response)
        if url is None:
            return
        if httpx.URL(url).host != api_host:
            # The token goes with every request: never follow a link off the API host.
            raise GitHubError("other", f"pagination link leaves the API host: {url}", method="GET",
                              path=response.url.path)
        params = None  # the next link carries its own query


def _artifact(item: Any) -> Artifact | None:
    if not isinstance(item, dict) or type(item.get("id")) is not int or not isinstance(item.get("name"), str):
        return None
    run = item.get("workflow_run")
    run_id = run.get("id") if isinstance(run, dict) else None
    size = item.get("size_in_bytes")
    return Artifact(id=item["id"], name=item["name"], size=size if type(size) is int else 0,
                    expired=item.get("expired") is not False, run_id=run_id if type(run_id) is int else None)


def download(client: GitHubClient, artifact: Artifact, *, max_bytes: int = MAX_ARCHIVE_BYTES) -> bytes:
    """The artifact's zip: the API's 302, then the pre-signed blob URL without the token."""
    if artifact.size > max_bytes:
        raise BadArtifact(f"{artifact.label}: {artifact.size} bytes, over the {max_bytes >> 20} MiB limit")
    response = client.request("GET", client.repo_path(f"/actions/artifacts/{artifact.id}/zip"), redirect_ok=True)
    if not response.is_redirect:
        # GitHub documents only the 302; a 200 here would be the zip itself (a proxy that follows it).
        return _bounded(response.content, artifact, max_bytes)
    location = response.headers.get("location", "")
    blob = httpx.URL(response.url.join(location)) if location else None
    api = httpx.URL(client.api_url)
    if blob is None or not (blob.scheme == "https" or (blob.host == api.host and blob.port == api.port)):
        raise BadArtifact(f"{artifact.label}: the download redirects to {location or 'nowhere'!r}, "
                          "not an https URL: not followed")
    try:
        with httpx.Client(transport=client.transport, follow_redirects=False,
                          timeout=httpx.Timeout(60.0, connect=10.0),
                          headers={"User-Agent": f"evalloop/{__version__}"}) as http, \
                http.stream("GET", blob) as blob_response:
            if not blob_response.is_success:
                raise BadArtifact(f"{artifact.label}: the blob URL answered HTTP {blob_response.status_code}")
            chunks, total = [], 0
            for chunk in blob_response.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise BadArtifact(f"{artifact.label}: the zip is over the {max_bytes >> 20} MiB limit")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise GitHubError("network", f"{type(exc).__name__}: {exc}", method="GET", path=blob.path) from None
    return b"".join(chunks)


def _bounded(data: bytes, artifact: Artifact, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise BadArtifact(f"{artifact.label}: the zip is over the {max_bytes >> 20} MiB limit")
    return data


def _safe_name(name: str) -> bool:
    """A member name that stays inside the archive (never extracted, but a climbing name is a forged zip)."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return False
    return ".." not in PurePosixPath(name).parts


def report_member(data: bytes, label: str, *, max_member: int = MAX_MEMBER_BYTES) -> tuple[str, bytes]:
    """(name, bytes) of the gate's JSON report in a zip: `report.json`, else its only other `.json`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise BadArtifact(f"{label}: not a zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BadArtifact(f"{label}: {len(infos)} members, over the limit of {MAX_MEMBERS}")
        for info in infos:
            if not _safe_name(info.filename):
                raise BadArtifact(clean(f"{label}: member name {info.filename!r} leaves the archive"))
        files = [i for i in infos if not i.is_dir()]
        chosen = [i for i in files if i.filename == REPORT_MEMBER]
        if not chosen:
            chosen = [i for i in files if i.filename.lower().endswith(".json")
                      and PurePosixPath(i.filename).name not in NOT_REPORTS]
        if len(chosen) != 1:
            names = ", ".join(sorted(i.filename for i in chosen)) or "none"
            raise BadArtifact(clean(f"{label}: no single gate report in the zip ({REPORT_MEMBER} or one "
                                    f"other .json; found {names})"))
        info = chosen[0]
        if info.file_size > max_member:
            raise BadArtifact(clean(f"{label}: {info.filename} is {info.file_size} bytes, over the "
                                    f"{max_member >> 20} MiB limit"))
        try:
            with archive.open(info) as member:
                # zipfile stops at the size the archive states; bound the read all the same.
                body = member.read(max_member + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
            raise BadArtifact(clean(f"{label}: {info.filename} cannot be read ({exc})")) from None
        if len(body) > max_member:
            raise BadArtifact(clean(f"{label}: {info.filename} is over the {max_member >> 20} MiB limit"))
        return info.filename, body


def parse_report(body: bytes, label: str) -> GateReport:
    """A gate report that says it is one: `schema_version` and `timestamp` present, the model valid."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadArtifact(clean(f"{label}: not JSON ({exc})")) from None
    if not isinstance(doc, dict) or doc.get("schema_version") != 1 or not isinstance(doc.get("timestamp"), str):
        raise BadArtifact(f"{label}: not a gate report (no schema_version 1 and timestamp)")
    try:
        return GateReport.model_validate(doc)
    except ValidationError as exc:
        raise BadArtifact(clean(f"{label}: not a gate report: {parse.first_error(exc)}")) from None


def fetch_records(client: GitHubClient, names: list[str]) -> Fetched:
    """Every unexpired artifact of those names, each as its gate ledger line (run id from the artifact)."""
    out = Fetched()
    for name in names:
        for artifact in list_artifacts(client, name):
            if artifact.expired:
                out.expired += 1
                continue
            member, body = report_member(download(client, artifact), artifact.label)
            report = parse_report(body, f"{artifact.label} {member}")
            env = {"GITHUB_RUN_ID": str(artifact.run_id)} if artifact.run_id is not None else {}
            try:
                out.records.append(record_of(report, env))
            except (EvalloopError, ValueError) as exc:
                raise BadArtifact(clean(f"{artifact.label} {member}: {exc}")) from None
            out.artifacts += 1
    return out


def gate_records(repository: str, names: list[str], env: dict[str, str]) -> Fetched:
    """The gate's records from `repository`'s artifacts, with GITHUB_TOKEN and GITHUB_API_URL from `env`."""
    from evalloop.errors import UsageError
    from evalloop.github.api import RetryPolicy

    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError("--github needs a token in GITHUB_TOKEN (`actions: read` on the repository)")
    try:
        client = GitHubClient(env.get("GITHUB_API_URL") or "https://api.github.com", token, repository,
                              policy=RetryPolicy.from_env(env))
    except ValueError as exc:
        raise UsageError(f"--github: {exc}") from None
    with client:
        try:
            return fetch_records(client, names)
        except GitHubError as exc:
            raise EvalloopError(clean(f"reading the gate's artifacts from GitHub ({repository}): {exc}")) from None
        except (ValueError, KeyError, TypeError) as exc:  # a body not of the documented shape
            raise EvalloopError(clean(f"unexpected answer from GitHub ({repository}): {exc!r}")) from None
