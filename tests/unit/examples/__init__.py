"""The worked example's own code: examples/refund-support, imported as its scripts import it."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from tests.support import PROJECT

EXAMPLE = PROJECT / "examples" / "refund-support"


def example_module(name: str) -> ModuleType:
    """`refund_agent.telemetry`, `simulate`, ... from the example's folder."""
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    return importlib.import_module(name)
