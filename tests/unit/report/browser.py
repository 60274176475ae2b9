"""A report as a reviewer sees it: GitHub-flavoured markdown to HTML (markdown-it-py with the
GFM table and strikethrough rules), a screenshot by headless Chromium, and the PNG decoded
with the standard library to tell a page from a blank one."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

# Enough of github.com's look for a reader to judge the layout: its fonts, tables, code.
_STYLE = """
body { font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328;
       max-width: 900px; margin: 16px auto; padding: 16px; border: 1px solid #d0d7de; border-radius: 6px; }
h2 { border-bottom: 1px solid #d8dee4; padding-bottom: .3em; font-size: 1.5em; }
h3 { font-size: 1.25em; } h4 { font-size: 1em; }
table { border-collapse: collapse; display: block; overflow: auto; }
th, td { border: 1px solid #d0d7de; padding: 6px 13px; } tr:nth-child(2n) { background: #f6f8fa; }
code { background: rgba(175,184,193,.2); border-radius: 6px; padding: .2em .4em; font-size: 85%;
       font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
blockquote { color: #59636e; border-left: .25em solid #d0d7de; margin: 0; padding: 0 1em; }
a { color: #0969da; text-decoration: none; } sub { color: #59636e; }
"""


def to_html(markdown: str) -> str:
    """The markdown as GitHub would render it, in a page. HTML passes through as GitHub lets
    `<details>`, `<br>` and `<sub>` through: the report's own; its untrusted text is escaped."""
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    return (f'<!doctype html><html><head><meta charset="utf-8"><style>{_STYLE}</style></head>'
            f"<body>{md.render(markdown)}</body></html>")


def chromium() -> str:
    """The Chromium binary; skips locally when there is none, fails in CI (.ci/run installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def screenshot(html: Path, png: Path, size: tuple[int, int] = (1200, 2000)) -> None:
    """Headless Chromium's screenshot of `html`: no network of its own, a throwaway profile."""
    with tempfile.TemporaryDirectory(prefix="evalloop-chromium-") as profile:
        proc = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
             html.resolve().as_uri()],
            capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and png.exists(), proc.stderr[-2000:]


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    colours: int  # distinct RGB(A) pixels, up to a cap
    ink: float  # the share of pixels that are not the most common colour (the background)


def png_rows(data: bytes) -> tuple[int, int, list[bytearray], int]:
    """(width, height, the unfiltered pixel rows, bytes per pixel) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, (depth, colour_type, interlace)
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        prev = _unfilter(line[0], bytearray(line[1:]), prev, bpp)
        rows.append(prev)
    return width, height, rows, bpp


def decode_png(data: bytes, max_colours: int = 4096) -> Image:
    """Width, height and how much is drawn, from an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    width, height, rows, bpp = png_rows(data)
    counts: dict[bytes, int] = {}
    for cur in rows:
        for x in range(0, width * bpp, bpp * 4):  # every fourth pixel is plenty to judge
            px = bytes(cur[x:x + bpp])
            if px in counts or len(counts) < max_colours:
                counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    return Image(width, height, len(counts), 1 - max(counts.values()) / total)


def _unfilter(kind: int, cur: bytearray, prev: bytearray, bpp: int) -> bytearray:
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            cur[i] = (cur[i] + a) & 0xFF
        elif kind == 2:
            cur[i] = (cur[i] + b) & 0xFF
        elif kind == 3:
            cur[i] = (cur[i] + (a + b) // 2) & 0xFF
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return cur
