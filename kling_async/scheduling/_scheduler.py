"""The scheduler: per-pack dispatchers, exactly-once creates, handle resolution.

See ``docs/scheduler.md`` for the data flow. The dispatchers, creates and pollers
run in one anyio task group owned by the scheduler (started by ``async with
KlingClient`` or on first use, torn down by :meth:`Scheduler.aclose`). Nothing a
child task raises escapes: every failure ends up on the handle it concerns, so no
submission is ever lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from typing import Any

import anyio
from anyio.abc import TaskGroup

from kling_async._aio import wait_event
from kling_async._config import BackoffPolicy, LearnPolicy, PollPolicy
from kling_async._handle import HandleState, TaskHandle
from kling_async.endpoints import ConcurrencyScope, Pack, slot_key
from kling_async.endpoints import family as family_of
from kling_async.errors import (
    CapacityError,
    TaskCancelledError,
    TaskExpiredError,
    TaskFailedError,
)
from kling_async.models import KlingRequest, Task, TaskStatus
from kling_async.scheduling._creates import ExactlyOnceCreates
from kling_async.scheduling._events import ExternalEvents
from kling_async.scheduling._pack import PackCore
from kling_async.scheduling._slots import (
    LocalSlotPool,
    SlotPool,
    SlotPoolUnavailableError,
)
from kling_async.tracking._backend import Backend
from kling_async.tracking._tracker import Tracker

__all__ = ["Scheduler"]

logger = logging.getLogger("kling_async.scheduler")

PACKS = tuple(p.value for p in Pack)


class Scheduler(ExactlyOnceCreates, ExternalEvents):
    """Admits submissions into per-pack slots and follows them to the end.

    Args:
        backend: the Kling connection (create, get_task, list_page).
        capacity: slots per pack (``"video"``), or per pack and model
            (``"video/kling-v3"``) with ``scope=PACK_MODEL`` where a pack's figure is
            each model's default; packs not given are learned.
        scope: what one limit counts over (:class:`~kling_async.ConcurrencyScope`).
        pool: the slot pool (default: in-process).
        backoff, learn, poll: policies (see :mod:`kling_async._config`).
        max_backfill_wait: seconds a blocked image head lets smaller tasks pass it
            (default: 2 typical image durations, scaled by ``poll.time_scale``).
        clock: monotonic seconds; rng: jitter source.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        capacity: Mapping[str, int] | None = None,
        scope: ConcurrencyScope | str = ConcurrencyScope.PACK,
        pool: SlotPool | None = None,
        backoff: BackoffPolicy | None = None,
        learn: LearnPolicy | None = None,
        poll: PollPolicy | None = None,
        max_backfill_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        capacity = dict(capacity or {})
        self.scope = ConcurrencyScope(scope)
        unknown = {k for k in capacity if k.split("/", 1)[0] not in PACKS}
        if unknown:
            raise ValueError(
                f"unknown pack(s) in capacity: {sorted(unknown)}; packs are {', '.join(PACKS)}"
            )
        per_model = sorted(k for k in capacity if "/" in k)
        if per_model and self.scope is ConcurrencyScope.PACK:
            raise ValueError(
                f"capacity per model ({', '.join(per_model)}) needs concurrency_scope='pack_model'"
            )
        for pack, value in capacity.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"capacity[{pack!r}] must be an integer >= 1, got {value!r}")
        self.backend = backend
        self.backoff = backoff or BackoffPolicy()
        self.learn = learn or LearnPolicy()
        self.poll = poll or PollPolicy()
        self.clock = clock
        self.rng = rng or random.Random()
        self._max_backfill_wait = (
            max_backfill_wait if max_backfill_wait is not None else 80 * self.poll.time_scale
        )
        self._capacity = capacity
        self.cores: dict[str, PackCore] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self.pool = pool or LocalSlotPool()
        self.tracker = Tracker(
            backend, self.poll, on_task=self._on_task, spawn=self._spawn, clock=clock
        )
        self.tracker.share = self._local_share
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._submitting: set[TaskHandle] = set()
        self._live: dict[str, TaskHandle] = {}
        self._early: dict[str, tuple[Task, bool]] = {}
        self._probing: dict[str, bool] = {}
        self._pending: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._creates: set[asyncio.Task[None]] = set()
        self._tg: TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._closed = False
        self.before_create: Callable[[TaskHandle], Awaitable[None]] | None = None
        """Awaited before every create call leaves (a batch journals 'creating' here)."""
        if self.scope is ConcurrencyScope.PACK:
            for pack in PACKS:
                self._core(pack)

    def _core(self, key: str) -> PackCore:
        """The core counting slots under ``key`` (created, with its dispatcher, on
        first use: per-model keys appear as models are submitted)."""
        core = self.cores.get(key)
        if core is None:
            pack = key.split("/", 1)[0]
            core = PackCore(
                key,
                capacity=self._capacity.get(key, self._capacity.get(pack)),
                backoff=self.backoff,
                learn=self.learn,
                max_backfill_wait=self._max_backfill_wait,
                rng=self.rng,
            )
            self.cores[key] = core
            self._wake[key] = asyncio.Event()
            self._spawn(partial(self._dispatch, key))
        return core

    def key_for(self, family: str, model_name: str | None) -> str | None:
        """The key a task of ``family`` / ``model_name`` counts its slots under."""
        fam = family_of(family)
        if fam.pack is None:
            return None
        return slot_key(fam.pack.value, model_name, fam.name, self.scope)

    # -- lifecycle --------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._closed:
            raise RuntimeError("the client is closed")
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async with anyio.create_task_group() as tg:
            for key, core in self.cores.items():
                try:
                    await self.pool.set_capacity(key, core.capacity)
                except SlotPoolUnavailableError:
                    logger.warning("slot pool unreachable at start; dispatch waits for it")
            tg.start_soon(self.pool.maintain, self._adopt_claim)
            self._tg = tg
            for fn in self._pending:
                tg.start_soon(self._guard, fn)
            self._pending.clear()
            try:
                await self._stop.wait()
            finally:
                # Create calls run as plain asyncio tasks (anyio's start_soon costs tens
                # of microseconds each); they end with the group all the same.
                for job in self._creates:
                    job.cancel()
                await asyncio.gather(*self._creates, return_exceptions=True)
                tg.cancel_scope.cancel()

    def _local_share(self, family: str) -> float:
        """Our share of the account's slots in use for ``family``'s pack (1 when alone)."""
        fam = family_of(family)
        if fam.pack is None:
            return 1.0
        account = self.pool.stats().get("account")
        if not isinstance(account, dict):
            return 1.0
        pack = fam.pack.value
        total = account.get("packs", {}).get(pack, {}).get("in_use", 0)
        mine = sum(core.in_use for key, core in self.cores.items() if key.split("/", 1)[0] == pack)
        return 1.0 if not total or mine >= total else mine / total

    def _retry_interval(self) -> float:
        return self.pool.retry_interval or self.poll.min_interval

    async def start(self) -> None:
        """Fail fast when a shared slot pool cannot be reached, then start the
        dispatchers and the pool's upkeep (a shared pool's heartbeats and adoption of
        dead holders' leases run from here on, even before anything is submitted)."""
        check = getattr(self.pool, "check", None)
        if check is not None:
            await check()
        self._ensure_started()

    def _spawn(self, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._tg is None:
            self._pending.append(fn)
        else:
            self._tg.start_soon(self._guard, fn)

    async def _guard(self, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        try:
            await fn()
        except Exception:  # a bug must not tear down every other task
            logger.exception("internal error in a scheduler task")

    async def aclose(self) -> None:
        """Stop dispatching and polling; pending handles are cancelled."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._runner is not None:
            await self._runner
        for core in self.cores.values():
            for item in core.clear():
                assert isinstance(item, TaskHandle)
                self._forget(item)
                item._finish(HandleState.CANCELLED, error=TaskCancelledError("client closed"))

    # -- submission ---------------------------------------------------------------------

    def submit(
        self,
        request: KlingRequest,
        *,
        external_task_id: str,
        priority: int = 0,
        start_deadline: float | None = None,
        callback_url: str | None = None,
    ) -> TaskHandle:
        """Queue ``request``; see :meth:`kling_async.KlingClient.submit`."""
        fam = family_of(request.family)
        pack = self.key_for(fam.name, getattr(request, "model_name", None))
        if pack is None:
            raise ValueError(f"{fam.name} answers inline; call the client's method directly")
        cost = request.slot_cost()
        core = self._core(pack)
        if core.configured is not None and cost > core.configured:
            raise CapacityError(
                f"{fam.name} needs {cost} {pack} slots but the {pack} capacity is "
                f"{core.configured}; lower n or raise capacity[{pack!r}]"
            )
        live = self._live.get(external_task_id)
        if live is not None:
            raise ValueError(
                f"external_task_id {external_task_id!r} is already used by {live!r}; "
                "each submission needs its own id"
            )
        deadline = None
        if start_deadline is not None:
            deadline = self.clock() + (start_deadline - time.time())
        self._ensure_started()
        handle = TaskHandle(
            family=fam.name,
            request=request,
            external_task_id=external_task_id,
            pack=pack,
            cost=cost,
            priority=priority,
            seq=next(self._seq),
            deadline=deadline,
            scheduler=self,
            callback_url=callback_url,
        )
        core.push(handle)
        self._hold(handle)
        self._wake[pack].set()
        return handle

    def _hold(self, handle: TaskHandle) -> None:
        """Register a live submission until its slots are free and its outcome known."""
        self._live[handle.external_task_id] = handle

    def _forget(self, handle: TaskHandle) -> None:
        if self._live.get(handle.external_task_id) is handle:
            del self._live[handle.external_task_id]

    def cancel(self, handle: TaskHandle) -> None:
        """Cancel ``handle``: dequeue it, or stop awaiting a created task (slots kept)."""
        if handle.in_queue and handle.pack is not None:
            self.cores[handle.pack].remove(handle)
            self._forget(handle)
        handle._finish(HandleState.CANCELLED, error=TaskCancelledError(f"{handle!r} cancelled"))
        self._changed.set()

    @property
    def active(self) -> int:
        """Submissions queued, being created, or in flight (cancelled ones included)."""
        queued = sum(core.queued for core in self.cores.values())
        return queued + len(self._submitting) + self.tracker.in_flight

    async def drain(self) -> None:
        """Wait until nothing is queued, being created or in flight."""
        while self.active:
            self._changed.clear()
            await self._changed.wait()

    # -- dispatch -------------------------------------------------------------------------

    async def _dispatch(self, pack: str) -> None:
        core = self.cores[pack]
        wake = self._wake[pack]
        with contextlib.suppress(SlotPoolUnavailableError):  # _pick sets it again later
            await self.pool.set_capacity(pack, core.capacity)
        while True:
            wake.clear()
            now = self.clock()
            for item in core.expire(now):
                assert isinstance(item, TaskHandle)
                item._finish(
                    HandleState.EXPIRED,
                    error=TaskExpiredError(f"{item!r} was not created before its start_deadline"),
                )
                self._forget(item)
                self._changed.set()
            try:
                handle = await self._pick(core, now)
            except SlotPoolUnavailableError:
                await wait_event(wake, self._retry_interval())
                continue
            if handle is None:
                wakeup = core.next_wakeup(now)
                timeout = None if wakeup is None else max(0.0, wakeup - now)
                if core.queued and self.pool.retry_interval is not None:
                    timeout = min(timeout or self.pool.retry_interval, self.pool.retry_interval)
                await wait_event(wake, timeout)
                continue
            try:
                acquired = await self.pool.try_acquire(
                    pack, handle.cost, handle.external_task_id, handle.family
                )
            except SlotPoolUnavailableError:
                acquired = False  # nothing is created without a lease
            except ValueError as error:  # its id is leased elsewhere: never create it
                self._forget(handle)
                handle._finish(HandleState.FAILED, error=error)
                self._changed.set()
                continue
            if not acquired:
                core.push(handle)  # keeps its place; a release (or a retry) wakes us
                await wait_event(wake, self._retry_interval())
                continue
            self._count_slots(handle)
            handle._set_state(HandleState.SUBMITTING)
            self._submitting.add(handle)
            logger.debug("admit %r (%s %d/%d)", handle, pack, core.in_use, core.capacity)
            job = asyncio.get_running_loop().create_task(self._guard(partial(self._create, handle)))
            self._creates.add(job)
            job.add_done_callback(self._creates.discard)

    async def _pick(self, core: PackCore, now: float) -> TaskHandle | None:
        if not core.queued:
            return None
        shared = await self.pool.capacity(core.name)
        if core.is_learned and shared is not None and not self._probing.get(core.name):
            core.learned = shared  # a learned capacity is shared by every pool user
        limit = core.capacity
        head = core.head()
        self._probing[core.name] = False
        if core.is_learned and head is not None and core.in_use == 0 and head.cost > limit:
            limit = head.cost  # probe: a lone task may exceed what was learned so far
            self._probing[core.name] = True
        if shared != limit:
            await self.pool.set_capacity(core.name, limit)
        if self.pool.retry_interval is not None:
            # Shared pool: others free slots without waking us, and the pool's ticket
            # queue keeps arrival order, so let try_acquire decide for the head.
            free = limit
        else:
            free = limit - await self.pool.in_use(core.name)
        item = core.pick(now, free)
        assert item is None or isinstance(item, TaskHandle)
        return item

    # -- tracking outcomes --------------------------------------------------------------------

    async def _on_task(self, handle: TaskHandle, task: Task) -> None:
        handle.task = task
        if task.is_terminal:
            self.tracker.untrack(handle)
            self.tracker.observe_end(handle, task)
            try:
                await self._release(handle)
            except Exception:  # the outcome must still reach the caller
                logger.exception("releasing the slots of %r failed", handle)
            self._forget(handle)
            self._resolve(handle, task)
            self._changed.set()
        elif task.task_status is TaskStatus.PROCESSING and handle.state is HandleState.SUBMITTED:
            handle._set_state(HandleState.PROCESSING)

    def _resolve(self, handle: TaskHandle, task: Task) -> None:
        logger.debug(
            "completed %r: %s%s",
            handle,
            task.task_status.value,
            f" ({task.task_status_msg})" if task.task_status_msg else "",
        )
        if task.succeeded:
            handle._finish(HandleState.SUCCEEDED, task=task)
        else:
            handle._finish(HandleState.FAILED, task=task, error=TaskFailedError(task))

    async def _release(self, handle: TaskHandle) -> None:
        if handle.pack is None:
            return
        # Local counts follow the handle, not the pool's answer: with a shared pool
        # another holder may already have deleted the lease (it adopted the task, or
        # we adopted it from them), and the pool then reports 0 freed.
        await self.pool.release(handle.pack, handle.external_task_id)
        if handle.holds_slots:
            handle.holds_slots = False
            self.cores[handle.pack].on_released(handle.cost)
            self._wake[handle.pack].set()

    def _count_slots(self, handle: TaskHandle) -> None:
        """Count ``handle``'s slots in its pack, once."""
        assert handle.pack is not None
        if not handle.holds_slots:
            handle.holds_slots = True
            self.cores[handle.pack].on_acquired(handle.cost)

    # -- observability ----------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Per pack: capacity (and whether learned), slots in use, queued, created,
        1302/1303 seen, pause left; plus the tracker's request counts."""
        now = self.clock()
        packs = {
            name: {
                "capacity": core.capacity,
                "learned": core.is_learned,
                "in_use": core.in_use,
                "queued": core.queued,
                "created": core.created,
                "count_1302": core.count_1302,
                "count_1303": core.count_1303,
                "count_unreachable": core.count_unreachable,
                "paused_for": max(0.0, core.paused_until - now),
            }
            for name, core in self.cores.items()
        }
        return {
            "packs": packs,
            "submitting": len(self._submitting),
            "pool": self.pool.stats(),
            **self.tracker.stats(),
        }
