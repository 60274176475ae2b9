"""The report as JUnit XML, for CI systems that show test results.

Valid against the JUnit schema CI systems read (Jenkins' `junit-10.xsd`): no attribute it
does not define. A `protection` suite comes first, one test case per protection change
(failing until approved), then the fixtures: a gating failure (blocking fixture failed,
errored, flaky without quarantine, no run) is a `<failure>`/`<error>`; a failing warning or
exploratory fixture, or a quarantined flaky one, is `<skipped>` with the reason, so a
test-report action agrees with the verdict. Every value is cleaned, which also keeps the XML
valid: XML 1.0 cannot carry most control characters, however escaped; bodies keep their lines.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evalloop.model.results import FixtureResult, GateReport, gating_failure
from evalloop.report.text import evidence_text, protection_order
from evalloop.text import clean


def _seconds(ms: float | None) -> str:
    return f"{(ms or 0.0) / 1000:.3f}"


def _suite(root: ET.Element, r: GateReport, name: str, **counts: int) -> ET.Element:
    attrs = {"name": name, **{k: str(v) for k, v in counts.items()}}
    if r.started_at:
        attrs["timestamp"] = r.started_at
    if r.hostname:
        attrs["hostname"] = clean(r.hostname)
    return ET.SubElement(root, "testsuite", attrs)


def _body(lines: list[str]) -> str:
    return "\n".join(clean(x, lines=True) for x in lines)


def _fixture_case(suite: ET.Element, x: FixtureResult) -> tuple[int, int, int]:
    """The test case of one result; (failures, errors, skipped) it adds."""
    case = ET.SubElement(suite, "testcase", classname=f"evalloop.{x.severity}", name=clean(x.id),
                         time=_seconds(x.duration_ms))
    details = [f"file: {x.path}"] if x.path else []
    details += [f"owner: {x.owner}"] if x.owner else []
    msgs = [f"{v.kind}: {v.message}" + (f" ({ev})" if (ev := evidence_text(v)) else "") for v in x.failures]
    gating = x.severity == "blocking" and gating_failure(x)  # what blocks the verdict
    counted = (0, 0, 0)
    if x.status in ("error", "no_run"):
        el = ET.SubElement(case, "error" if gating else "skipped", message=clean(x.error or x.status), type=x.status)
        el.text = _body([x.error or x.status])
        counted = (0, 1, 0) if gating else (0, 0, 1)
    elif x.status in ("fail", "flaky"):
        first = msgs[0] if msgs else x.status
        if gating:
            el = ET.SubElement(case, "failure", message=clean(first), type=x.status)
            counted = (1, 0, 0)
        else:
            why = "quarantined" if x.quarantined else f"{x.severity} fixture: does not block"
            el = ET.SubElement(case, "skipped", message=clean(f"{x.status} ({why}): {first}"), type=x.status)
            counted = (0, 0, 1)
        el.text = _body(msgs or [x.status])
    ET.SubElement(case, "system-out").text = _body([*details, f"runs: {x.passes}/{x.runs} passed"])
    return counted


def render_junit(r: GateReport) -> str:
    root = ET.Element("testsuites", name="evalloop")
    pending = [p for p in r.protection_changes if not p.approved]
    protection = _suite(root, r, "protection", tests=len(r.protection_changes), failures=len(pending), errors=0,
                        skipped=0)
    protection.set("time", "0.000")
    for p in protection_order(r):
        case = ET.SubElement(protection, "testcase", classname="evalloop.gate.protection",
                             name=clean(f"{p.id} ({p.kind})"), time="0.000")
        where = [f"base: {p.base_path}", f"head: {p.head_path or '(none)'}"]
        if p.approved:
            ET.SubElement(case, "system-out").text = _body([f"approved: {p.approval or 'yes'}", *where])
            continue
        owner = f"needs approval by {p.owner}" if p.owner else "needs approval (no owner on base)"
        el = ET.SubElement(case, "failure", message=clean(f"protection change {p.kind}: {p.detail}; {owner}"),
                           type=f"protection_{p.kind}")
        el.text = _body([f"{p.kind}: {p.detail}", *where, owner])
    suite = _suite(root, r, "evalloop gate", tests=len(r.results), failures=0, errors=0, skipped=0)
    totals = [0, 0, 0]
    for x in r.results:
        for i, n in enumerate(_fixture_case(suite, x)):
            totals[i] += n
    for key, n in zip(("failures", "errors", "skipped"), totals, strict=True):
        suite.set(key, str(n))
    time = _seconds(sum(x.duration_ms or 0.0 for x in r.results))
    suite.set("time", time)
    root.set("time", time)
    root.set("tests", str(len(r.protection_changes) + len(r.results)))
    root.set("failures", str(len(pending) + totals[0]))
    root.set("errors", str(totals[1]))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
