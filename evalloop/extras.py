"""Optional dependencies: the commands that need one say how to install it, in one line."""

from __future__ import annotations

import importlib.util

from evalloop.errors import UsageError


def require(module: str, extra: str, what: str) -> None:
    """UsageError naming the extra to install when `module` cannot be imported."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(f"{what} needs {module}, which is not installed: pip install 'evalloop[{extra}]'")
