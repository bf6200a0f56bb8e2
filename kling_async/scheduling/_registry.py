"""The registry of live submissions: who is queued or in flight, by external id.

Owns: making records (FIFO sequence numbers), the map of live records by
``external_task_id`` (one live submission per id), the records whose create call is
under way (and an event set whenever none is), terminal callbacks that arrived before
their create answer, and deciding every live record when the scheduler stops
(:meth:`Registry.end_all`). It hands out records; the face wraps them in handles.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from kling_async.endpoints import SlotKey
from kling_async.errors import SchedulerFailedError, TaskCancelledError, TaskDetachedError
from kling_async.models import Task
from kling_async.scheduling._record import HandleState, Submission, transition
from kling_async.wire._task_calls import CreateCall

__all__ = ["Registry"]

logger = logging.getLogger("kling_async.scheduler")

LISTED = 20
"""Detached tasks named in the closing warning (the rest are counted)."""


class Registry:
    """Live records by external id."""

    def __init__(self) -> None:
        self._seq = itertools.count()
        self._live: dict[str, Submission] = {}
        self._creating: set[Submission] = set()
        self._none_creating = asyncio.Event()
        self._none_creating.set()
        self._early: dict[str, tuple[Task, bool]] = {}

    def new(
        self,
        *,
        family: str,
        call: CreateCall | None,
        external_task_id: str,
        key: SlotKey | None,
        cost: int,
        priority: int = 0,
        deadline: float | None = None,
        callback_url: str | None = None,
        state: HandleState = HandleState.QUEUED,
        task: Task | None = None,
    ) -> Submission:
        """A new record, next in FIFO order (a task that exists already starts where
        Kling says it is, with its ``task``)."""
        return Submission(
            family=family,
            call=call,
            external_task_id=external_task_id,
            key=key,
            cost=cost,
            seq=next(self._seq),
            priority=priority,
            deadline=deadline,
            callback_url=callback_url,
            state=state,
            task=task,
        )

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

    # -- creates under way ---------------------------------------------------------------

    def begin_create(self, record: Submission) -> None:
        """``record``'s create call (or its outcome resolution) starts."""
        self._creating.add(record)
        self._none_creating.clear()

    def end_create(self, record: Submission) -> None:
        """``record``'s create step is over (whatever its outcome)."""
        self._creating.discard(record)
        if not self._creating:
            self._none_creating.set()

    @property
    def creating(self) -> int:
        """Create calls (or outcome resolutions) under way."""
        return len(self._creating)

    async def creates_settled(self) -> None:
        """Wait until no create call is under way."""
        await self._none_creating.wait()

    # -- terminal callbacks that beat their create answer -----------------------------------

    def keep_early(self, external_task_id: str, task: Task, trusted: bool) -> None:
        """Keep a terminal callback for a record whose create answer is still on its way."""
        self._early[external_task_id] = (task, trusted)

    def take_early(self, external_task_id: str) -> tuple[Task, bool] | None:
        """The callback kept for ``external_task_id`` (task, trusted), taken out."""
        if not self._early:
            return None
        return self._early.pop(external_task_id, None)

    # -- the end ------------------------------------------------------------------------------

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
        self._creating.clear()
        self._none_creating.set()
        self._early.clear()
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
