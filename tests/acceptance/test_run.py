"""`evalloop run` on the worked example: the fixed agent passes, the incident's revision blocks."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalloop.errors import UsageError
from evalloop.gate.execute import load_fixture_file
from evalloop.gate.expressions import Subject, compile_select
from evalloop.repo.config import load_config
from evalloop.repo.fixtures import LoadedFixture
from tests.support import PROJECT, run_evalloop, write

EXAMPLE = PROJECT / "examples" / "refund-support"
SEED_FIXTURES = {"incident-2026-04-18-refund-approval-bypass", "refund-approval-bypass-regression",
                 "refund-approval-bypass-trajectory"}


def apply_bypass(example: Path) -> None:
    """The demo step: put the incident's workflow revision back."""
    shutil.copyfile(example / "revisions/bypass/workflows/refund.yaml", example / "workflows/refund.yaml")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    dst = tmp_path / "refund-support"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's own root (its evalloop.yaml points at the example), away from the checkout."""
    dst = tmp_path / "project"
    dst.mkdir()
    for name in ("evalloop.yaml", "owners.yaml"):
        shutil.copyfile(PROJECT / name, dst / name)
    for name in ("fixtures", "incidents", "examples"):
        shutil.copytree(PROJECT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def table_rows(stdout: str) -> dict[str, str]:
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r"^(PASS|FAIL|ERROR|FLAKY)\s+\S+\s+\S+\s+(\S+)\s", line)
        if m:
            rows[m.group(2)] = m.group(1)
    return rows


def test_project_root_fixed_agent_passes_and_bypass_revision_blocks(project: Path) -> None:
    fixed = run_evalloop("run", "--jobs", "2", cwd=project)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    rows = table_rows(fixed.stdout)
    assert set(rows) >= SEED_FIXTURES and set(rows.values()) == {"PASS"}
    assert "verdict: PASS" in fixed.stdout

    apply_bypass(project / "examples/refund-support")
    bypass = run_evalloop("run", "--jobs", "2", cwd=project)
    assert bypass.returncode == 1, bypass.stdout + bypass.stderr
    rows = table_rows(bypass.stdout)
    assert all(rows[f] == "FAIL" for f in SEED_FIXTURES)
    assert rows["refund-below-threshold-self-serve"] == "PASS"  # the allowed side is unchanged
    out = bypass.stdout
    assert "verdict: BLOCK (blocking: incident-2026-04-18-refund-approval-bypass" in out
    # the approval violations, with their evidence
    assert "order: tool:draft_refund_request at span 4 came before the first approval:required" in out
    assert "forbidden span message:customer_promise_sent" in out
    assert "forbidden tool send_customer_email was called" in out
    assert "output contains forbidden 'approved'" in out


def test_example_repository_jobs_keep_the_order_and_junit_has_the_failures(example: Path) -> None:
    apply_bypass(example)
    one = run_evalloop("run", "--jobs", "1", cwd=example)
    four = run_evalloop("run", "--jobs", "4", "--format", "junit", "--output", "report.xml", cwd=example)
    assert one.returncode == four.returncode == 1

    def stable(text: str) -> str:  # everything but the timings: the summary line's and each row's TIME
        text = re.sub(r"fixtures in [\d.]+s \(jobs \d+\)", "fixtures", text)
        text = re.sub(r"  (?:\d+ ms|[\d.]+ s|\d+ min \d+ s)(?=  )", "  TIME", text)
        return re.sub(r" {2,}", "  ", text)  # the TIME column's width follows its values

    assert stable(one.stdout) == stable(four.stdout)
    suite = ET.parse(example / "report.xml").getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert len(cases) == 7 and suite.get("failures") == "5"
    failure = cases["refund-approval-bypass-trajectory"].find("failure")
    assert failure is not None
    assert "order: tool:draft_refund_request" in (failure.text or "")
    assert cases["shipping-status-lookup"].find("failure") is None


def test_select_on_the_command_line(example: Path) -> None:
    result = run_evalloop("run", "--format", "json", "--select", "severity:warning",
                          "--select", "refund-read-order-t*", cwd=example)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "pass"
    assert [r["id"] for r in report["results"]] == [
        "refund-below-threshold-self-serve", "refund-read-order-timeout-retry", "shipping-status-lookup"]
    assert all(r["status"] == "pass" and r["runs"] == 1 for r in report["results"])
    bad = run_evalloop("run", "--select", "colour:red", "--select", "nothing-here", cwd=example)
    assert bad.returncode == 2 and "unknown key 'colour'" in bad.stderr


def subjects() -> list[Subject]:
    config = load_config(EXAMPLE)
    out = []
    for path in sorted((EXAMPLE / "fixtures").iterdir()):
        loaded = load_fixture_file(EXAMPLE, config, path)
        assert isinstance(loaded, LoadedFixture)
        out.append(Subject.of(loaded))
    return out


@pytest.mark.parametrize(("expr", "expected"), [
    ("severity:warning", {"refund-below-threshold-self-serve", "shipping-status-lookup"}),
    ("refund-read-order-* or route:shipping_status",
     {"refund-read-order-malformed-escalates", "refund-read-order-timeout-retry", "shipping-status-lookup"}),
    ("gate:model_route and severity:blocking and not incident:*",
     {"incident-2026-04-18-refund-approval-bypass", "refund-approval-bypass-regression"}),
    ("not (gate:policy or owner:support-platform)", set()),
    ("id:refund-approval-bypass-regression", {"refund-approval-bypass-regression"}),
    ("path:fixtures/*.json and incident:*", set()),
    ("path:fixtures/*.json", {"incident-2026-04-18-refund-approval-bypass", "refund-approval-bypass-regression"}),
    ("incident:INC-2026-04-18-001", {"refund-approval-bypass-trajectory"}),
])
def test_select_expressions(expr: str, expected: set[str]) -> None:
    pred = compile_select([expr])
    assert {s.id for s in subjects() if pred(s)} == expected


@pytest.mark.parametrize(("expr", "message"), [
    ("", "empty expression"), ("a and", "ends too early"), ("(a or b", "missing ')'"), ("a b", "unexpected 'b'"),
    ("or a", "unexpected 'or'"), ("owner:", "needs a value"), ("colour:red", "unknown key 'colour'"),
])
def test_select_errors_are_usage_errors(expr: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        compile_select([expr])


def test_run_without_an_agent_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "evalloop.yaml", "version: 1\n")
    write(tmp_path / "fixtures/a.yaml", "id: a\nowner: x\n")
    result = run_evalloop("run", cwd=tmp_path)
    assert result.returncode == 2 and "has no `agent:`" in result.stderr
