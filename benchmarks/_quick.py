"""What the three benchmark scripts share (run as ``python benchmarks/NAME.py``, so this
directory is on ``sys.path``)."""

from __future__ import annotations

import os
import sys


def quick_mode() -> bool:
    """``KLING_BENCH_QUICK=1``: a tiny workload, so the docs test can run the documented
    commands in seconds; the figures printed then mean nothing."""
    if not os.environ.get("KLING_BENCH_QUICK"):
        return False
    print("KLING_BENCH_QUICK is set: tiny workload, figures not representative", file=sys.stderr)
    return True
