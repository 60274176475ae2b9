"""A local stand-in for GitHub's REST API, held to GitHub's own API description.

Every request is checked against `tests/data/github-openapi` (the dereferenced
OpenAPI description of api.github.com): the method and path must be a documented
operation, path and query parameters must have the documented types, the JSON body
must validate against the operation's requestBody schema, and the headers GitHub
asks clients to send must be there. What does not conform is recorded in
`violations` (and answered as GitHub would, 404/400/401), so a test can assert none.

Answers are the documented example bodies with ids, bodies, users and URLs filled in,
themselves validated against the documented response schemas. The server keeps
comment and check-run state, paginates with a Link header the way GitHub does (URLs
by repository id), and can be told to fail: a read-only token (fork pull request),
404, 422, 5xx once or always, 429 with retry-after, 403 with x-ratelimit-remaining 0.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jsonschema

from tests.support import DATA

SPEC_PATH = DATA / "github-openapi" / "api.github.com.subset.deref.json"
API_VERSION = "2022-11-28"
DOCS = "https://docs.github.com/rest"


# -- the API description --------------------------------------------------------------------


def to_json_schema(schema: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: `nullable` becomes a null alternative; examples go."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: to_json_schema(v) for k, v in schema.items()
           if k not in ("nullable", "example", "examples", "x-github", "discriminator", "readOnly",
                        "writeOnly", "deprecated", "xml", "externalDocs")}
    if "properties" in schema:
        out["properties"] = {k: to_json_schema(v) for k, v in schema["properties"].items()}
    if schema.get("nullable"):
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return {"anyOf": [out, {"type": "null"}]}
    return out


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
        raise ValueError(f"{value!r} is not an ISO 8601 date-time")
    return True


@dataclass
class Operation:
    method: str
    template: str
    regex: re.Pattern[str]
    op: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.op["operationId"])

    def parameters(self, where: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.op.get("parameters", []) if p["in"] == where}

    def body_schema(self) -> Any | None:
        body = self.op.get("requestBody")
        if not body:
            return None
        return to_json_schema(body["content"]["application/json"]["schema"])

    def body_required(self) -> bool:
        return bool((self.op.get("requestBody") or {}).get("required"))

    def response(self, status: int) -> tuple[Any | None, Any | None]:
        """(schema, first example) documented for a status."""
        resp = self.op["responses"].get(str(status))
        if resp is None:
            return None, None
        content = resp.get("content", {}).get("application/json", {})
        examples = content.get("examples") or {}
        example = next(iter(examples.values()))["value"] if examples else None
        schema = content.get("schema")
        return (to_json_schema(schema) if schema is not None else None), example


class Spec:
    def __init__(self, path: Path = SPEC_PATH) -> None:
        doc = json.loads(path.read_text(encoding="utf-8"))
        self.operations: list[Operation] = []
        for template, item in doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            for method, op in item.items():
                if method in ("get", "post", "patch", "put", "delete"):
                    self.operations.append(Operation(method.upper(), template, re.compile(pattern), op))

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], bool]:
        """(operation, path params, whether the path exists for some other method)."""
        exists = False
        for op in self.operations:
            m = op.regex.match(path)
            if m:
                exists = True
                if op.method == method:
                    return op, m.groupdict(), True
        return None, {}, exists

    def operation(self, operation_id: str) -> Operation:
        return next(op for op in self.operations if op.id == operation_id)


def _typed(value: str, schema: dict[str, Any]) -> Any:
    if schema.get("type") == "integer":
        return int(value)  # ValueError for a non-integer
    return value


# -- faults ---------------------------------------------------------------------------------


@dataclass
class Fault:
    method: str
    operation: str  # operationId, e.g. "issues/create-comment"; "*" for any
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: always

    def matches(self, method: str, op: Operation) -> bool:
        return (self.method in ("*", method)) and self.operation in ("*", op.id) and self.times != 0


def forbidden_integration(doc: str = "issues/comments#create-an-issue-comment") -> dict[str, Any]:
    """GitHub's answer to a write with the read-only token of a fork pull request."""
    return {"message": "Resource not accessible by integration", "documentation_url": f"{DOCS}/{doc}",
            "status": "403"}


# -- the server -----------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    operation: str | None
    status: int = 0
    at: float = 0.0


class FakeGitHub:
    def __init__(self, *, token: str = "ghs_test-token", owner: str = "Codertocat", repo: str = "Hello-World",
                 repository_id: int = 186853002, bot_login: str = "github-actions[bot]") -> None:
        self.spec = Spec()
        self.token = token
        self.owner, self.repo, self.repository_id = owner, repo, repository_id
        self.bot_login = bot_login
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.read_only = False
        self.comments: dict[int, dict[str, Any]] = {}
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.pulls: dict[int, dict[str, Any]] = {}
        self.artifacts: dict[int, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}  # the pre-signed blob URLs' paths and their zips
        self.artifact_location: str | None = None  # a download's Location instead of this server's blob path
        self._ids = iter(range(1_000_001, 10_000_000))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeGitHub:
        handler = type("Handler", (_Handler,), {"github": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- scripting --

    def fail(self, method: str, operation: str, status: int, body: dict[str, Any] | None = None, *,
             headers: dict[str, str] | None = None, times: int | None = 1) -> None:
        default = {"message": {404: "Not Found", 422: "Validation Failed", 500: "Server Error",
                               502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error"),
                   "documentation_url": DOCS}
        self.faults.append(Fault(method, operation, status, body or default, headers or {}, times))

    def rate_limited(self, method: str, operation: str, *, retry_after: int | None = None,
                     reset_in: int | None = None, status: int = 403, times: int | None = 1) -> None:
        """A primary (x-ratelimit-remaining 0) or secondary (retry-after) rate limit."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
            message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        else:
            headers["x-ratelimit-remaining"] = "0"
            headers["x-ratelimit-reset"] = str(int(time.time()) + (reset_in if reset_in is not None else 3600))
            message = f"API rate limit exceeded for installation ID {self.repository_id}."
        self.fail(method, operation, status, {"message": message, "documentation_url":
                                              f"{DOCS}/overview/rate-limits-for-the-rest-api"},
                  headers=headers, times=times)

    def add_pull(self, number: int, head_sha: str) -> None:
        _, example = self.spec.operation("pulls/get").response(200)
        pull = copy.deepcopy(example)
        pull["number"] = number
        pull["head"]["sha"] = head_sha
        for team in pull.get("requested_teams") or []:
            team.setdefault("type", "organization")  # the documented example predates this required field
        self.pulls[number] = pull

    def add_artifact(self, name: str, archive: bytes, *, expired: bool = False,
                     run_id: int | None = None) -> dict[str, Any]:
        """An Actions artifact holding the zip `archive`, from the documented example's shape."""
        _, example = self.spec.operation("actions/list-artifacts-for-repo").response(200)
        with self.lock:
            aid = next(self._ids)
            artifact = copy.deepcopy(example["artifacts"][0])
            api = f"https://api.github.com/repos/{self.owner}/{self.repo}/actions/artifacts/{aid}"
            artifact.update({"id": aid, "node_id": f"MDg6QXJ0aWZhY3Q{aid}", "name": name,
                             "size_in_bytes": len(archive), "url": api, "archive_download_url": f"{api}/zip",
                             "expired": expired})
            artifact["workflow_run"].update({"id": run_id or next(self._ids), "repository_id": self.repository_id,
                                             "head_repository_id": self.repository_id})
            self.artifacts[aid] = artifact
            self.blobs[f"/_blobs/{aid}/{secrets.token_hex(8)}"] = archive
            return artifact

    def blob_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.operation == "blob"]

    def add_comment(self, issue: int, body: str, login: str, *, created_at: str | None = None) -> dict[str, Any]:
        with self.lock:
            return self._new_comment(issue, body, login, created_at)

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["_issue"] == issue]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    # -- state --

    def _user(self, login: str) -> dict[str, Any]:
        _, example = self.spec.operation("issues/get-comment").response(200)
        user = copy.deepcopy(example["user"])
        bot = login.endswith("[bot]")
        user.update({"login": login, "id": 41898282 if bot else 21031067, "type": "Bot" if bot else "User",
                     "url": f"https://api.github.com/users/{login}", "html_url": f"https://github.com/{login}"})
        return user

    def _new_comment(self, issue: int, body: str, login: str, created_at: str | None = None) -> dict[str, Any]:
        _, example = self.spec.operation("issues/create-comment").response(201)
        cid = next(self._ids)
        now = created_at or _now()
        comment = copy.deepcopy(example)
        comment.update({
            "id": cid, "node_id": f"IC_kwDO{cid}", "body": body, "user": self._user(login),
            "url": f"https://api.github.com/repos/{self.owner}/{self.repo}/issues/comments/{cid}",
            "html_url": f"https://github.com/{self.owner}/{self.repo}/pull/{issue}#issuecomment-{cid}",
            "issue_url": f"https://api.github.com/repos/{self.owner}/{self.repo}/issues/{issue}",
            "created_at": now, "updated_at": now,
            "author_association": "NONE" if login.endswith("[bot]") else "CONTRIBUTOR",
        })
        comment["_issue"] = issue
        self.comments[cid] = comment
        return comment


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's signature)
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- plumbing --

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        gh = self.github
        rec: Recorded | None = getattr(self, "_rec", None)
        if rec is not None:
            rec.status = status  # before the client can see the answer
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        all_headers = {
            "content-type": "application/json; charset=utf-8",
            "x-github-api-version-selected": API_VERSION,
            "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4990", "x-ratelimit-used": "10",
            "x-ratelimit-reset": str(int(time.time()) + 3600), "x-ratelimit-resource": "core",
            "x-github-request-id": f"0000:{len(gh.requests):04X}:TEST",
        }
        all_headers.update(headers or {})
        for k, v in all_headers.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        rec: Recorded | None = getattr(self, "_rec", None)
        if rec is not None:
            rec.status = status
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _violation(self, text: str) -> None:
        self.github.violations.append(f"{self.command} {self.path}: {text}")

    def _handle(self) -> None:
        gh = self.github
        split = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        with gh.lock:
            rec = Recorded(self.command, split.path, parse_qs(split.query, keep_blank_values=True),
                           {k.lower(): v for k, v in self.headers.items()}, None, None, at=time.monotonic())
            gh.requests.append(rec)
            self._rec = rec
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._violation("body is not JSON")
                    self._send(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
                    return
            rec.body = body
            self._dispatch(rec, split.path)

    def _dispatch(self, rec: Recorded, path: str) -> None:
        gh = self.github
        if path in gh.blobs:
            # The pre-signed blob URL a download redirects to: not the API, and no token may reach it.
            rec.operation = "blob"
            if "authorization" in rec.headers:
                self._violation("the Authorization header was sent to the pre-signed blob URL")
            self._send_bytes(200, gh.blobs[path], "application/zip")
            return
        # GitHub's Link headers address repositories by id; both forms reach the same operation.
        alias = f"/repositories/{gh.repository_id}/"
        if path.startswith(alias):
            path = f"/repos/{gh.owner}/{gh.repo}/" + path[len(alias):]
        problems = self._check_headers(rec)
        if rec.headers.get("authorization") != f"Bearer {gh.token}":
            self._violation("wrong or missing Authorization: Bearer token")
            self._send(401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"})
            return
        op, params, exists = gh.spec.match(rec.method, path)
        if op is None:
            self._violation("no such operation in GitHub's API description"
                            + (" (path exists for another method)" if exists else ""))
            self._send(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})
            return
        rec.operation = op.id
        problems += self._check_params(op, params, rec)
        problems += self._check_body(op, rec)
        if problems:
            for p in problems:
                self._violation(f"{op.id}: {p}")
            self._send(400, {"message": "; ".join(problems), "documentation_url": DOCS})
            return
        if params.get("owner", "").lower() != gh.owner.lower() or params.get("repo", "").lower() != gh.repo.lower():
            self._send(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})
            return
        for fault in gh.faults:
            if fault.matches(rec.method, op):
                if fault.times is not None:
                    fault.times -= 1
                self._send(fault.status, fault.body, fault.headers)
                return
        if gh.read_only and rec.method != "GET":
            doc = "checks/runs#create-a-check-run" if op.id.startswith("checks/") else \
                "issues/comments#create-an-issue-comment"
            self._send(403, forbidden_integration(doc))
            return
        status, answer, headers = getattr(self, "_op_" + re.sub(r"\W", "_", op.id))(params, rec)
        self._check_response(op, status, answer)
        self._send(status, answer, headers)

    def _check_headers(self, rec: Recorded) -> list[str]:
        h = rec.headers
        problems = []
        if h.get("accept") != "application/vnd.github+json":
            problems.append(f"Accept is {h.get('accept')!r}, GitHub recommends application/vnd.github+json")
        if h.get("x-github-api-version") != API_VERSION:
            problems.append(f"X-GitHub-Api-Version is {h.get('x-github-api-version')!r}")
        if not h.get("user-agent"):
            problems.append("no User-Agent (GitHub rejects requests without one)")
        return problems

    def _check_params(self, op: Operation, params: dict[str, str], rec: Recorded) -> list[str]:
        problems = []
        for name, p in op.parameters("path").items():
            try:
                _typed(params[name], p["schema"])
            except (KeyError, ValueError):
                problems.append(f"path parameter {name} is not a {p['schema'].get('type')}")
        documented = op.parameters("query")
        for name, values in rec.query.items():
            if name not in documented:
                problems.append(f"undocumented query parameter {name!r}")
                continue
            try:
                value = _typed(values[-1], documented[name]["schema"])
            except ValueError:
                problems.append(f"query parameter {name} is not an {documented[name]['schema'].get('type')}")
                continue
            if name == "per_page" and not 1 <= value <= 100:
                problems.append("per_page must be 1..100")
        return problems

    def _check_body(self, op: Operation, rec: Recorded) -> list[str]:
        schema = op.body_schema()
        if schema is None:
            return ["a body on an operation that takes none"] if rec.body is not None else []
        if rec.body is None:
            return ["the documented request body is missing"] if op.body_required() else []
        if not (rec.headers.get("content-type") or "").startswith("application/json"):
            return [f"Content-Type is {rec.headers.get('content-type')!r}, not application/json"]
        validator = jsonschema.Draft7Validator(schema, format_checker=FORMATS)
        return [f"body{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message[:300]}"
                for e in validator.iter_errors(rec.body)]

    def _check_response(self, op: Operation, status: int, answer: Any) -> None:
        schema, _ = op.response(status)
        if schema is None:  # GitHub answers 403/404 on any operation, documented or not
            return
        for e in jsonschema.Draft7Validator(schema).iter_errors(answer):
            self._violation(f"test server's {status} answer breaks the documented schema: {e.message[:200]}")

    # -- operations (called under the lock) --

    def _op_users_get_authenticated(self, params: dict[str, str], rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        gh = self.github
        if gh.bot_login.endswith("[bot]"):
            # An installation token (GITHUB_TOKEN) has no user behind it.
            return 403, forbidden_integration("users/users#get-the-authenticated-user"), {}
        _, example = gh.spec.operation("users/get-authenticated").response(200)
        user = copy.deepcopy(example)
        user["login"] = gh.bot_login
        return 200, user, {}

    def _op_pulls_get(self, params: dict[str, str], rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        pull = self.github.pulls.get(int(params["pull_number"]))
        if pull is None:
            return 404, {"message": "Not Found", "documentation_url": f"{DOCS}/pulls/pulls#get-a-pull-request",
                         "status": "404"}, {}
        return 200, pull, {}

    def _op_issues_list_comments(self, params: dict[str, str], rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        gh = self.github
        issue = int(params["issue_number"])
        per_page = int(rec.query.get("per_page", ["30"])[-1])
        page = int(rec.query.get("page", ["1"])[-1])
        everything = sorted(gh.comments_on(issue), key=lambda c: c["id"])
        chunk = everything[(page - 1) * per_page: page * per_page]
        last = max((len(everything) + per_page - 1) // per_page, 1)
        base = f"{self._origin()}/repositories/{gh.repository_id}/issues/{issue}/comments"
        links = []
        if page < last:
            links.append(f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{base}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.insert(0, f'<{base}?per_page={per_page}&page={page - 1}>; rel="prev"')
            links.insert(1, f'<{base}?per_page={per_page}&page=1>; rel="first"')
        return 200, [_public(c) for c in chunk], ({"link": ", ".join(links)} if links else {})

    def _op_issues_create_comment(self, params: dict[str, str], rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        gh = self.github
        too_long = _too_long(rec.body["body"])
        if too_long:
            return 422, too_long, {}
        comment = gh._new_comment(int(params["issue_number"]), rec.body["body"], gh.bot_login)
        return 201, _public(comment), {"location": comment["url"]}

    def _op_issues_update_comment(self, params: dict[str, str], rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        gh = self.github
        comment = gh.comments.get(int(params["comment_id"]))
        if comment is None:
            # 404 is what GitHub answers, though this operation documents only 200 and 422.
            return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}
        if comment["user"]["login"] != gh.bot_login:
            return 403, {"message": "Must have admin rights to Repository.", "documentation_url": DOCS}, {}
        too_long = _too_long(rec.body["body"])
        if too_long:
            return 422, too_long, {}
        comment.update({"body": rec.body["body"], "updated_at": _now()})
        return 200, _public(comment), {}

    def _op_checks_create(self, params: dict[str, str], rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        gh = self.github
        _, example = gh.spec.operation("checks/create").response(201)
        run = copy.deepcopy(example)
        rid = next(gh._ids)
        body = rec.body
        output = body.get("output") or {}
        run.update({
            "id": rid, "node_id": f"CR_kwDO{rid}", "name": body["name"], "head_sha": body["head_sha"],
            "external_id": body.get("external_id", ""), "details_url": body.get("details_url", ""),
            "status": "completed" if body.get("conclusion") else body.get("status", "queued"),
            "conclusion": body.get("conclusion"),
            "started_at": body.get("started_at", _now()), "completed_at": body.get("completed_at"),
            "url": f"https://api.github.com/repos/{gh.owner}/{gh.repo}/check-runs/{rid}",
            "html_url": f"https://github.com/{gh.owner}/{gh.repo}/runs/{rid}",
        })
        run["output"] = {"title": output.get("title"), "summary": output.get("summary"), "text": output.get("text"),
                         "annotations_count": len(output.get("annotations", [])),
                         "annotations_url": f"{run['url']}/annotations"}
        run["_annotations"] = list(output.get("annotations", []))
        gh.check_runs[rid] = run
        return 201, _public(run), {}

    def _op_checks_update(self, params: dict[str, str], rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        gh = self.github
        run = gh.check_runs.get(int(params["check_run_id"]))
        if run is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}
        output = rec.body.get("output") or {}
        run["_annotations"] += output.get("annotations", [])
        run["output"]["annotations_count"] = len(run["_annotations"])
        for key in ("title", "summary", "text"):
            if key in output:
                run["output"][key] = output[key]
        for key in ("name", "status", "conclusion", "completed_at", "details_url", "external_id"):
            if key in rec.body:
                run[key] = rec.body[key]
        return 200, _public(run), {}

    def _op_actions_list_artifacts_for_repo(self, params: dict[str, str],
                                            rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        gh = self.github
        per_page = int(rec.query.get("per_page", ["30"])[-1])
        page = int(rec.query.get("page", ["1"])[-1])
        name = rec.query.get("name", [None])[-1]
        # Newest first, as GitHub lists them.
        everything = sorted((a for a in gh.artifacts.values() if name is None or a["name"] == name),
                            key=lambda a: -a["id"])
        chunk = everything[(page - 1) * per_page: page * per_page]
        last = max((len(everything) + per_page - 1) // per_page, 1)
        query = f"name={quote(name)}&" if name is not None else ""
        base = f"{self._origin()}/repositories/{gh.repository_id}/actions/artifacts?{query}per_page={per_page}"
        links = []
        if page < last:
            links += [f'<{base}&page={page + 1}>; rel="next"', f'<{base}&page={last}>; rel="last"']
        if page > 1:
            links = [f'<{base}&page={page - 1}>; rel="prev"', f'<{base}&page=1>; rel="first"', *links]
        return 200, {"total_count": len(everything), "artifacts": chunk}, ({"link": ", ".join(links)} if links else {})

    def _op_actions_download_artifact(self, params: dict[str, str], rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        gh = self.github
        artifact = gh.artifacts.get(int(params["artifact_id"]))
        if artifact is None or params["archive_format"] != "zip":
            return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}
        if artifact["expired"]:
            return 410, {"message": "Artifact has expired", "documentation_url": DOCS, "status": "410"}, {}
        blob = next(p for p in gh.blobs if p.startswith(f"/_blobs/{artifact['id']}/"))
        return 302, None, {"location": gh.artifact_location or f"{self._origin()}{blob}"}

    def _origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


def _too_long(body: str) -> dict[str, Any] | None:
    if len(body) <= 65536:
        return None
    return {"message": "Validation Failed", "documentation_url": f"{DOCS}/issues/comments#create-an-issue-comment",
            "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                        "message": "body is too long (maximum is 65536 characters)"}]}


@contextmanager
def serve(**kwargs: Any) -> Iterator[FakeGitHub]:
    server = FakeGitHub(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
