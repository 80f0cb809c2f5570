"""Per-process logging: structlog in front, stdlib logging underneath.

- stdout is a pipe (journald, tests): one JSON object per line, UTC ISO 8601 timestamps.
  When stdout *is* the journal stream (``$JOURNAL_STREAM`` names our stdout) each line is
  prefixed with ``<N>``, the sd-daemon(3) syslog priority, so ``journalctl -p warning``
  works; systemd strips the prefix before storing the JSON.
- stdout is a terminal: structlog's readable console renderer, coloured unless
  ``NO_COLOR`` is set (https://no-color.org) or ``TERM=dumb``.

Libraries that log through the stdlib (pymodbus, asyncua) go through the same formatter,
so a journal holds one format.  `Availability` implements the project rule "log
*unavailable* once and *recovered* once, never an error per failed poll".
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Hashable, Mapping
from typing import Any, TextIO

import structlog

LOG_FORMATS = ("auto", "json", "console")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}
# sd-daemon(3) priorities (syslog levels) for the journal prefix.
_SYSLOG_PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2,
                    "exception": 3}


class _WellgateHandler(logging.StreamHandler):
    """Marks the handler we installed, so configuring again replaces it instead of adding."""


def use_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _is_journal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when `stream` is the very socket systemd connected to the journal."""
    value = environ.get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    try:
        st = os.fstat(stream.fileno())
        return (st.st_dev, st.st_ino) == (int(dev), int(ino))
    except (AttributeError, OSError, ValueError):
        return False


class _PrefixedJSON:
    """JSONRenderer that optionally prefixes the journal priority."""

    def __init__(self, prefix: bool) -> None:
        self._render = structlog.processors.JSONRenderer(sort_keys=False)
        self._prefix = prefix

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> str:
        level = str(event.get("level", method))
        text = self._render(logger, method, event)
        if self._prefix:
            return f"<{_SYSLOG_PRIORITY.get(level, 6)}>{text}"
        return str(text)


def configure_logging(fmt: str = "auto", level: str = "info", *,
                      stream: TextIO | None = None,
                      environ: Mapping[str, str] | None = None) -> str:
    """Configure structlog and the stdlib root logger for this process.

    Returns the format actually chosen ("json" or "console").  Safe to call again (e.g.
    once before the configuration is read and once after): it replaces, never stacks.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, not {fmt!r}")
    out = sys.stdout if stream is None else stream
    env = os.environ if environ is None else environ
    chosen = fmt if fmt != "auto" else ("console" if _isatty(out) else "json")

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.processors.StackInfoRenderer(),
    ]
    if chosen == "json":
        final: list[Any] = [structlog.processors.format_exc_info,
                            structlog.processors.UnicodeDecoder(),
                            _PrefixedJSON(_is_journal(out, env))]
    else:
        final = [structlog.dev.ConsoleRenderer(colors=use_colour(out, env),
                                               timestamp_key="ts")]

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = _WellgateHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _WellgateHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    set_level(level)
    # Warnings from the warnings module become log records instead of bare stderr text.
    logging.captureWarnings(True)

    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # a reload may change the level
    )
    return chosen


def set_level(level: str) -> None:
    """Apply a level name from the configuration to this process (libraries included)."""
    try:
        value = LEVELS[level.lower()]
    except KeyError as exc:
        raise ValueError(f"log level must be one of {tuple(LEVELS)}, not {level!r}") from exc
    logging.getLogger().setLevel(value)


def get_logger(name: str, **context: Any) -> Any:
    """A structlog logger named `name` with `context` bound to every line."""
    return structlog.stdlib.get_logger(name).bind(**context)


class Availability:
    """Remembers what is reachable, so outages are logged on their edges only.

    ``failed(key, reason)`` logs "unavailable" the first time `key` fails after being up
    (or never seen), ``ok(key)`` logs "recovered" once when it comes back, with how long
    it was down and how many attempts failed meanwhile.  Both return True on a change.
    """

    def __init__(self, log: Any, what: str = "device", *,
                 clock: Any = time.monotonic) -> None:
        self._log = log
        self._what = what
        self._clock = clock
        self._down: dict[Hashable, tuple[float, int]] = {}  # key -> (since, failures)

    def failed(self, key: Hashable, reason: object = None, **context: Any) -> bool:
        entry = self._down.get(key)
        if entry is not None:
            self._down[key] = (entry[0], entry[1] + 1)
            return False
        self._down[key] = (self._clock(), 1)
        self._log.warning(f"{self._what} unavailable", **{self._what: str(key)},
                          reason=None if reason is None else str(reason), **context)
        return True

    def ok(self, key: Hashable, **context: Any) -> bool:
        entry = self._down.pop(key, None)
        if entry is None:
            return False
        since, failures = entry
        self._log.info(f"{self._what} recovered", **{self._what: str(key)},
                       down_s=round(self._clock() - since, 3), failures=failures, **context)
        return True

    def is_available(self, key: Hashable) -> bool:
        return key not in self._down

    def unavailable(self) -> frozenset[Hashable]:
        return frozenset(self._down)
