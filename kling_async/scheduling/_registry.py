"""The registry of live submissions: who is queued or in flight, by external id.

Owns: making a record together with its handle (the caller's view), the map of
live records by ``external_task_id`` (one live submission per id), the records
whose create call is under way, and terminal callbacks that arrived before their
create answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from kling_async._handle import TaskHandle
from kling_async.models import Task
from kling_async.scheduling._record import Submission

__all__ = ["Registry"]


class Registry:
    """Live records by external id.

    Args:
        cancel: what a handle's ``cancel()`` calls (the scheduler's cancel).
    """

    def __init__(self, cancel: Callable[[Submission], bool]) -> None:
        self._cancel = cancel
        self._seq = itertools.count()
        self._live: dict[str, Submission] = {}
        self.submitting: set[Submission] = set()
        """Records whose create call (or outcome resolution) is under way."""
        self.early: dict[str, tuple[Task, bool]] = {}
        """Terminal callbacks (task, trusted) that beat their create answer."""

    def new(self, **fields: Any) -> tuple[Submission, TaskHandle]:
        """A new record (next in FIFO order) and its handle."""
        record = Submission(seq=next(self._seq), **fields)
        return record, TaskHandle(record, self._cancel)

    def hold(self, record: Submission) -> None:
        """Register ``record`` until its slots are free and its outcome known."""
        self._live[record.external_task_id] = record

    def forget(self, record: Submission) -> None:
        """Drop ``record`` (only if it is the one registered under its id)."""
        if self._live.get(record.external_task_id) is record:
            del self._live[record.external_task_id]

    def get(self, external_task_id: str) -> Submission | None:
        """The live record with this external id."""
        return self._live.get(external_task_id)

    def live(self) -> list[Submission]:
        """Every live record."""
        return list(self._live.values())
