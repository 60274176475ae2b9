"""The report as JUnit XML, for CI systems that show test results.

A `protection` suite comes first, one test case per protection change (failing until
approved), then the fixtures. Every value is cleaned, which also keeps the XML valid:
XML 1.0 cannot carry most control characters, however escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evalloop.model.results import GateReport
from evalloop.report.escape import clean
from evalloop.report.text import evidence_text, protection_order


def render_junit(r: GateReport) -> str:
    root = ET.Element("testsuites", name="evalloop")
    pending = [p for p in r.protection_changes if not p.approved]
    protection = ET.SubElement(root, "testsuite", name="protection", tests=str(len(r.protection_changes)),
                               failures=str(len(pending)), errors="0")
    for p in protection_order(r):
        case = ET.SubElement(protection, "testcase", classname="evalloop.gate.protection",
                             name=clean(f"{p.id} ({p.kind})"), file=clean(p.head_path or p.base_path))
        if p.approved:
            ET.SubElement(case, "system-out").text = clean(f"approved: {p.approval or 'yes'}")
            continue
        owner = f"needs approval by {p.owner}" if p.owner else "needs approval (no owner on base)"
        el = ET.SubElement(case, "failure", message=clean(f"protection change {p.kind}: {p.detail}; {owner}"),
                           type=f"protection_{p.kind}")
        el.text = "\n".join(clean(x) for x in (
            f"{p.kind}: {p.detail}", f"base: {p.base_path}", f"head: {p.head_path or '(none)'}", owner))
    failures = sum(x.status in ("fail", "flaky") for x in r.results)
    errors = sum(x.status in ("error", "no_run") for x in r.results)
    suite = ET.SubElement(root, "testsuite", name="evalloop gate", tests=str(len(r.results)),
                          failures=str(failures), errors=str(errors))
    for x in r.results:
        case = ET.SubElement(suite, "testcase", classname=f"evalloop.{x.severity}", name=clean(x.id))
        if x.path:
            case.set("file", clean(x.path))
        if x.status in ("fail", "flaky"):
            msgs = [f"{v.kind}: {v.message}" + (f" ({ev})" if (ev := evidence_text(v)) else "")
                    for v in x.failures]
            el = ET.SubElement(case, "failure", message=clean(msgs[0] if msgs else x.status), type=x.status)
            el.text = "\n".join(clean(m) for m in msgs)
        elif x.status in ("error", "no_run"):
            ET.SubElement(case, "error", message=clean(x.error or x.status), type=x.status)
    root.set("tests", str(len(r.protection_changes) + len(r.results)))
    root.set("failures", str(len(pending) + failures))
    root.set("errors", str(errors))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
