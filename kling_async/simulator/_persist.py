"""Keep the simulator's tasks in a file, so a restarted simulator still knows them.

``kling-async batch run --simulate`` runs Kling in its own process: when that process
is interrupted, the tasks it created would vanish with it and ``batch resume
--simulate`` could neither find nor download them. With a state file, every created
task is appended as one JSON line *before* the create is answered; a new simulator
given the same file loads them, with their remaining time measured in wall-clock
seconds (a task that should have ended while nothing ran has ended), their slots held
until then, and their external ids still taken (creating one again answers 1201, as
live Kling does).

A last line cut short by a kill is ignored: its create was never answered, so the
client treats it as never made and creates it again.

File format: a header line ``{"kling_async_simulator": 1, "time_scale": ...}``, then
one line per task.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Any, Protocol

from kling_async._files import open_append, refuse_link
from kling_async.errors import UsageError
from kling_async.simulator._state import SimTask

__all__ = ["StateFile", "read_time_scale"]

_FORMAT = 1
_FIELDS = (
    "task_id",
    "family",
    "path",
    "pack",
    "cost",
    "external_task_id",
    "callback_url",
    "fails",
    "failure_msg",
    "created_ms",
    "duration_ms",
    "params",
    "result_kind",
    "seq",
    "quirks",
)


def read_time_scale(path: str | Path) -> float | None:
    """The time scale a state file was written with (None when there is none)."""
    try:
        with open(path, encoding="utf-8") as f:
            header = json.loads(f.readline())
    except (OSError, ValueError):
        return None
    scale = header.get("time_scale") if isinstance(header, dict) else None
    return float(scale) if isinstance(scale, int | float) and scale > 0 else None


class _Core(Protocol):
    """What loading needs of the simulator core (kept structural: no import cycle)."""

    base_url: str

    def now(self) -> float: ...

    def restore_task(self, task: SimTask, model_key: str) -> None: ...


class StateFile:
    """Appends created tasks to ``path`` and loads them into a new simulator."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        self._header: dict[str, Any] = {"kling_async_simulator": _FORMAT}

    def load(self, core: _Core) -> int:
        """Put the file's tasks into ``core``; returns how many were loaded.

        A last line cut short by a kill is cut off the file, so the next task
        appended starts on a line of its own.
        """
        refuse_link(self.path)  # its tasks are appended: never through a planted link
        if not self.path.exists():
            return 0
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        try:
            meta = json.loads(lines[0])
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or meta.get("kling_async_simulator") != _FORMAT:
            raise UsageError(f"{self.path} is not a simulator state file")
        good = len(lines[0]) + 1
        loaded = 0
        for line in lines[1:]:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                task = _task(row, core)
            except (ValueError, KeyError, TypeError):
                break  # cut short by a kill: that create was never answered
            core.restore_task(task, str(row.get("model_key") or row["family"]))
            loaded += 1
            good += len(line) + 1
        if good < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good)
        return loaded

    def record(self, task: SimTask, model_key: str) -> None:
        """Append ``task`` (durably enough to survive the process being killed)."""
        if self._file is None:
            new = not self.path.exists() or self.path.stat().st_size == 0
            self._file = open_append(self.path)  # never through a planted link
            if new:
                self._file.write(json.dumps(self._header) + "\n")
        row = {name: getattr(task, name) for name in _FIELDS}
        row["model_key"] = model_key
        row["design"] = task.design
        self._file.write(json.dumps(row, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def set_header(self, **values: Any) -> None:
        """What the header line says (written with the first task)."""
        self._header = {"kling_async_simulator": _FORMAT, **values}

    def close(self) -> None:
        """Close the file (it stays on disk)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _task(row: dict[str, Any], core: _Core) -> SimTask:
    now = core.now()
    age = time.time() - row["created_ms"] / 1000  # real seconds since the create
    created = now - age
    duration = row["duration_ms"] / 1000
    values = {name: row[name] for name in _FIELDS}
    return SimTask(
        created_at=created,
        processing_at=created + duration * 0.1,
        ends_at=created + duration,
        base_url=core.base_url,
        design=str(row.get("design") or "v1"),
        **values,
    )
