"""The registry of live submissions: who is queued or in flight, by external id.

Owns: making a record together with its handle (the caller's view), the map of
live records by ``external_task_id`` (one live submission per id), the records
whose create call is under way, terminal callbacks that arrived before their
create answer, and deciding every live record when the scheduler stops
(:meth:`Registry.end_all`).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

from kling_async._handle import TaskHandle
from kling_async.errors import SchedulerFailedError, TaskCancelledError, TaskDetachedError
from kling_async.models import KlingRequest, Task
from kling_async.scheduling._record import HandleState, Submission, transition

__all__ = ["Registry"]

logger = logging.getLogger("kling_async.scheduler")

LISTED = 20
"""Detached tasks named in the closing warning (the rest are counted)."""


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

    def new(
        self,
        *,
        family: str,
        request: KlingRequest | None,
        external_task_id: str,
        key: str | None,
        cost: int,
        priority: int = 0,
        deadline: float | None = None,
        callback_url: str | None = None,
        state: HandleState = HandleState.QUEUED,
    ) -> tuple[Submission, TaskHandle]:
        """A new record (next in FIFO order) and its handle."""
        record = Submission(
            family=family,
            request=request,
            external_task_id=external_task_id,
            key=key,
            cost=cost,
            seq=next(self._seq),
            priority=priority,
            deadline=deadline,
            callback_url=callback_url,
            state=state,
        )
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

    def end_all(self, failure: SchedulerFailedError | None) -> None:
        """Decide every live record and forget it.

        Queued records end cancelled (``failure`` None: the client closed; nothing
        was spent) or failed with ``failure``. Records created or being created end
        detached, their ids in a :class:`~kling_async.TaskDetachedError`; one
        warning lists them.
        """
        detached: list[Submission] = []
        for record in self.live():
            self.forget(record)
            if record.final:
                continue
            if record.state is HandleState.QUEUED:
                error: BaseException = failure or TaskCancelledError(
                    f"{record!r}: the client closed before it was created; nothing was spent"
                )
                state = HandleState.FAILED if failure else HandleState.CANCELLED
                transition(record, state, error=error)
                continue
            detach = TaskDetachedError(
                record.family,
                record.task_id,
                record.external_task_id,
                reason=failure.reason if failure else "the client closed",
            )
            detach.__cause__ = failure
            transition(record, HandleState.DETACHED, error=detach)
            detached.append(record)
        self.submitting.clear()
        self.early.clear()
        if detached:
            shown = ", ".join(
                f"{r.family} task_id={r.task_id or '?'} external_task_id={r.external_task_id}"
                for r in detached[:LISTED]
            )
            more = len(detached) - LISTED
            logger.warning(
                "closed with %d task(s) still running at Kling (they may be billed); "
                "follow them with client.attach(family, task_id=..., external_task_id=...) "
                "(each handle's TaskDetachedError has the ids): %s%s",
                len(detached),
                shown,
                f" and {more} more" if more > 0 else "",
            )
