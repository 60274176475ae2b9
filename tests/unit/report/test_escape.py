from __future__ import annotations

from evalloop.report.escape import code, code_block, md, md_code
from evalloop.text import clean
from tests.unit.report.reports import ATTACK


def test_md_escapes_block_and_inline_syntax() -> None:
    assert md("# PASS") == "\\# PASS"
    assert md("![x](http://e/x.png)") == "\\!\\[x\\](http://e/x.png)"
    assert md("<!-- evalloop:gate -->") == "&lt;\\!-- evalloop:gate --&gt;"
    assert md("@team") == "@\u200bteam" and md("a|b\nc") == "a\\|b c" and md("$x$") == "\\$x\\$"


def test_our_sentences_keep_plain_code_spans_and_escape_quoted_values() -> None:
    said = md_code("the token lacks `pull-requests: write`: no comment posted (HTTP 403: " + ATTACK + ")")
    assert said.startswith("the token lacks `pull-requests: write`: no comment posted (HTTP 403: ")
    assert "@everyone" not in said and "<!--" not in said and "![x](" not in said and "\n" not in said
    # A quoted value's backticks only shift which parts are spans; a span that is not plain is escaped.
    shifted = md_code("fixture `" + "x` ![x](http://evil.example/x.png) `@everyone <details>" + "` removed")
    assert "![x](" not in shifted and "@everyone" not in shifted and "<details" not in shifted
    assert code("push") == "`push`" and code("a`b @c") == "a\\`b @\u200bc"


def test_clean_keeps_line_breaks_only_when_asked() -> None:
    assert clean("a\x1b[31mb\x07\nc") == "ab\\u0007 c"
    assert clean("a\r\nb\x01", lines=True) == "a\r\nb\\u0001"


def test_code_block_cannot_be_closed_early_nor_carry_the_marker() -> None:
    block = code_block("``` not the end\n<!-- evalloop:gate -->")
    assert block.startswith("````text\n") and block.endswith("\n````") and "<!--" not in block
