"""The scheduler's background work: one anyio task group, and what ended it.

Owns: the runner task that holds the task group, the functions spawned into it
(dispatchers, pollers, the pool's upkeep), the create calls (plain asyncio tasks:
anyio's ``start_soon`` costs tens of microseconds each), and the life states
``new -> running -> stopped``. A spawned function that raises is logged and the
others go on (every failure ends up on the record it concerns); if the runner
itself dies, the cause is kept in :attr:`Supervisor.failure` and the ``on_failure``
hook is told at once, so the next ``submit`` raises it instead of hanging.
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
        on_failure: called once with the exception when the runner dies.
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
        """Why the runner died, if it did."""
        self._tg: TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._pending: list[Job] = []
        self._creates: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    def start(self) -> None:
        """Start the runner (once); spawned jobs wait for it."""
        if self.life is Life.NEW:
            self.life = Life.RUNNING
            self._runner = asyncio.get_running_loop().create_task(self._run())
            self._runner.add_done_callback(self._ended)

    def spawn(self, fn: Job) -> None:
        """Run ``fn`` in the task group (queued until the runner started)."""
        if self._tg is None:
            self._pending.append(fn)
        else:
            self._tg.start_soon(self._guard, fn)

    def spawn_create(self, step: Coroutine[Any, Any, None]) -> None:
        """Run a create step (a coroutine that handles its own errors) as a plain
        asyncio task; cancelled by :meth:`stop`."""
        job = asyncio.get_running_loop().create_task(step)
        self._creates.add(job)
        job.add_done_callback(self._creates.discard)

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
                tg.start_soon(self._guard, fn)
            self._pending.clear()
            try:
                await self._stop.wait()
            finally:
                for job in self._creates:
                    job.cancel()
                await asyncio.gather(*self._creates, return_exceptions=True)
                tg.cancel_scope.cancel()

    async def _guard(self, fn: Job) -> None:
        try:
            await fn()
        except Exception:  # a bug must not tear down every other task
            logger.exception("internal error in a scheduler task")

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
        logger.error("the scheduler stopped: %s: %s", type(error).__name__, error)
        self._on_failure(error)
