"""``batch status``: where a batch stands, and the command that continues it.

``batch run --simulate`` keeps its simulator's tasks in ``SIM_STATE_FILE`` in the output
folder; the resume command then carries ``--simulate``.
"""

from __future__ import annotations

import time
from pathlib import Path

from kling_async.batch import Journal
from kling_async.batch._states import JobState

__all__ = ["SIM_STATE_FILE", "resume_command", "status_text"]


def status_text(journal: Journal, out: str) -> str:
    """What ``batch status`` prints: jobs per state, whether a run is going on, when
    it started and ended, why it stopped, and the command that continues it."""
    counts = journal.counts()
    total = sum(counts.values())
    lines = [
        f"{total} jobs   " + "  ".join(f"{state}: {n}" for state, n in counts.items()),
    ]
    now = time.time()
    started = _unix(journal.meta("started_at"))
    finished = _unix(journal.meta("finished_at"))
    last = journal.last_change()

    def ago(t: float) -> str:
        return f"{_clock(t)} ({_span(now - t)} ago)"

    if Journal.in_use(out):
        run = "a run is going on"
        if last is not None:
            run += f"; last change {_span(now - last)} ago"
    elif finished is not None and (last is None or finished >= last - 1):
        run = f"not running; the last run ended {ago(finished)}"
    else:
        run = "not running (the last run was interrupted or killed)"
    lines.append(f"run: {run}")
    if started is not None:
        lines.append(f"started: {ago(started)}")
    stopped = journal.meta("stopped")
    if stopped and not Journal.in_use(out):
        lines.append(f"stopped: {stopped}")
    pending = sum(counts.get(s.value, 0) for s in JobState if s.is_pending)
    if pending or counts.get("succeeded"):
        lines.append(
            f"{pending} job(s) to create or follow, {counts.get('succeeded', 0)} to download: "
            f"{resume_command(out)}"
        )
    elif counts.get("failed") or counts.get("expired"):
        lines.append(f"to create failed jobs again: {resume_command(out)} --retry-failed")
    else:
        lines.append("every job is done")
    return "\n".join(lines)


def _unix(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _clock(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


SIM_STATE_FILE = "simulator-state.jsonl"
"""Where ``batch run --simulate`` keeps its simulator's tasks (in the output folder)."""


def resume_command(out: str) -> str:
    """The command that continues the batch in ``out`` (with ``--simulate`` when the
    batch runs on the in-process simulator)."""
    simulated = (Path(out) / SIM_STATE_FILE).exists()
    return f"kling-async batch resume {out}" + (" --simulate" if simulated else "")
