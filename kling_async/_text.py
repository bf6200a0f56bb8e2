"""One rule for text and numbers from outside (Kling's answers, job files).

Every string that came from outside and reaches a medium passes that medium's one
function, applied where the medium is written, not where the string is used:

* a terminal: :func:`for_terminal` (the CLI's one writer escapes every line it
  prints; control characters, escape codes, bidi overrides and line breaks inside a
  line come out as ``\\x1b``-style escapes, so a task id cannot retitle, recolour or
  add lines to the terminal);
* a log line: :func:`for_log` (a filter on every ``kling_async`` logger rewrites
  each record's message, whichever handler the application installs);
* a page: :func:`for_html` (HTML-escaped and control-free, attributes included).

Numbers from Kling are read leniently by :func:`read_units`: Kling answers strings
(``"2.4"``), and ``"N/A"``, ``"NaN"``, ``""``, infinities and negative amounts
mean "unknown" (None), never a figure to add up.

Data flow::

    Kling answer / job file --> stored as is (journal, Task) --> medium:
        terminal  cli writer  -> for_terminal(line)
        log       log filter  -> for_log(message)
        page      renderer    -> for_html(value)
    numbers: read_units(value) -> float | None (unknown is shown "unknown", never summed)
"""

from __future__ import annotations

import html
import math
import unicodedata
from typing import Any

__all__ = ["for_html", "for_log", "for_terminal", "is_control", "read_units"]

_BIDI_CONTROLS = frozenset("\u200e\u200f\u061c") | frozenset(map(chr, range(0x202A, 0x202F)))
_BIDI_CONTROLS |= frozenset(map(chr, range(0x2066, 0x206A)))


def is_control(char: str) -> bool:
    """C0/C1 controls, lone surrogates, line/paragraph separators and bidirectional
    overrides (they would reach terminals and file names raw); joiners inside emoji
    stay allowed."""
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(value: object) -> str:
    """``value`` as one line that is safe to print: every control character
    (``ESC``, ``BEL``, ``CR``, ``LF``, C1, lone surrogates, bidi overrides) escaped as
    ``\\xNN`` / ``\\uNNNN``."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return "".join(_escape(c) if is_control(c) else c for c in text)


def for_log(value: object) -> str:
    """A log message made safe the same way (a log line is read on a terminal)."""
    return for_terminal(value)


def for_html(value: object) -> str:
    """``value`` for a page: control characters escaped, then HTML-escaped (quotes
    too, so it is safe inside attributes)."""
    return html.escape(for_terminal(value), quote=True)


def read_units(value: Any) -> float | None:
    """A number of units Kling reported, or None when it is not one (``None``,
    ``""``, ``"N/A"``, ``"NaN"``, infinities, negative amounts, anything else)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number
