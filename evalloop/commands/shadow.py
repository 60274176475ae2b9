"""`evalloop shadow`: the baseline and the candidate revision on the same inputs, compared pairwise
(`evalloop.shadow.run`), the report in --format.

Exit 0 when no pair regresses, 1 when one does (`evalloop.shadow.compare.pair` says when), 2 on
usage errors (a revision that names no commit, a --select that matches nothing, a bad inputs line).
"""

from __future__ import annotations

import sys
from pathlib import Path

from evalloop.repo.config import find_root
from evalloop.repo.fs import atomic_write
from evalloop.report.shadow import RENDERERS
from evalloop.shadow.run import Options
from evalloop.shadow.run import shadow as compare


def shadow(*, baseline: str, candidate: str | None, select: tuple[str, ...], inputs: Path | None,
           runs: int | None, fmt: str, output: Path | None, jobs: int) -> int:
    cwd = Path.cwd()
    report = compare(Options(root=find_root(cwd), baseline=baseline, candidate=candidate, select=select,
                             inputs=(cwd / inputs) if inputs is not None else None,
                             inputs_display=str(inputs) if inputs is not None else None, runs=runs, jobs=jobs))
    text = RENDERERS[fmt](report)
    if output is not None:
        atomic_write(output, text)
    else:
        sys.stdout.write(text)
    return 1 if report.regressed else 0
