"""Events from outside the dispatch loop: callback deliveries, tasks attached after a
restart, and dead holders' leases (the last two share one way of following a task
that already exists at Kling).

Mixed into :class:`~kling_async.scheduling._scheduler.Scheduler`; the attributes and
methods declared below are the scheduler's.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from kling_async._config import BackoffPolicy
from kling_async._handle import HandleState, TaskHandle
from kling_async.endpoints import family as family_of
from kling_async.errors import KlingError, TaskNotFoundError
from kling_async.models import Task, TaskStatus
from kling_async.scheduling._pack import PackCore
from kling_async.scheduling._slots import LeaseClaim, SlotPool
from kling_async.tracking._backend import Backend
from kling_async.tracking._tracker import Tracker

if TYPE_CHECKING:
    from kling_async.scheduling._scheduler import Scheduler

__all__ = ["ExternalEvents"]

logger = logging.getLogger("kling_async.scheduler")

_RANK = {
    TaskStatus.UNKNOWN: -1,
    TaskStatus.SUBMITTED: 0,
    TaskStatus.PROCESSING: 1,
    TaskStatus.SUCCEED: 2,
    TaskStatus.FAILED: 2,
}


class ExternalEvents:
    """Callback deliveries and adopted leases, applied to the scheduler's state."""

    backend: Backend
    backoff: BackoffPolicy
    pool: SlotPool
    tracker: Tracker
    cores: dict[str, PackCore]
    clock: Callable[[], float]
    rng: random.Random
    _live: dict[str, TaskHandle]
    _early: dict[str, tuple[Task, bool]]
    _seq: itertools.count[int]

    if TYPE_CHECKING:  # provided by the Scheduler

        async def _on_task(self, handle: TaskHandle, task: Task) -> None:
            raise NotImplementedError

        def _hold(self, handle: TaskHandle) -> None:
            raise NotImplementedError

        def _count_slots(self, handle: TaskHandle) -> None:
            raise NotImplementedError

        def _ensure_started(self) -> None:
            raise NotImplementedError

        def _resolve(self, handle: TaskHandle, task: Task) -> None:
            raise NotImplementedError

        def key_for(self, family: str, model_name: str | None) -> str | None:
            raise NotImplementedError

        def _core(self, key: str) -> PackCore:
            raise NotImplementedError

    async def on_callback(self, task: Task, *, signed: bool, trusted: bool) -> bool:
        """Apply a callback delivery; False when the task is not one of ours (in flight).

        ``trusted`` (signed, or the user opted out of confirmation) lets a terminal
        status resolve at once; otherwise the task is confirmed by a query first.
        """
        handle = self.tracker.by_task_id(task.task_id)
        if handle is None:
            ext = task.external_task_id
            pending = self._live.get(ext) if ext else None
            if pending is None or pending.task_id is not None:
                return False
            if task.is_terminal:  # the create answer is still on its way
                self._early[pending.external_task_id] = (task, trusted)
            return True
        await self._apply_callback(handle, task, trusted)
        return True

    async def _apply_callback(self, handle: TaskHandle, task: Task, trusted: bool) -> None:
        known = handle.task.task_status if handle.task is not None else TaskStatus.SUBMITTED
        if _RANK[task.task_status] < _RANK[known]:
            return  # an older status never overwrites a newer one
        if task.is_terminal and not trusted:
            self.tracker.confirm(handle)
        elif self.tracker.is_tracked(handle):
            await self._on_task(handle, task)

    async def _note_task_id(self, handle: TaskHandle) -> None:
        if handle.pack is not None and handle.task_id is not None:
            await self.pool.note_task_id(handle.pack, handle.external_task_id, handle.task_id)

    async def _adopt_claim(self, claim: LeaseClaim) -> None:
        """Follow a dead holder's task; its slots stay counted until Kling says it ended."""
        if claim.key in self._live:
            return  # ours already (e.g. the lease bounced back to us)
        try:
            fam = family_of(claim.family)
        except ValueError:
            logger.warning("lease %s names unknown family %r; releasing", claim.key, claim.family)
            await self.pool.release(claim.pack, claim.key)
            return
        task: Task | None
        try:
            if claim.task_id:
                task = await self.backend.get_task(
                    fam.name, task_id=claim.task_id, external_task_id=claim.key
                )
            else:
                task = await self._resolve_lease(fam.name, claim.key)
        except KlingError as error:
            logger.warning("cannot look up adopted lease %s yet (%s)", claim.key, error)
            forget = getattr(self.pool, "forget", None)
            if forget is not None:
                forget(claim.key)  # it expires again and is retried
            return
        if task is None:  # the dead holder's create never happened
            await self.pool.release(claim.pack, claim.key)
            return
        self._ensure_started()
        self._core(claim.pack)  # a per-model key this process has not used yet
        handle = self._existing(fam.name, task, claim.key, claim.pack, claim.cost)
        if task.is_terminal:
            self._count_slots(handle)
            self._hold(handle)
            await self._on_task(handle, task)  # releases the slots, resolves
            return
        self._follow(handle, task)
        await self._note_task_id(handle)

    async def attach(
        self,
        family: str,
        *,
        task_id: str | None,
        external_task_id: str | None,
        cost: int | None,
        model_name: str | None = None,
    ) -> TaskHandle:
        """Follow a task created earlier; its slots count until it ends.

        The lookup is verified: with both ids given, a task that names another
        external id raises :class:`~kling_async.errors.TaskMismatchError`.
        """
        fam = family_of(family)
        task = await self.backend.get_task(
            fam.name, task_id=task_id, external_task_id=external_task_id
        )
        self._ensure_started()
        key = task.external_task_id or external_task_id or f"task-{task.task_id}"
        pack = self.key_for(fam.name, model_name)
        if pack is not None:
            self._core(pack)
        handle = self._existing(
            fam.name, task, key, pack, cost if cost is not None else fam.slot_cost({})
        )
        if task.is_terminal:
            self._resolve(handle, task)
            return handle
        if key in self._live:
            raise ValueError(f"{key!r} is already tracked by this client")
        if pack is not None:  # before anything is held: if the pool fails, nothing leaks
            await self.pool.adopt(pack, handle.cost, key, fam.name, task.task_id)
        self._follow(handle, task)
        return handle

    def _existing(
        self, family: str, task: Task, key: str, pack: str | None, cost: int
    ) -> TaskHandle:
        """A handle for a task that already exists at Kling."""
        handle = TaskHandle(
            family=family,
            request=None,
            external_task_id=key,
            pack=pack,
            cost=cost,
            priority=0,
            seq=next(self._seq),
            deadline=None,
            scheduler=cast("Scheduler", self),  # the mixin only lives in a Scheduler
        )
        handle.task_id, handle.task = task.task_id, task
        return handle

    def _follow(self, handle: TaskHandle, task: Task) -> None:
        """Count a running task's slots and track it until it ends."""
        now = self.clock()
        age = max(0.0, time.time() - task.created_at / 1000) if task.created_at else 0.0
        handle.created_at, handle.last_seen = now - age, now
        if handle.pack is not None:
            self._count_slots(handle)
        self._hold(handle)
        handle._set_state(
            HandleState.PROCESSING
            if task.task_status is TaskStatus.PROCESSING
            else HandleState.SUBMITTED
        )
        self.tracker.track(handle)

    async def _resolve_lease(self, family: str, key: str) -> Task | None:
        try:
            return await self.backend.get_task(family, external_task_id=key)
        except TaskNotFoundError:
            await asyncio.sleep(self.backoff.initial)  # confirm: Kling's index may lag
        try:
            return await self.backend.get_task(family, external_task_id=key)
        except TaskNotFoundError:
            return None
