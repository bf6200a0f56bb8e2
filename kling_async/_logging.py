"""Readable logging for scripts and the CLI, switched on by ``KLING_LOG``.

The library only creates loggers (``kling_async.*``) and never configures logging
itself, except when the user asks: ``KLING_LOG=debug`` (or ``info``, ``warning``,
``error``; ``1`` / ``true`` mean ``info``) in the environment, or a call to
:func:`enable_logging`. Either attaches one stderr handler to the ``kling_async``
logger. Log records never carry secrets: keys, tokens, webhook secrets and callback
tokens are kept out of every message (see ``tests/test_logging.py``). Text from
outside (task ids, messages, URLs) cannot drive the terminal a log is read on: a
filter on every package logger passes each record's message through the one log
rule (:func:`kling_async._text.for_log`), whatever handler the application uses.

Loggers:

- ``kling_async.transport``  every request (DEBUG), retries and re-minted tokens (INFO)
- ``kling_async.scheduler``  admissions and creates (DEBUG), 1303 cuts, failed creates,
  stops, unreachable Kling (INFO / WARNING)
- ``kling_async.tracker``    poll rounds (DEBUG), failing polls (WARNING)
- ``kling_async.callbacks``  callback deliveries refused or ignored (INFO / WARNING)
- ``kling_async.batch``      journal and download steps of batch jobs
- ``kling_async.redis``      the shared slot pool: adoptions, outages
- ``kling_async.simulator``  the simulator's own events (callbacks sent or failed)
- ``kling_async.tasks``      task lookups and lists
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Final, TextIO

from kling_async._text import for_log
from kling_async.errors import UsageError

__all__ = ["ENV_LOG", "LOGGER_NAMES", "enable_logging", "logging_from_env"]

ENV_LOG: Final = "KLING_LOG"
"""Environment variable that turns readable logging on (``debug``, ``info``, ...)."""

LOGGER_NAMES: Final = (
    "kling_async.transport",
    "kling_async.scheduler",
    "kling_async.tracker",
    "kling_async.callbacks",
    "kling_async.batch",
    "kling_async.redis",
    "kling_async.simulator",
    "kling_async.tasks",
)
"""Every logger the package writes to (all children of ``kling_async``)."""


class _OneLogRule(logging.Filter):
    """Rewrites a record's message through :func:`~kling_async._text.for_log`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = for_log(message)
        if safe != message or record.args:
            record.msg, record.args = safe, None
        return True


_RULE = _OneLogRule()
for _name in LOGGER_NAMES:
    _logger = logging.getLogger(_name)
    if _RULE not in _logger.filters:
        _logger.addFilter(_RULE)

_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "1": logging.INFO,
    "true": logging.INFO,
    "yes": logging.INFO,
    "on": logging.INFO,
}
_FORMAT: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_MARK: Final = "_kling_async_handler"


def enable_logging(level: int | str = "info", *, stream: TextIO | None = None) -> logging.Handler:
    """Send the ``kling_async`` loggers to stderr (or ``stream``) in a readable format.

    Calling it again changes the level and reuses the handler. Applications that
    configure logging themselves do not need it: the records propagate as usual.

    Args:
        level: ``"debug"``, ``"info"``, ``"warning"``, ``"error"`` or a ``logging`` level.
        stream: where to write (default ``sys.stderr``).

    Returns:
        The handler attached to the ``kling_async`` logger.

    Raises:
        ValueError: an unknown level name.
    """
    if isinstance(level, str):
        key = level.strip().lower()
        if key not in _LEVELS:
            raise UsageError(f"unknown log level {level!r}; expected debug, info, warning or error")
        level = _LEVELS[key]
    root = logging.getLogger("kling_async")
    handler = next((h for h in root.handlers if getattr(h, _MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(level)
    handler.setLevel(level)
    return handler


def logging_from_env(environ: Mapping[str, str] | None = None) -> logging.Handler | None:
    """Apply ``KLING_LOG`` if it is set (done once when ``kling_async`` is imported).

    An unknown value is reported on stderr and logging stays off: a typo in an
    environment variable must not stop a script.
    """
    value = (os.environ if environ is None else environ).get(ENV_LOG, "").strip()
    if not value or value.lower() in ("0", "false", "no", "off"):
        return None
    try:
        return enable_logging(value)
    except ValueError as exc:
        print(f"kling_async: {ENV_LOG}: {exc}; logging stays off", file=sys.stderr)
        return None
