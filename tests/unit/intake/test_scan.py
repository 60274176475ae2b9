"""The repository scan: every unredacted value with its line and column, never the value itself."""

from __future__ import annotations

import re
from typing import Any

from evalloop.intake.scan import scan_text


def _codes(findings: list[Any]) -> list[tuple[int, int, str]]:
    return [(f.line, f.col, f.code) for f in findings]


def test_scan_json_points_at_each_occurrence() -> None:
    text = '{\n  "to": "jane@acme-mail.io",\n  "password": "hunter2-hunter2",\n  "ok": "<EMAIL_1>"\n}\n'
    findings = scan_text("t.json", text, ".json", [])
    assert _codes(findings) == [(2, 10, "RED001"), (3, 16, "RED005")]
    assert findings[0].path == "t.json" and "unredacted e-mail address" in findings[0].message
    assert "jane@" not in findings[0].message  # findings never repeat the value


def test_scan_json_lines_and_escaped_values() -> None:
    text = '{"a": 1}\n{"msg": "mail jane\\u0040acme-mail.io now"}\n'
    assert _codes(scan_text("t.jsonl", text, ".jsonl", [])) == [(2, 1, "RED001")]


def test_scan_yaml_sees_comments_and_person_name_fields() -> None:
    text = "id: x\n# reported by jane@acme-mail.io\ninput:\n  customer_name: Jane Doe\n  name: Jane Doe\n"
    assert _codes(scan_text("f.yaml", text, ".yaml", [])) == [(2, 15, "RED001"), (4, 18, "RED006"),
                                                              (5, 9, "RED006")]


def test_scan_allows_what_validate_allows() -> None:
    text = ("id: x\nsynthetic_values: ['4111 1111 1111 1111']\ninput:\n  card: 4111 1111 1111 1111\n"
            "  mail: jane@acme-mail.io  # evalloop: allow-synthetic\n  other: bob@corp.test.io\n"
            "  example: ann@example.com\n")
    assert _codes(scan_text("f.yaml", text, ".yaml", [re.compile(r"@corp\.test\.io$")])) == []


def test_scan_text_of_a_file_that_does_not_parse() -> None:
    text = "key: [unclosed\nmail: jane@acme-mail.io\n"
    assert _codes(scan_text("f.yaml", text, ".yaml", [])) == [(2, 7, "RED001")]


def test_scan_leaves_times_and_ids_alone() -> None:
    """Nanosecond timestamps and decimal ids pass a card's Luhn check one time in ten."""
    text = ('{"startTimeUnixNano": "1790607510405338849", "span_id": 1790607510405338849, '
            '"created_at": 1786569489.0, "card": "4111 1111 1111 1111"}')
    assert _codes(scan_text("t.json", text, ".json", [])) == [(1, text.index("4111") + 1, "RED003")]
