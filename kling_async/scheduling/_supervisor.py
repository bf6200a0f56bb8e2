"""The scheduler's background work: one anyio task group, and what ended it.

Owns: the runner task that holds the task group, everything spawned into it
(dispatchers, pollers, the pool's upkeep, and the workers that run create steps),
and the life states ``new -> running -> stopped``. Every piece of background work
runs in that one group: nothing is fired and forgotten.

Nothing is swallowed either: a spawned function that raises ends the group, the
cause is kept in :attr:`Supervisor.failure` and the ``on_failure`` hook is told at
once, so every pending handle and the next ``submit`` see it instead of hanging.
(Expected faults, Kling's refusals and network errors, never get here: each part
turns them into an outcome of the record they concern.)

Create steps go through a pool of workers inside the group rather than one new task
each (anyio's ``start_soon`` costs tens of microseconds; a worker takes a queued step
for about one): a step waits for no worker, as a new one is started whenever none is
free, so the pool grows to the most creates ever in flight at once.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio
from anyio.abc import TaskGroup

from kling_async.errors import InternalError

__all__ = ["Life", "Supervisor"]

logger = logging.getLogger("kling_async.scheduler")

Job = Callable[[], Coroutine[Any, Any, None]]


class Life(enum.Enum):
    """Where the background work is."""

    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class Supervisor:
    """Runs the scheduler's background jobs until :meth:`stop`.

    Args:
        setup: awaited inside the task group before spawned jobs start (the
            scheduler publishes capacities and starts the pool's upkeep there).
        on_failure: called once with the exception when the group dies.
    """

    def __init__(
        self,
        *,
        setup: Callable[[TaskGroup], Awaitable[None]],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        self._setup = setup
        self._on_failure = on_failure
        self.life = Life.NEW
        self.failure: BaseException | None = None
        """Why the group died, if it did."""
        self._tg: TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._pending: list[Job] = []
        self._steps: asyncio.Queue[Job] = asyncio.Queue()
        self._free_workers = 0
        self._stop = asyncio.Event()

    def start(self) -> None:
        """Start the runner (once); spawned jobs wait for it."""
        if self.life is Life.NEW:
            self.life = Life.RUNNING
            self._runner = asyncio.get_running_loop().create_task(self._run())
            self._runner.add_done_callback(self._ended)

    def spawn(self, fn: Job) -> None:
        """Run ``fn`` in the task group (queued until the runner started)."""
        if self.life is Life.STOPPED:
            return
        if self._tg is None:
            self._pending.append(fn)
        else:
            self._tg.start_soon(fn)

    def run_step(self, step: Job) -> None:
        """Run a create step on a free worker of the group (starting one if none is)."""
        if self.life is Life.STOPPED:
            return
        self._steps.put_nowait(step)
        if self._free_workers > 0:
            self._free_workers -= 1
        else:
            self.spawn(self._worker)

    async def _worker(self) -> None:
        while True:
            step = await self._steps.get()
            await step()
            self._free_workers += 1

    async def stop(self) -> None:
        """Cancel every job and wait for the runner to end (idempotent)."""
        previous, self.life = self.life, Life.STOPPED
        self._stop.set()
        if previous is Life.NEW:
            self._pending.clear()  # never started
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)

    async def _run(self) -> None:
        async with anyio.create_task_group() as tg:
            await self._setup(tg)
            self._tg = tg
            for fn in self._pending:
                tg.start_soon(fn)
            self._pending.clear()
            await self._stop.wait()
            tg.cancel_scope.cancel()

    def _ended(self, runner: asyncio.Task[None]) -> None:
        stopping = self._stop.is_set()
        if runner.cancelled():
            error: BaseException | None = (
                None if stopping else InternalError("the scheduler's runner was cancelled")
            )
        else:
            error = runner.exception()
            if error is None and not stopping:
                error = InternalError("the scheduler's runner ended early")
        if error is None:
            return
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]  # the task group's wrapper: keep the real cause
        self.failure = error
        self.life = Life.STOPPED
        logger.error(
            "the scheduler stopped: %s: %s",
            type(error).__name__,
            error,
            exc_info=(type(error), error, error.__traceback__),
        )
        self._on_failure(error)
