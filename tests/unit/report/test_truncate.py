from __future__ import annotations

from evalloop.report import truncate


def test_truncate_cuts_at_a_section_boundary_with_a_note() -> None:
    text = "# Report\n\nintro\n" + "".join(f"## Section {i}\n\n" + "ü" * 300 + "\n\n" for i in range(20))
    cut = truncate.truncate_markdown(text, 4000, where="the limit", full_report="See report.json.")
    assert len(cut.encode()) <= 4000
    body, note = cut.split("\n---\n> **Truncated:**")
    assert body.rstrip().endswith("ü") and "## Section" in body
    assert "14 section(s) (“Section 6”" in note and "and 4 more" in note and "See report.json." in note
    assert truncate.truncate_markdown(text, len(text.encode())) == text


def test_truncate_inside_a_section_closes_fences_and_details() -> None:
    text = "# Report\n<details><summary>x</summary>\n\n```text\n" + "line\n" * 2000 + "```\n</details>\n"
    cut = truncate.truncate_markdown(text, 1000)
    assert len(cut.encode()) <= 1000
    assert cut.count("```") % 2 == 0 and cut.count("<details>") == cut.count("</details>")
    tiny = truncate.truncate_markdown("x" * 5000, 300)
    assert len(tiny.encode()) <= 300 and "Truncated" in tiny


def test_truncate_keeps_the_protection_section() -> None:
    text = ("## verdict\n\n" + truncate.PROTECTION_HEADING + ": 1 needs approval\n\n| row |\n\n"
            + "".join(f"### Part {i}\n\n" + "p" * 500 + "\n\n" for i in range(10)))
    cut = truncate.truncate_markdown(text, 1500)
    assert len(cut.encode()) <= 1500 and "| row |" in cut and "### Part 0" in cut


def test_fit_takes_the_first_rendering_that_fits() -> None:
    renderings = ["a" * 100, "b" * 50, "c" * 10]
    assert truncate.fit(iter(renderings), 60, head="", note="!", last_resort=str) == "b" * 50


def test_fit_cuts_the_last_rendering_at_a_line_after_its_head() -> None:
    last = "head\n<details>\n" + "".join(f"line {i}\n" for i in range(100))
    cut = truncate.fit(iter([last]), 120, head="head\n", note="\n(cut)\n", last_resort=str)
    assert len(cut.encode()) <= 120 and cut.startswith("head\n<details>\nline 0\n")
    assert cut.endswith("\n</details>\n(cut)\n") and "line 99" not in cut


def test_fit_falls_back_when_not_even_the_head_fits() -> None:
    cut = truncate.fit(iter(["h" * 500]), 40, head="h" * 500, note="!", last_resort=lambda room: "x" * (room + 9))
    assert cut == "x" * 40


def test_fit_rows_says_how_many_did_not_fit() -> None:
    def more(n: int) -> list[str]:
        return [f"and {n} more"] if n else []

    rows = [f"row {i}" for i in range(10)]
    text = truncate.fit_rows(["top"], rows, more, "\nend", 40)
    assert len(text.encode()) <= 40 and text.startswith("top\nrow 0") and text.endswith("more\nend")
    assert truncate.fit_rows(["top"], rows[:2], more, "\nend", 1000) == "top\nrow 0\nrow 1\nend"
    assert truncate.hard_cut("üü", 3) == "ü"
