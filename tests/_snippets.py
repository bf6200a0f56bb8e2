"""Code blocks of the README and the docs, and how the docs test runs them.

A block is a fenced code block. Its language says what it is:

- ``python``: a script, run in a subprocess with the workspace's venv;
- ``pycon``: an interactive session, checked with :mod:`doctest` (exception details
  after the type are not compared);
- ``bash``: shell commands, run with ``bash -e -o pipefail`` in the workspace, the venv
  activated (as the README's set-up block leaves it);
- ``text``, ``json``, ``jsonl``, ``csv``, ``toml``, ``yaml``: data or output, not run.

An HTML comment right before a block (invisible on GitHub and in the docs site) can say
more: ``<!-- snippet: KEY[=VALUE] ... -->`` with

- ``setup``: the README block that creates and activates the venv (run first);
- ``file=NAME``: write the block to NAME in the workspace instead of running it;
- ``background=PORT``: start the block and leave it running (a server) until the page's
  blocks are done; the next block runs once PORT accepts connections;
- ``expect=TEXT``: the block's output must contain TEXT;
- ``quick``: run with ``KLING_BENCH_QUICK=1`` (benchmarks shrink their workload);
- ``skip="reason"``: not run; only the blocks listed in the test's allow-list may skip.

Placeholders a reader replaces with their own values (``your-access-key``,
``your-secret-key``, ``redis://redis.internal:6379/0``) are replaced with the test's
simulator and Redis server.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

RUN = {"python", "pycon", "bash"}
DATA = {"text", "json", "jsonl", "csv", "toml", "yaml"}
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*snippet:(?P<body>.*?)-->\s*$")


@dataclass
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    lang: str
    code: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: str, text: str) -> list[Block]:
    """Every fenced block of ``text`` with the directive before it (if any)."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent = len(match["indent"])
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:] if lines[i].startswith(" " * indent) else lines[i])
            i += 1
        options: dict[str, str] = {}
        prev = start - 1
        if prev >= 0:
            directive = DIRECTIVE.match(lines[prev])
            if directive:
                for word in shlex.split(directive["body"]):
                    key, _, value = word.partition("=")
                    options[key] = value
        found.append(Block(page, start + 1, match["lang"], "\n".join(body) + "\n", options))
        i += 1
    return found


def page_blocks(root: Path, page: str) -> list[Block]:
    """The blocks of ``page`` (a path under ``root``)."""
    return blocks(page, (root / page).read_text())
