"""``TaskHandle``: the caller's read-only view of one submission, from queue to result.

A handle is awaitable (``task = await handle``) and gives the finished
:class:`~kling_async.Task`, or raises :class:`~kling_async.TaskFailedError`,
:class:`~kling_async.TaskCancelledError`, :class:`~kling_async.TaskExpiredError`,
:class:`~kling_async.TaskDetachedError` or the typed API error that refused the
create. Awaiting is shielded: cancelling the coroutine that awaits (or a
:meth:`TaskHandle.wait` timeout) never cancels the submission, and a created task
keeps being tracked until Kling says it ended (or the client closes).

The state lives in the scheduler's private record
(:class:`~kling_async.scheduling._record.Submission`), which the scheduler hands out
and the client wraps in a handle; the handle only reads it, and asks the scheduler
(through the ``cancel`` function it was given) to cancel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

from kling_async.errors import TaskTimeoutError
from kling_async.models import KlingRequest, Task
from kling_async.scheduling._record import HandleState, Submission

__all__ = ["HandleState", "TaskHandle"]

Listener = Callable[["TaskHandle"], None]


class TaskHandle:
    """One submission: awaitable, cancellable, observable (read-only).

    Attributes:
        family: the task family name (``"text2video"``...).
        request: the validated request model (None for a task followed by ``attach``).
        external_task_id: always set (generated when not given).
        task_id: Kling's id once the task is created, else None.
        pack: where its slots count: the pack (``"video"``, ``"image"``,
            ``"try_on"``), or ``"pack/model"`` with ``concurrency_scope="pack_model"``;
            None for families without a pack.
        cost: slots the task holds while it runs.
        priority: higher runs first within its pack.
        state: a :class:`HandleState`.
        task: the latest :class:`~kling_async.Task` seen, if any.
        error: why the handle did not succeed, once decided.

    Example:
        >>> handle = client.submit(TextToVideo(prompt="a fox"))   # doctest: +SKIP
        >>> task = await handle.wait(timeout=600)                   # doctest: +SKIP
    """

    __slots__ = ("_cancel", "_listeners", "_record")

    def __init__(self, record: Submission, cancel: Callable[[Submission], bool]) -> None:
        """Made by the client around the scheduler's record; ``cancel`` asks the
        scheduler to cancel ``record``."""
        self._record = record
        self._cancel = cancel
        self._listeners: list[Listener] | None = None  # most handles never get one

    # -- what it shows -------------------------------------------------------------

    @property
    def family(self) -> str:
        """The task family name."""
        return self._record.family

    @property
    def request(self) -> KlingRequest | None:
        """The request (None for a task followed by ``attach``)."""
        return self._record.request

    @property
    def external_task_id(self) -> str:
        """The external id every create of this submission carries."""
        return self._record.external_task_id

    @property
    def task_id(self) -> str | None:
        """Kling's task id once created."""
        return self._record.task_id

    @property
    def pack(self) -> str | None:
        """The slot key its slots count under (see the class docstring)."""
        key = self._record.key
        return None if key is None else str(key)

    @property
    def cost(self) -> int:
        """Slots it holds while it runs."""
        return self._record.cost

    @property
    def priority(self) -> int:
        """Its priority within its pack."""
        return self._record.priority

    @property
    def state(self) -> HandleState:
        """Where it is now."""
        return self._record.state

    @property
    def task(self) -> Task | None:
        """The latest task seen."""
        return self._record.task

    @property
    def error(self) -> BaseException | None:
        """Why it did not succeed, once decided."""
        return self._record.error

    # -- awaiting -------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Task]:
        return asyncio.shield(self._record.waiter()).__await__()

    async def wait(self, timeout: float | None = None) -> Task:  # noqa: ASYNC109 - public API
        """Wait for the outcome, at most ``timeout`` seconds.

        Raises:
            TaskTimeoutError: the time ran out; the submission goes on and the
                handle can be awaited again.
            KlingError: as for ``await handle`` (``TaskFailedError``,
                ``TaskCancelledError``, ``TaskExpiredError``, ``TaskDetachedError``,
                an ``APIError``).
        """
        future = self._record.waiter()
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            if future.done():
                return future.result()
            raise TaskTimeoutError(
                f"task {self.task_id or self.external_task_id} not finished after {timeout}s "
                f"(state {self.state.value}); it is still tracked"
            ) from None

    def done(self) -> bool:
        """True once the outcome is decided (the task may still hold slots if cancelled)."""
        return self._record.final

    def result(self) -> Task:
        """The finished task; raises the handle's error, or InvalidStateError if pending."""
        return self._record.outcome()

    def cancel(self) -> bool:
        """Stop waiting for this submission.

        A queued submission is removed and never created. A created task stops
        being awaited (awaiting raises TaskCancelledError) but keeps its slots
        until Kling reports that it ended. Returns False when already decided.
        """
        return self._cancel(self._record)

    # -- observing --------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(handle)`` after every state change (for progress displays)."""
        if self._listeners is None:
            self._listeners = []
            self._record.listen(self._notify)
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

    def _notify(self) -> None:
        for listener in list(self._listeners or ()):
            listener(self)

    def __repr__(self) -> str:
        return repr(self._record)
