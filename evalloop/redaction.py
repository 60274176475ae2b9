"""Finding unredacted personal data and credentials in fixture text.

Credentials are matched with the patterns maintained by detect-secrets (its
regex-based detectors: AWS, GitHub, Slack, Stripe, OpenAI, private keys, JWTs
and more); the personal-data checks carry their own validation (Luhn for card
numbers, ISO 13616 mod-97 for IBANs) so that order numbers and amounts are not
mistaken for them. Values under reserved example domains (RFC 2606) are
synthetic by definition and pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

ALLOW_MARKER = "evalloop: allow-synthetic"

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b")
_RESERVED_DOMAINS = re.compile(r"(^|\.)(example\.(com|org|net)|test|invalid|localhost|example)$", re.I)
# International numbers written with a +, or North American ones with separators.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){2,4}"
    r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4})(?![\w])"
)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")
_SECRET_KEYS = re.compile(r"(pass(word|wd)?|secret|api[_-]?key|access[_-]?key|token|private[_-]?key|"
                          r"client[_-]?secret|auth(orization)?)$", re.I)
_PLACEHOLDER = re.compile(r"^(<[^>]*>|\*+|x+|redacted|\[redacted\]|.*_redacted|changeme|dummy|"
                          r"example|placeholder|none|null|)$", re.I)


@dataclass(frozen=True)
class Hit:
    code: str
    kind: str
    value: str


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


@cache
def _secret_detectors() -> tuple[re.Pattern[str], list[tuple[str, re.Pattern[str]]]]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    patterns: list[tuple[str, re.Pattern[str]]] = []
    for secret_type, cls in get_mapping_from_secret_type_to_class().items():
        if not issubclass(cls, RegexBasedDetector) or cls.__name__ == "IPPublicDetector":
            continue
        for rx in cls().denylist:
            patterns.append((secret_type, rx))
    combined = re.compile("|".join(f"(?:{rx.pattern})" for _, rx in patterns))
    return combined, patterns


def scan_string(value: str, key: str | None = None) -> Iterator[Hit]:
    """Every unredacted item in one string value (`key` is the mapping key it sits under)."""
    if "@" in value:
        for m in _EMAIL.finditer(value):
            if not _RESERVED_DOMAINS.search(m.group(1)):
                yield Hit("RED001", "e-mail address", m.group(0))
    if any(c.isdigit() for c in value):
        for m in _CARD.finditer(value):
            digits = re.sub(r"\D", "", m.group(0))
            if 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1:
                yield Hit("RED003", "payment card number", m.group(0))
        for m in _PHONE.finditer(value):
            digits = re.sub(r"\D", "", m.group(0))
            if 10 <= len(digits) <= 15 and not _CARD.fullmatch(m.group(0).strip()):
                yield Hit("RED002", "phone number", m.group(0))
        for m in _IBAN.finditer(value):
            if iban_ok(m.group(1)):
                yield Hit("RED004", "IBAN", m.group(1))
    combined, patterns = _secret_detectors()
    if combined.search(value):
        for secret_type, rx in patterns:
            m = rx.search(value)
            if m:
                yield Hit("RED005", f"credential ({secret_type})", m.group(0))
                break
    if key is not None and _SECRET_KEYS.search(key) and not _PLACEHOLDER.match(value.strip()):
        yield Hit("RED005", f"credential (value of `{key}`)", value)


def scan_data(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Hit]]:
    """(path, hit) for every string in a data tree; keys are scanned as well as values."""
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(k, str):
                for hit in scan_string(k):
                    yield (*path, k), hit
            if isinstance(v, str):
                for hit in scan_string(v, k if isinstance(k, str) else None):
                    yield (*path, k), hit
            else:
                yield from scan_data(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            if isinstance(v, str):
                for hit in scan_string(v):
                    yield (*path, i), hit
            else:
                yield from scan_data(v, (*path, i))
