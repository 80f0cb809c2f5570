"""The few facts taken from the process environment, read in one place (DESIGN.md)."""

from __future__ import annotations

import os
import sys
from typing import TextIO


def env_language() -> str | None:
    """'es' or 'en' from LC_ALL / LC_MESSAGES / LANG (e.g. es_VE.UTF-8), else None."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value and value not in ("C", "POSIX", "C.UTF-8"):
            code = value[:2].lower()
            return code if code in ("es", "en") else None
    return None


def colour_allowed(stream: TextIO = sys.stdout) -> bool:
    """Colour only on a terminal that supports it (https://no-color.org/)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM", "") in ("", "dumb"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def terminal_width(default: int = 80) -> int:
    """Serial consoles report nothing useful: stay at 80 columns unless told wider."""
    try:
        cols = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        cols = 0
    return cols if cols >= 40 else default
