"""Placeholders for personal data and credentials: stable across the whole trace, and the scan."""

from __future__ import annotations

from typing import Any

import orjson

from evalloop.intake.redact import Found, Redactor, counts_or_times, detect, field_item
from evalloop.validate.redaction import scan_data

EMAIL = "jane.doe@acme-mail.io"
PHONE = "+1 415-555-2671"
IBAN = "DE89 3704 0044 0532 0130 00"
CARD = "4111 1111 1111 1111"
AWS = "AKIAIOSFODNN7EXAMPLE"


def _trace() -> dict[str, Any]:
    """A run's material as capture redacts it: input, tool arguments and outputs, output."""
    return {
        "input": {"user_message": f"I'm Jane Doe ({EMAIL}, {PHONE}); refund ord_8812 to {IBAN}.",
                  "order_id": "ord_8812"},
        "spans": [
            {"name": "read_order", "args": {"order_id": "ord_8812"},
             "result": {"order_id": "ord_8812", "customer_name": "Jane Doe", "email": EMAIL.upper(),
                        "phone": "(415) 555-2671", "card": CARD, "amount": 640}},
            {"name": "send_customer_email", "args": {"to": EMAIL, "body": "Dear Jane Doe, done."},
             "result": {"api_key": "hunter2-hunter2", "aws": AWS}},
        ],
        "output": f"Refunded ord_8812; a receipt went to {EMAIL}.",
    }


def test_one_value_gets_one_placeholder_everywhere() -> None:
    out = Redactor().redact(_trace())
    span0, span1 = out["spans"]
    # the e-mail in the request, a tool argument, a tool output (other case) and the final output
    assert "<EMAIL_1>" in out["input"]["user_message"]
    assert span1["args"]["to"] == "<EMAIL_1>" and span0["result"]["email"] == "<EMAIL_1>"
    assert out["output"] == "Refunded <ORDER_ID_1>; a receipt went to <EMAIL_1>."
    # the order id of a known field, also where it occurs in free text
    assert out["input"]["order_id"] == span0["args"]["order_id"] == span0["result"]["order_id"] == "<ORDER_ID_1>"
    assert "refund <ORDER_ID_1> to <IBAN_1>" in out["input"]["user_message"]
    # one phone number written two ways is one number
    assert "<PHONE_1>" in out["input"]["user_message"] and span0["result"]["phone"] == "<PHONE_1>"
    # a name found in a known field is replaced in free text too
    assert out["input"]["user_message"].startswith("I'm <NAME_1> (")
    assert span0["result"]["customer_name"] == "<NAME_1>" and span1["args"]["body"] == "Dear <NAME_1>, done."
    assert span0["result"]["card"] == "<CARD_1>"
    assert span1["result"] == {"api_key": "<SECRET_1>", "aws": "<SECRET_2>"}
    assert span0["result"]["amount"] == 640


def test_distinct_values_are_numbered_in_the_order_found() -> None:
    r = Redactor()
    out = r.redact({"a": "first a@acme-mail.io", "b": ["b@acme-mail.io", "a@acme-mail.io"], "c": "c@acme-mail.io"})
    assert out == {"a": "first <EMAIL_1>", "b": ["<EMAIL_2>", "<EMAIL_1>"], "c": "<EMAIL_3>"}
    assert [p for p, _ in r.mapping()] == ["<EMAIL_1>", "<EMAIL_2>", "<EMAIL_3>"]


def test_the_mapping_names_every_form_replaced() -> None:
    r = Redactor()
    r.redact(_trace())
    mapping = dict(r.mapping())
    assert mapping["<EMAIL_1>"] == [EMAIL, EMAIL.upper()]
    assert sorted(mapping["<PHONE_1>"]) == sorted([PHONE, "(415) 555-2671"])
    assert mapping["<ORDER_ID_1>"] == ["ord_8812"]


def test_nothing_validate_would_report_is_left() -> None:
    out = Redactor().redact(_trace())
    assert list(scan_data(out)) == []
    raw = orjson.dumps(out).decode()
    for value in (EMAIL, "Jane Doe", "ord_8812", "415", "3704", "4111", AWS, "hunter2"):
        assert value not in raw


def test_keys_and_large_integers_are_redacted_too() -> None:
    out = Redactor().redact({EMAIL: {"card": 4111111111111111}})
    assert out == {"<EMAIL_1>": {"card": "<CARD_1>"}}


def test_known_fields() -> None:
    assert field_item("order_id", "ord_1") == Found("ORDER_ID", "ord_1")
    assert field_item("customerId", 8812) == Found("CUSTOMER_ID", "8812")
    assert field_item("customer_name", "jane") == Found("NAME", "jane")
    assert field_item("name", "Jane Doe") == Found("NAME", "Jane Doe")
    # a bare `name` is a project's or a tool's as often as a person's
    assert field_item("name", "draft") is None
    assert field_item("name", "read_order") is None
    assert field_item("name", "Jane Doe", bare_name=False) is None
    # placeholders and redacted values are left alone
    assert field_item("order_id", "ord_redacted") is None
    assert field_item("order_id", "<ORDER_ID_1>") is None
    assert field_item("phone", "(415) 555-2671") == Found("PHONE", "(415) 555-2671")
    assert field_item("phone", "n/a") is None


def test_integer_ids_and_short_ones() -> None:
    out = Redactor().redact({"order_id": 8812, "text": "order 8812, amount 8812.5", "other": {"order_id": "42"},
                             "note": "42 items"})
    assert out["order_id"] == "<ORDER_ID_1>" and out["text"].startswith("order <ORDER_ID_1>,")
    assert out["other"]["order_id"] == "<ORDER_ID_2>"
    assert out["note"] == "42 items"  # two characters in free text are too likely something else


def test_maintained_detectors_widen_validates_patterns() -> None:
    kinds = {f.kind: f.value for f in detect("call 415 555 2671, iban de89 3704 0044 0532 0130 00, card "
                                             "4111-1111-1111-1111.")}
    assert kinds["PHONE"] == "415 555 2671"  # phonenumbers: validate's pattern needs '.' or '-'
    assert kinds["IBAN"] == "de89 3704 0044 0532 0130 00"  # python-stdnum: lower case
    assert kinds["CARD"] == "4111-1111-1111-1111"
    # ids, timestamps and counts are not phone numbers or cards
    assert detect("order 12345678901 at 1784230697.9639382 of 14,094,034 people") == []
    assert detect("4242424242424241") == []  # fails the Luhn check
    assert detect("an@example.com writes to <EMAIL_1>") == []


def test_secrets_come_from_detect_secrets() -> None:
    found = detect(f"key {AWS} and 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")
    assert [f.kind for f in found] == ["SECRET", "SECRET"]


def test_times_and_ids_are_known_by_their_keys() -> None:
    assert counts_or_times("startTimeUnixNano") and counts_or_times("span_id")
    assert counts_or_times("gen_ai.client.operation.duration") and counts_or_times("created_at")
    assert not counts_or_times("card") and not counts_or_times("phone") and not counts_or_times(None)
