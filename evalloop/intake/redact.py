"""Personal data and credentials in captured trace content, found and replaced by placeholders.

A captured fixture must still replay: the agent reads the order id in the user's message and
passes it to `read_order`, whose mocked output carries it back. So every value is replaced by a
stable, indexed placeholder (`<EMAIL_1>`, `<ORDER_ID_2>`), the same one wherever the value occurs
(input, tool arguments, tool outputs, output), and the mapping is kept in memory only: the
capture command prints it to stderr and never writes it.

What counts as unredacted is, first, what `evalloop validate` reports (its RED001-RED005
detectors: e-mail addresses outside reserved example domains, phone numbers, Luhn-valid card
numbers, mod-97-valid IBANs, detect-secrets' credential patterns and values under credential-like
keys), so a captured fixture always passes validate; widened by maintained libraries where the
validate patterns are narrow: `phonenumbers` finds phone numbers in national formats
(`020 7946 0958`) and `python-stdnum` checks IBANs and card numbers written in groups the
validate patterns do not expect (lower case, dots, hyphens). Values in known fields are
replaced too: ids (`order_id`, `customerId` -> `<ORDER_ID_n>`, `<CUSTOMER_ID_n>`) and person
names (`customer_name`, and `name` when its value reads as a name: `Jane Doe`, not `draft`).
Names in free text are out of reach of any detector here; the placeholders of names found in
fields are applied to free text as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from stdnum import iban, luhn

from evalloop.validate.redaction import scan_string

# The region numbers written without a country code are read in.
DEFAULT_REGION = "US"

# validate's finding codes, and the placeholder label of each.
CODE_KIND = {"RED001": "EMAIL", "RED002": "PHONE", "RED003": "CARD", "RED004": "IBAN", "RED005": "SECRET"}
# A person name in a known field: a code of its own (validate has no name check).
NAME_CODE = "RED006"
KIND_CODE = {**{kind: code for code, kind in CODE_KIND.items()}, "NAME": NAME_CODE}
KIND_TEXT = {"EMAIL": "e-mail address", "PHONE": "phone number", "CARD": "payment card number",
             "IBAN": "IBAN", "SECRET": "credential", "NAME": "person name"}

# Keys are compared in snake case, so `customerName` is `customer_name`.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ID_KEY = re.compile(r"(?P<what>order|customer|account|user|client|ticket|case|invoice|payment|transaction|"
                     r"booking|reservation|member|patient|subscription|contract|shipment|tracking|refund)"
                     r"_?(?:id|number|no)")
# Fields that hold a person's name whatever the value looks like. A bare `name` is also a
# product's or a project's, so it counts only when its value reads as a name.
PERSON_NAME_KEYS = frozenset({
    "customer_name", "full_name", "first_name", "last_name", "given_name", "family_name", "surname",
    "contact_name", "recipient_name", "sender_name", "cardholder_name", "card_holder", "holder_name",
    "account_holder", "account_holder_name", "billing_name", "shipping_name", "patient_name",
})
_PHONE_KEYS = frozenset({"phone", "phone_number", "mobile", "mobile_number", "telephone", "tel", "cell"})
_NAME_WORD = re.compile(r"[A-Z][a-z'\u00c0-\u024f-]*\.?|[A-Z]\.")
# Values that are placeholders already: ours, and the forms validate accepts as redacted.
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>|.*redacted.*|\*+|x{3,}", re.I)
_DIGIT = re.compile(r"\d")
_KEY_WORDS = re.compile(r"[^a-z0-9]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_TIME_WORDS = frozenset({"time", "timestamp", "nano", "nanos", "ms", "us", "ns", "epoch", "ts", "at", "date",
                         "duration", "latency", "id", "ids", "count", "tokens", "size", "bytes"})
_TOKEN = re.compile(r"\S+")
_EDGE = "\"'.,;:!?()[]{}<>"
_WORD_CHAR = r"A-Za-z0-9_"


@dataclass(frozen=True)
class Found:
    """One unredacted value: its placeholder kind and the text as it occurs."""

    kind: str
    value: str


def snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower().replace("-", "_")


def is_placeholder(value: str) -> bool:
    return _PLACEHOLDER.fullmatch(value.strip()) is not None


def _looks_like_name(value: str) -> bool:
    words = value.split()
    return 1 <= len(words) <= 4 and len(value) <= 60 and all(_NAME_WORD.fullmatch(w) for w in words)


def field_item(key: str, value: Any, *, bare_name: bool = True) -> Found | None:
    """The value of a known field (an id, a person's name, a phone number) as an unredacted item.

    `bare_name`: whether a `name` field counts (the repository scan leaves it out: in trace
    exports `name` is mostly a span's or a tool's).
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not text or is_placeholder(text):
        return None
    k = snake(key)
    m = _ID_KEY.fullmatch(k)
    if m:
        return Found(f"{m.group('what').upper()}_ID", text)
    if k in PERSON_NAME_KEYS or (bare_name and k == "name" and _looks_like_name(text)):
        return Found("NAME", text) if isinstance(value, str) else None
    if k in _PHONE_KEYS and isinstance(value, str):
        number = _parse_phone(text)
        if number is not None and phonenumbers.is_valid_number(number):
            return Found("PHONE", text)
    return None


def _parse_phone(text: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None


def _windows(text: str, most: int) -> Iterator[tuple[int, int]]:
    """(start, end) of every run of 1..most whitespace-separated words, punctuation trimmed."""
    words = []
    for m in _TOKEN.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start] in _EDGE:
            start += 1
        while end > start and text[end - 1] in _EDGE:
            end -= 1
        if start < end:
            words.append((start, end))
    for i in range(len(words)):
        for j in range(i, min(i + most, len(words))):
            yield words[i][0], words[j][1]


def _grouped_numbers(text: str) -> Iterator[Found]:
    """IBANs and card numbers written in groups: checked by python-stdnum, not by a pattern."""
    for start, end in _windows(text, 9):
        raw = text[start:end]
        compact = raw.replace(" ", "").replace("-", "").replace(".", "")
        if compact.isdigit():
            if 13 <= len(compact) <= 19 and len(set(compact)) > 1 and luhn.is_valid(compact):
                yield Found("CARD", raw)
        elif 15 <= len(compact) <= 34 and compact[:2].isalpha() and iban.is_valid(compact):
            yield Found("IBAN", raw)


def _phones(text: str) -> Iterator[Found]:
    for m in phonenumbers.PhoneNumberMatcher(text, DEFAULT_REGION, leniency=phonenumbers.Leniency.VALID):
        # a bare run of digits, or a decimal, is far more often an id or a timestamp
        if not _NUMBER.fullmatch(m.raw_string):
            yield Found("PHONE", m.raw_string)


def counts_or_times(key: str | None) -> bool:
    """Whether a key holds times, durations or ids (`startTimeUnixNano`, `span_id`): digits there
    that pass a card's Luhn check or read as a phone number are that by chance."""
    return key is not None and bool(_TIME_WORDS & set(_KEY_WORDS.split(snake(key))))


def detect(text: str, key: str | None = None, *, numbers: bool = True) -> list[Found]:
    """Every unredacted item in one string (`key`: the mapping key it sits under); `numbers`
    False leaves out phone, card and IBAN numbers."""
    found = [Found(CODE_KIND[h.code], h.value) for h in scan_string(text, key, numbers=numbers)]
    # validate stops at a string's first credential (one finding is enough there); every one is
    # replaced here, so look again without those found
    rest = text
    while found and found[-1].kind == "SECRET" and found[-1].value in rest and len(found) < 100:
        rest = rest.replace(found[-1].value, " ")
        found += [Found("SECRET", h.value) for h in scan_string(rest, None, email=False, numbers=False)]
    digits = len(_DIGIT.findall(text)) if numbers else 0
    if digits >= 7:
        found += _phones(text)
    if digits >= 11:
        found += _grouped_numbers(text)
    return [f for f in found if not is_placeholder(f.value)]


def canonical(item: Found) -> str:
    """The identity of a value, so that `(415) 555-2671` and `+1 415 555 2671` share a placeholder."""
    if item.kind == "EMAIL":
        return item.value.lower()
    if item.kind == "PHONE":
        number = _parse_phone(item.value)
        if number is not None:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return re.sub(r"\D", "", item.value)
    if item.kind in ("CARD", "IBAN"):
        return re.sub(r"[\s.-]", "", item.value).upper()
    if item.kind == "NAME":
        return " ".join(item.value.split()).casefold()
    return item.value


def walk(data: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """(key, scalar) for every string (keys included) and every integer in a data tree."""
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(k, str):
                yield None, k
            yield from walk(v, k if isinstance(k, str) else None)
    elif isinstance(data, list | tuple):
        for v in data:
            yield from walk(v, key)
    elif isinstance(data, str) or (isinstance(data, int) and not isinstance(data, bool)):
        yield key, data


@dataclass
class Redactor:
    """Collects unredacted values, then replaces each by its placeholder everywhere."""

    _placeholders: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, canonical) -> placeholder
    _forms: dict[str, str] = field(default_factory=dict)  # raw text -> placeholder
    _bounded: set[str] = field(default_factory=set)  # raw texts replaced only as whole words
    _counts: dict[str, int] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = None

    def add(self, item: Found, *, whole_word: bool = False) -> str:
        ident = (item.kind, canonical(item))
        placeholder = self._placeholders.get(ident)
        if placeholder is None:
            n = self._counts[item.kind] = self._counts.get(item.kind, 0) + 1
            placeholder = self._placeholders[ident] = f"<{item.kind}_{n}>"
        if item.value not in self._forms:
            self._forms[item.value] = placeholder
            self._pattern = None
            if whole_word:
                self._bounded.add(item.value)
        return placeholder

    def collect(self, data: Any) -> None:
        """Find the unredacted values of a data tree, in order (the first found gets `_1`)."""
        for key, value in walk(data):
            if key is not None:
                item = field_item(key, value)
                if item is not None:
                    self.add(item, whole_word=True)
                    continue
            text = str(value)
            if isinstance(value, int) and abs(value) < 10**9:
                continue  # too short to be a card or phone number (validate's rule)
            for found in detect(text, key if isinstance(value, str) else None):
                self.add(found)

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._forms:
            parts = []
            # longest first, so a value containing another is replaced whole
            for raw in sorted(self._forms, key=len, reverse=True):
                if raw in self._bounded:
                    if len(raw) < 3:
                        continue  # `Al` or `42` in free text is too likely something else
                    parts.append(f"(?<![{_WORD_CHAR}]){re.escape(raw)}(?![{_WORD_CHAR}])")
                else:
                    parts.append(re.escape(raw))
            self._pattern = re.compile("|".join(parts)) if parts else None
        return self._pattern

    def text(self, value: str) -> str:
        whole = self._forms.get(value.strip())
        if whole is not None:
            return whole
        pattern = self._compiled()
        return pattern.sub(lambda m: self._forms[m.group(0)], value) if pattern is not None else value

    def apply(self, data: Any) -> Any:
        """A copy of `data` with every collected value replaced (in keys as well)."""
        if isinstance(data, dict):
            return {self.text(k) if isinstance(k, str) else k: self.apply(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.apply(v) for v in data]
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, int) and not isinstance(data, bool) and str(data) in self._forms:
            return self._forms[str(data)]
        return data

    def redact(self, data: Any, *, rounds: int = 3) -> Any:
        """Collect and apply until nothing unredacted is left (a replacement can reveal nothing
        new, but a value found only as part of a longer one is picked up on the next round)."""
        out = data
        for _ in range(rounds):
            before = len(self._forms)
            self.collect(out)
            out = self.apply(out)
            if len(self._forms) == before:
                break
        return out

    def mapping(self) -> list[tuple[str, list[str]]]:
        """(placeholder, the texts it replaced), in placeholder order; for the terminal only."""
        forms: dict[str, list[str]] = {}
        for raw, placeholder in self._forms.items():
            forms.setdefault(placeholder, []).append(raw)
        return [(p, forms[p]) for p in self._placeholders.values()]


__all__ = ["CODE_KIND", "KIND_CODE", "KIND_TEXT", "NAME_CODE", "PERSON_NAME_KEYS", "Found", "Redactor",
           "counts_or_times", "detect", "field_item", "is_placeholder", "walk"]
