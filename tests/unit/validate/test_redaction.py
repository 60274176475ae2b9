from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from evalloop.repo import cache
from evalloop.validate import redaction
from evalloop.validate.redaction import iban_ok, luhn_ok, scan_data, scan_string


def codes(value: str, key: str | None = None) -> list[str]:
    return [h.code for h in scan_string(value, key)]


@pytest.mark.parametrize(("value", "code"), [
    ("reach me at jane.doe@gmail.com", "RED001"),
    ("call +44 20 7946 0958 now", "RED002"),
    ("call (415) 555-2671", "RED002"),
    ("card 4111 1111 1111 1111", "RED003"),
    ("card 5500-0000-0000-0004", "RED003"),
    ("iban DE89 3704 0044 0532 0130 00", "RED004"),
    ("GB82WEST12345698765432", "RED004"),
    ("key AKIAIOSFODNN7EXAMPLE", "RED005"),
    ("ghp_1234567890abcdefghijklmnopqrstuvwxyzAB", "RED005"),
    ("-----BEGIN RSA PRIVATE KEY-----", "RED005"),
])
def test_detects(value: str, code: str) -> None:
    assert code in codes(value)


@pytest.mark.parametrize("value", [
    "Refund this order and tell the customer it is done.",
    "ord_redacted",
    "support@example.com",
    "qa@shop.test",
    "amount 640, order 1234567890123",  # 13 digits, Luhn-invalid
    "2026-04-18T09:12:00Z",
    "refund-policy-2026-04",
    "DE00370400440532013000",  # IBAN with a wrong check digit
    "trace 4bf92f3577b34da6a3ce929d0e0e4736",
])
def test_does_not_flag(value: str) -> None:
    assert codes(value) == []


def test_secret_keys_with_placeholders_pass() -> None:
    assert codes("hunter2-real-value", key="password") == ["RED005"]
    assert codes("<redacted>", key="api_key") == []
    assert codes("****", key="token") == []


def test_checksums() -> None:
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    assert iban_ok("NL91ABNA0417164300") and not iban_ok("NL91ABNA0417164301")


def test_scan_data_reports_paths() -> None:
    hits = list(scan_data({"a": [{"b": "x@corp.io"}], "c": "ok"}, ("input",)))
    assert [(loc, h.code) for loc, h in hits] == [(("input", "a", 0, "b"), "RED001")]


# --- detect-secrets' patterns: cached, verified, each with its own flags ----------------------------

def forget_patterns() -> None:
    """As a new process starts: the patterns are read again (from the cache, if it is believed)."""
    for f in (redaction._secret_patterns, redaction._combined_secrets, redaction._each_secret):
        f.cache_clear()


@pytest.fixture
def fresh_patterns() -> Iterator[None]:
    forget_patterns()
    yield
    forget_patterns()


def test_case_insensitive_detectors_stay_case_insensitive() -> None:
    # Slack's pattern is case-insensitive; one set of flags for all the patterns lost that
    assert codes("token XOXB-1234567890-ABCDEFGHIJ") == ["RED005"]


def test_cached_patterns_are_detect_secrets_own(fresh_patterns: None) -> None:
    first = redaction._secret_patterns()  # stores them
    forget_patterns()
    assert redaction._secret_patterns() == first == redaction._detect_secrets_patterns()
    assert len(first) > 30


@pytest.mark.parametrize("stored", [
    {"format": redaction._PATTERNS_FORMAT, "source": ["another detect-secrets"], "patterns": []},
    {"format": 0, "patterns": []},
    {"format": redaction._PATTERNS_FORMAT, "patterns": [["x", 3, "not flags"]]},
])
def test_a_cache_for_other_files_or_of_another_shape_is_not_believed(fresh_patterns: None,
                                                                     stored: dict[str, Any]) -> None:
    path = redaction._patterns_file(redaction._installed_detectors())
    if "source" not in stored:
        stored["source"] = redaction._installed_detectors()
    cache.store(path, stored)
    assert redaction._secret_patterns() == redaction._detect_secrets_patterns()
    assert codes("key AKIAIOSFODNN7EXAMPLE") == ["RED005"]


def test_an_edited_pattern_cache_is_not_believed(fresh_patterns: None) -> None:
    redaction._secret_patterns()
    path = redaction._patterns_file(redaction._installed_detectors())
    head, _, body = path.read_bytes().partition(b"\n")
    path.write_bytes(head + b"\n" + body.replace(b"AKIA", b"ZZZZ"))  # would let AWS keys through
    forget_patterns()
    assert codes("key AKIAIOSFODNN7EXAMPLE") == ["RED005"]
