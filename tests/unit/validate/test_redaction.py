from __future__ import annotations

import pytest

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
