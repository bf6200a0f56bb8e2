"""``python -m kling_async.simulator``: same as ``kling-async simulate``."""

from __future__ import annotations

import sys

from kling_async.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["simulate", *sys.argv[1:]]))
