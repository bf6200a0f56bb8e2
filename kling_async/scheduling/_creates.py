"""Creating a task exactly once (design invariant 3), and what a refusal does.

Data flow: the dispatcher has taken the slots -> ``_create`` -> ``before_create``
(a batch journals "creating") -> one create call carrying the ``external_task_id`` ->
  * created: note the task id in the pool, track it (or resolve it if already ended);
  * 1303 / 1302 / never sent: give the slots back, pause the pack, requeue at the head;
  * outcome unknown (timeout, reset after sending, 5xxx): look that id up (the one
    verified lookup); adopt the task if it exists, create again (same id) only if a
    second look confirms it does not, at most ``MAX_RECREATES`` times in a row;
  * "External_task_id <id> already exists" (400/1201): look it up and adopt it (an
    earlier create of ours may have made it); never create it again;
  * a lookup that answers with another task (``TaskMismatchError``) or a definite
    error (bad request, authentication, account): give the slots back and fail the
    handle with it, never adopt;
  * any other error: give the slots back and fail the handle with it.

Mixed into :class:`~kling_async.scheduling._scheduler.Scheduler`; the attributes and
methods declared below are the scheduler's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from kling_async._config import BackoffPolicy
from kling_async._handle import HandleState, TaskHandle
from kling_async._lookup import is_duplicate_external_id
from kling_async.errors import (
    APIError,
    ConcurrencyLimitError,
    CreateOutcomeUnknownError,
    KlingError,
    RateLimitError,
    ResponseError,
    TaskMismatchError,
    TaskNotFoundError,
    TransportError,
)
from kling_async.models import Task
from kling_async.scheduling._pack import PackCore, pause_delay
from kling_async.scheduling._slots import SlotPool, SlotPoolUnavailableError
from kling_async.tracking._backend import Backend
from kling_async.tracking._tracker import Tracker

__all__ = ["ExactlyOnceCreates"]

logger = logging.getLogger("kling_async.scheduler")


class _Requeued(Exception):
    """Internal: the create was definitely refused; the entry went back to its queue."""


MAX_RECREATES = 3
"""Creates with an unknown outcome whose task was then confirmed missing, in a row,
before the handle fails with the last unknown outcome (a server that never keeps
what it answers must not be asked for ever)."""


class ExactlyOnceCreates:
    """The create step of a dispatched submission, and requeueing after a refusal."""

    backend: Backend
    backoff: BackoffPolicy
    pool: SlotPool
    tracker: Tracker
    cores: dict[str, PackCore]
    clock: Callable[[], float]
    rng: random.Random
    before_create: Callable[[TaskHandle], Awaitable[None]] | None
    _submitting: set[TaskHandle]
    _early: dict[str, tuple[Task, bool]]
    _wake: dict[str, asyncio.Event]
    _changed: asyncio.Event

    if TYPE_CHECKING:  # provided by the Scheduler and the other mixin

        async def _release(self, handle: TaskHandle) -> None:
            raise NotImplementedError

        def _forget(self, handle: TaskHandle) -> None:
            raise NotImplementedError

        async def _on_task(self, handle: TaskHandle, task: Task) -> None:
            raise NotImplementedError

        async def _note_task_id(self, handle: TaskHandle) -> None:
            raise NotImplementedError

        async def _apply_callback(self, handle: TaskHandle, task: Task, trusted: bool) -> None:
            raise NotImplementedError

    async def _create(self, handle: TaskHandle) -> None:
        assert handle.pack is not None and handle.request is not None
        core = self.cores[handle.pack]
        try:
            task = await self._create_exactly_once(handle, core)
        except _Requeued:
            return
        except BaseException as error:
            self._submitting.discard(handle)
            await self._release(handle)
            self._forget(handle)
            if isinstance(error, Exception):
                logger.info("create of %r failed: %s", handle, error)
                handle._finish(HandleState.FAILED, error=error)
                self._changed.set()
                return
            raise
        self._submitting.discard(handle)
        now = self.clock()
        handle.task_id, handle.task = task.task_id, task
        handle.created_at = handle.last_seen = now
        learned = core.capacity
        core.on_created(now)
        await self._note_task_id(handle)
        if core.is_learned and core.capacity != learned:
            with contextlib.suppress(SlotPoolUnavailableError):
                await self.pool.set_capacity(core.name, core.capacity)
        if handle.state is HandleState.SUBMITTING:
            handle._set_state(HandleState.SUBMITTED)
        logger.debug("created %r", handle)
        if task.is_terminal:
            await self._on_task(handle, task)
            return
        self.tracker.track(handle)
        early = self._early.pop(handle.external_task_id, None)
        if early is not None:  # a terminal callback arrived before the create answer
            await self._apply_callback(handle, *early)

    async def _create_exactly_once(self, handle: TaskHandle, core: PackCore) -> Task:
        assert handle.request is not None
        recreated = 0
        while True:
            if self.before_create is not None:
                await self.before_create(handle)
            try:
                return await self.backend.create(
                    handle.request,
                    external_task_id=handle.external_task_id,
                    callback_url=handle.callback_url,
                )
            except ConcurrencyLimitError as error:
                await self._refused(handle, core, "1303", error.retry_after)
            except RateLimitError as error:
                await self._refused(handle, core, "1302", error.retry_after)
            except TransportError as error:
                if error.request_sent:  # pragma: no cover - the client reports unknown outcome
                    raise
                await self._refused(handle, core, "unreachable", None)
            except CreateOutcomeUnknownError:
                found = await self._resolve_unknown(handle)
                if found is not None:
                    return found
                recreated += 1
                if recreated > MAX_RECREATES:
                    raise
                logger.info("%r was not created; creating it again (same id)", handle)
            except APIError as error:
                if not is_duplicate_external_id(error):
                    raise
                found = await self._resolve_unknown(handle)
                if found is None:
                    logger.warning(
                        "Kling says external_task_id %r already exists but a lookup does "
                        "not find it; not creating it again",
                        handle.external_task_id,
                    )
                    raise
                return found

    async def _refused(
        self, handle: TaskHandle, core: PackCore, kind: str, retry_after: float | None
    ) -> None:
        """A definite refusal (``kind`` 1303, 1302 or unreachable): give the slots
        back, pause the pack, requeue the entry at the head of its queue."""
        self._submitting.discard(handle)
        await self._release(handle)
        now = self.clock()
        if kind == "1303":
            pause = core.on_concurrency_refused(now, retry_after)
            with contextlib.suppress(SlotPoolUnavailableError):
                await self.pool.set_capacity(core.name, core.capacity)
        elif kind == "1302":
            pause = core.on_rate_limited(now, retry_after)
        else:
            pause = core.on_unreachable(now)
        logger.info(
            "%s: %r back in the %s queue; pack paused %.2fs, capacity %d",
            kind,
            handle,
            core.name,
            pause,
            core.capacity,
        )
        if handle.done():  # cancelled meanwhile: nothing was created, nothing to do
            self._forget(handle)
            self._changed.set()
            raise _Requeued
        handle._set_state(HandleState.QUEUED)
        core.push(handle)
        self._wake[core.name].set()
        raise _Requeued

    async def _resolve_unknown(self, handle: TaskHandle) -> Task | None:
        """Find out whether a create with an unknown outcome made the task.

        Looks the ``external_task_id`` up (verified: a task naming another id is
        never adopted) until Kling answers; "not found" is confirmed once after a
        pause before it is believed. Transient faults are retried; a definite error
        (``TaskMismatchError``, authentication, account, bad request) is raised.
        Slots stay held meanwhile.
        """
        attempt = 0
        misses = 0
        while True:
            try:
                return await self.backend.get_task(
                    handle.family, external_task_id=handle.external_task_id
                )
            except TaskNotFoundError:
                misses += 1
                if misses >= 2:
                    return None
            except KlingError as error:
                if not _transient(error):
                    raise
                logger.warning("resolving %r failed (%s); retrying", handle, type(error).__name__)
            await asyncio.sleep(pause_delay(attempt, self.backoff, None, self.rng))
            attempt += 1


def _transient(error: KlingError) -> bool:
    """Faults worth asking again about: network, 5xxx, 1302, gateway pages."""
    if isinstance(error, TaskMismatchError):
        return False
    if isinstance(error, ResponseError):
        return error.is_server_fault
    return error.retryable
