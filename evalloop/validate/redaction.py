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
from pathlib import Path
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


# What `_secret_patterns` keeps in its signed cache; bump when the selection below changes.
_PATTERNS_FORMAT = 1


def _detect_secrets_patterns() -> list[tuple[str, str, int]]:
    """(secret type, pattern, flags) of every regex-based detect-secrets detector but IPPublicDetector
    (an address is not a credential)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    out: list[tuple[str, str, int]] = []
    cls: Any
    for secret_type, cls in get_mapping_from_secret_type_to_class().items():
        if not issubclass(cls, RegexBasedDetector) or cls.__name__ == "IPPublicDetector":
            continue
        out.extend((secret_type, rx.pattern, int(rx.flags)) for rx in cls().denylist)
    return out


def _installed_detectors() -> list[Any] | None:
    """What the installed detect-secrets' patterns come from, by file stat (no import: importing it
    costs ~0.15 s, more than the rest of a one-file validate); None when it is not installed."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("detect_secrets")
    if spec is None or not spec.origin:
        return None
    package = os.path.dirname(spec.origin)
    stats: list[Any] = [spec.origin]
    for folder in (os.path.join(package, "plugins"), os.path.join(package, "core", "plugins")):
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
            for n in names:
                st = os.stat(os.path.join(folder, n))
                stats.append([n, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino])
        except OSError:
            return None
    return stats


def _patterns_file(source: list[Any] | None) -> Path:
    """One cache per installation of detect-secrets: the project's virtualenv and pre-commit's
    hook environment each keep theirs instead of overwriting each other's."""
    import hashlib

    from evalloop.repo import cache as signed

    where = hashlib.sha256(str(source[0] if source else "").encode()).hexdigest()[:16]
    return signed.key_file().parent / f"detect-secrets-patterns-{where}.json"


@cache
def _secret_patterns() -> list[tuple[str, str, int]]:
    """detect-secrets' patterns, from a signed cache (evalloop.repo.cache) while its files are
    unchanged: the import is paid only when detect-secrets is installed anew."""
    from evalloop.repo import cache as signed

    source = _installed_detectors()
    path = _patterns_file(source)
    stored = signed.load(path, []) if source is not None else {}
    if stored.get("format") == _PATTERNS_FORMAT and stored.get("source") == source:
        rows = stored.get("patterns")
        if isinstance(rows, list) and all(isinstance(r, list) and len(r) == 3 and isinstance(r[0], str)
                                          and isinstance(r[1], str) and isinstance(r[2], int) for r in rows):
            return [(r[0], r[1], r[2]) for r in rows]
    patterns = _detect_secrets_patterns()
    if source is not None:
        signed.store(path, {"format": _PATTERNS_FORMAT, "source": source, "patterns": patterns})
    return patterns


_SCOPED_FLAGS = ((re.ASCII, "a"), (re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))


@cache
def _combined_secrets() -> re.Pattern[str]:
    """One search for all of them, each keeping its own flags as scoped inline flags (several are
    case-insensitive: Slack, AWS, Cloudant; a single set of flags would drop that)."""
    def scoped(pattern: str, flags: int) -> str:
        letters = "".join(c for flag, c in _SCOPED_FLAGS if flags & flag)
        # in verbose mode a `#` comments out the rest of the line: the group closes on the next
        return f"(?{letters}:{pattern}\n)" if flags & re.VERBOSE else f"(?{letters}:{pattern})"

    return re.compile("|".join(scoped(p, flags) for _, p, flags in _secret_patterns()))


@cache
def _each_secret() -> list[tuple[str, re.Pattern[str]]]:
    return [(t, re.compile(p, flags)) for t, p, flags in _secret_patterns()]


def secret_detectors() -> tuple[re.Pattern[str], list[tuple[str, re.Pattern[str]]]]:
    """The combined search and each detector's own pattern (compiled on first use)."""
    return _combined_secrets(), _each_secret()


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
    if secrets and _may_hold_secret(value) and _combined_secrets().search(value):
        for secret_type, rx in _each_secret():
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
