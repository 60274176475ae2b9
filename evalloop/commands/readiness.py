"""`evalloop readiness`: the seed's readiness questions and design checklist, answered from the
repository. Exit 0; with --fail-on-gap, 1 when any question has a gap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from evalloop.readiness.facts import gather
from evalloop.readiness.questions import review
from evalloop.repo.config import find_root
from evalloop.repo.fs import atomic_write
from evalloop.report import readiness as render


def readiness(*, fmt: str, output: Path | None, fail_on_gap: bool, today: dt.date | None) -> int:
    answers = review(gather(find_root(Path.cwd()), today))
    text = {"text": render.format_text, "markdown": render.format_markdown, "json": render.format_json}[fmt](answers)
    if output is not None:
        atomic_write(output, text)
    else:
        print(text, end="")
    return 1 if fail_on_gap and any(a.gaps for a in answers) else 0
