"""The command's one writer to the terminal.

Everything ``kling-async`` prints goes through :func:`say`, which applies the one
terminal rule (:func:`kling_async._text.for_terminal`) to every line: a task id,
message, URL or file name from Kling or a job file cannot carry escape codes, bells
or carriage returns to the terminal. The line breaks are the command's own.
``tests/test_text_rule.py`` checks that no other ``print`` exists under ``cli/``.
"""

from __future__ import annotations

import sys

from kling_async._text import for_terminal

__all__ = ["say"]


def say(*parts: object, err: bool = False, sep: str = " ") -> None:
    """Print ``parts`` (like ``print``) with every line made safe for a terminal;
    ``err`` writes to stderr. Always flushed."""
    text = sep.join(str(part) for part in parts)
    safe = "\n".join(for_terminal(line) for line in text.split("\n"))
    stream = sys.stderr if err else sys.stdout
    stream.write(safe + "\n")
    stream.flush()
