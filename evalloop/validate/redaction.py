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
# Cheap gates: each category's expensive patterns run only where these find something.
_MANY_DIGITS = re.compile(r"\d(?:[ ().-]{0,2}\d){9}")
_NO_DIGITS = str.maketrans("", "", "0123456789")
_RUN = re.compile(r"[A-Za-z0-9+/=_.-]{12,}")
_LITERAL_SECRETS = re.compile(r"PRIVATE KEY|://[^\s/@]+:[^\s@]+@|AccountKey=", re.I)


def _may_hold_secret(text: str) -> bool:
    """Whether detect-secrets' patterns (costly to run on all text) could match.

    Every credential they know is a long run of key characters mixing letters and
    digits (AKIA..., ghp_..., sk_live_..., xoxb-...), or a literal marker.
    """
    if _LITERAL_SECRETS.search(text):
        return True
    for m in _RUN.finditer(text):
        run = m.group(0)
        # a digit, and more than a number: at least five other characters
        if len(run.translate(_NO_DIGITS)) >= 5 and len(run.translate(_NO_DIGITS)) < len(run):
            return True
    return False
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
def secret_detectors() -> tuple[re.Pattern[str], list[tuple[str, re.Pattern[str]]]]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    patterns: list[tuple[str, re.Pattern[str]]] = []
    cls: Any
    for secret_type, cls in get_mapping_from_secret_type_to_class().items():
        if not issubclass(cls, RegexBasedDetector) or cls.__name__ == "IPPublicDetector":
            continue
        for rx in cls().denylist:
            patterns.append((secret_type, rx))
    combined = re.compile("|".join(f"(?:{rx.pattern})" for _, rx in patterns))
    return combined, patterns


def scan_string(value: str, key: str | None = None, *, email: bool = True, numbers: bool = True,
                secrets: bool = True) -> Iterator[Hit]:
    """Every unredacted item in one string value (`key` is the mapping key it sits under).

    The keyword flags skip categories a caller already knows cannot match.
    """
    if email and "@" in value:
        for m in _EMAIL.finditer(value):
            if not _RESERVED_DOMAINS.search(m.group(1)):
                yield Hit("RED001", "e-mail address", m.group(0))
    if numbers and _MANY_DIGITS.search(value):
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
    if secrets and _may_hold_secret(value) and secret_detectors()[0].search(value):
        for secret_type, rx in secret_detectors()[1]:
            found = rx.search(value)
            if found:
                yield Hit("RED005", f"credential ({secret_type})", found.group(0))
                break
    if key is not None and _SECRET_KEYS.search(key) and not _PLACEHOLDER.match(value.strip()):
        yield Hit("RED005", f"credential (value of `{key}`)", value)


def _strings(data: Any, path: tuple[Any, ...], out: list[tuple[tuple[Any, ...], str | None, str]],
             key: str | None = None) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(k, str):
                out.append(((*path, k), None, k))
            _strings(v, (*path, k), out, k if isinstance(k, str) else None)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _strings(v, (*path, i), out)
    elif isinstance(data, str):
        out.append((path, key, data))
    elif isinstance(data, int) and not isinstance(data, bool) and abs(data) >= 10**9:
        # a card or phone number written as a bare YAML number
        out.append((path, key, str(data)))


def scan_data(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Hit]]:
    """(path, hit) for every string in a data tree; keys are scanned as well as values.

    Clean data is the common case: one search over all strings joined decides it,
    and only a hit (or a credential-like key) leads to the per-string scan.
    """
    items: list[tuple[tuple[Any, ...], str | None, str]] = []
    _strings(data, path, items)
    if not items:
        return
    suspicious_key = any(k is not None and _SECRET_KEYS.search(k) for _, k, _ in items)
    text = "\n".join(v for _, _, v in items)
    email = "@" in text
    numbers = _MANY_DIGITS.search(text) is not None
    secrets = _may_hold_secret(text)
    if not (suspicious_key or email or numbers or secrets):
        return
    for loc, key, value in items:
        for hit in scan_string(value, key, email=email, numbers=numbers, secrets=secrets):
            yield loc, hit
