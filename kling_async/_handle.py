"""``TaskHandle``: the caller's view of one submission, from queue to result.

A handle is awaitable (``task = await handle``) and gives the finished
:class:`~kling_async.Task`, or raises :class:`~kling_async.TaskFailedError`,
:class:`~kling_async.TaskCancelledError`, :class:`~kling_async.TaskExpiredError` or
the typed API error that refused the create. Awaiting is shielded: cancelling the
coroutine that awaits (or a :meth:`TaskHandle.wait` timeout) never cancels the
submission, and a created task keeps being tracked until Kling says it ended.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable, Generator, Hashable
from typing import TYPE_CHECKING, Any

from kling_async.errors import TaskCancelledError, TaskTimeoutError
from kling_async.models import KlingRequest, Task

if TYPE_CHECKING:
    from kling_async.scheduling._scheduler import Scheduler

__all__ = ["HandleState", "TaskHandle"]


class HandleState(enum.StrEnum):
    """Where a submission is."""

    QUEUED = "queued"
    """Waiting for slots (or for its pack's backoff to end)."""
    SUBMITTING = "submitting"
    """The create call is under way (or its outcome is being resolved)."""
    SUBMITTED = "submitted"
    """Kling accepted the task; it holds its slots."""
    PROCESSING = "processing"
    """Kling reported the task as processing."""
    SUCCEEDED = "succeeded"
    """Finished with ``succeed``."""
    FAILED = "failed"
    """Ended with ``failed``, or the create was refused."""
    CANCELLED = "cancelled"
    """The caller cancelled (a created task is still tracked until it ends)."""
    EXPIRED = "expired"
    """Not created before its ``start_deadline``; nothing was spent."""

    @property
    def is_final(self) -> bool:
        """True once the handle's outcome is decided."""
        return self in _FINAL


_FINAL = frozenset(
    {HandleState.SUCCEEDED, HandleState.FAILED, HandleState.CANCELLED, HandleState.EXPIRED}
)

Listener = Callable[["TaskHandle"], None]


class TaskHandle:
    """One submission: awaitable, cancellable, observable.

    Attributes:
        family: the task family name (``"text2video"``...).
        request: the validated request model.
        external_task_id: always set (generated when not given).
        task_id: Kling's id once the task is created, else None.
        pack: the resource pack (``"video"``, ``"image"``, ``"try_on"``) or None.
        cost: slots the task holds while it runs.
        priority: higher runs first within its pack.
        state: a :class:`HandleState`.
        task: the latest :class:`~kling_async.Task` seen, if any.

    Example:
        >>> handle = client.submit(TextToVideo(prompt="a fox"))   # doctest: +SKIP
        >>> task = await handle.wait(timeout=600)                   # doctest: +SKIP
    """

    __slots__ = (
        "_future",
        "_listeners",
        "_scheduler",
        "callback_url",
        "cost",
        "created_at",
        "deadline",
        "duration_key",
        "error",
        "external_task_id",
        "family",
        "holds_slots",
        "in_queue",
        "last_seen",
        "pack",
        "priority",
        "request",
        "seq",
        "state",
        "task",
        "task_id",
    )

    def __init__(
        self,
        *,
        family: str,
        request: KlingRequest | None,
        external_task_id: str,
        pack: str | None,
        cost: int,
        priority: int,
        seq: int,
        deadline: float | None,
        scheduler: Scheduler | None,
        callback_url: str | None = None,
    ) -> None:
        self.family = family
        self.request = request
        self.external_task_id = external_task_id
        self.pack = pack
        self.cost = cost
        self.priority = priority
        self.seq = seq
        self.deadline = deadline
        self.in_queue = False
        self.holds_slots = False
        """True while this process counts the task's slots in its pack."""
        self.state = HandleState.QUEUED
        self.task_id: str | None = None
        self.task: Task | None = None
        self.error: BaseException | None = None
        self.callback_url = callback_url
        self.created_at = 0.0
        self.last_seen = 0.0
        self.duration_key: tuple[Hashable, ...] | None = None
        """What durations are learned under (family, mode, duration); set by the tracker."""
        self._scheduler = scheduler
        self._future: asyncio.Future[Task] = asyncio.get_running_loop().create_future()
        self._listeners: list[Listener] | None = None

    # -- awaiting -------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Task]:
        return asyncio.shield(self._future).__await__()

    async def wait(self, timeout: float | None = None) -> Task:  # noqa: ASYNC109 - public API
        """Wait for the outcome, at most ``timeout`` seconds.

        Raises:
            TaskTimeoutError: the time ran out; the submission goes on and the
                handle can be awaited again.
            TaskFailedError, TaskCancelledError, TaskExpiredError, APIError: as
                for ``await handle``.
        """
        try:
            return await asyncio.wait_for(asyncio.shield(self._future), timeout)
        except TimeoutError:
            if self._future.done():
                return self._future.result()
            raise TaskTimeoutError(
                f"task {self.task_id or self.external_task_id} not finished after {timeout}s "
                f"(state {self.state.value}); it is still tracked"
            ) from None

    def done(self) -> bool:
        """True once the outcome is decided (the task may still hold slots if cancelled)."""
        return self._future.done()

    def result(self) -> Task:
        """The finished task; raises the handle's error, or InvalidStateError if pending."""
        return self._future.result()

    def cancel(self) -> bool:
        """Stop waiting for this submission.

        A queued submission is removed and never created. A created task stops
        being awaited (awaiting raises TaskCancelledError) but keeps its slots
        until Kling reports that it ended. Returns False when already decided.
        """
        if self._future.done():
            return False
        if self._scheduler is not None:
            self._scheduler.cancel(self)
        else:
            self._finish(HandleState.CANCELLED, error=TaskCancelledError("cancelled"))
        return True

    # -- observing --------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(handle)`` after every state change (for progress displays)."""
        if self._listeners is None:
            self._listeners = []
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if self._listeners and listener in self._listeners:
            self._listeners.remove(listener)

    async def changes(self) -> AsyncIterator[HandleState]:
        """Yield each new state until the handle is decided.

        Example:
            >>> async for state in handle.changes():           # doctest: +SKIP
            ...     print(handle.external_task_id, state)
        """
        queue: asyncio.Queue[HandleState] = asyncio.Queue()

        def push(handle: TaskHandle) -> None:
            queue.put_nowait(handle.state)

        self.add_listener(push)
        try:
            yield self.state
            while not self.state.is_final or not queue.empty():
                state = await queue.get()
                yield state
                if state.is_final:
                    return
        finally:
            self.remove_listener(push)

    # -- used by the scheduler ----------------------------------------------------------

    def _set_state(self, state: HandleState) -> None:
        if state is self.state:
            return
        self.state = state
        if self._listeners:
            for listener in list(self._listeners):
                listener(self)

    def _finish(
        self, state: HandleState, *, task: Task | None = None, error: BaseException | None = None
    ) -> None:
        """Decide the outcome (once); later calls are ignored."""
        if self._future.done():
            return
        if task is not None:
            self.task = task
        self.error = error
        if error is not None:
            self._future.set_exception(error)
            # Nobody may ever await a cancelled or failed handle: do not warn about it.
            self._future.exception()
        else:
            assert task is not None
            self._future.set_result(task)
        self._set_state(state)

    def __repr__(self) -> str:
        ident = self.task_id or self.external_task_id
        return f"<TaskHandle {self.family} {ident} {self.state.value} cost={self.cost}>"
