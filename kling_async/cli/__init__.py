"""The ``kling-async`` command line: ``simulate``, ``batch run|resume|status|report|estimate``,
``task get`` and ``account`` (``_main`` builds the parser and runs ``simulate``;
``_commands`` the batch, task and account commands; ``_costs`` the cost flags and
``batch estimate``; ``_status`` ``batch status`` and the resume hint)."""

from kling_async.cli._main import build_parser, main

__all__ = ["build_parser", "main"]
