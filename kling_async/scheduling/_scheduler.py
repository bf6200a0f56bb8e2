"""The scheduler: the whole path of one submission, each step a call into a part.

::

    submit()      registry.new -> record + handle; core.push(record)      (QUEUED)
    _dispatch()   one loop per slot key:
                    core.expire  -> EXPIRED (never created)
                    slots.pick   -> the record that may go now (priority, FIFO,
                                    bounded backfill, pauses after refusals)
                    slots.acquire-> TAKEN | BUSY (back in its place) | LEASED_ELSEWHERE
                    supervisor.spawn_create(_create)                       (SUBMITTING)
    _create()     creator.create(record) ->
                    a Task            -> _created: note the id, track it  (SUBMITTED)
                    Refused(reason)   -> _refused: slots back, pause, requeue (QUEUED)
                      unreachable for backoff.unreachable_timeout with no answer
                                      -> this and every queued record FAILED (TransportError)
                    CreateFailed(err) -> slots back                       (FAILED)
                      authentication error -> _stop(all packs); account error
                                      -> _stop(its pack): queued records there FAILED with
                                         it, later submissions there fail at once
    tracker       polls; every task state seen -> _settle(record, task)
    _settle()     processing -> PROCESSING; terminal -> slots back, resolve
                                                          (SUCCEEDED | FAILED)
    aclose()      queued -> CANCELLED (never created); created or being created
                  -> DETACHED (ids kept, may still run at Kling); background stopped

The parts, built here with their collaborators passed in: :class:`Registry` (live
records and their handles), :class:`PackSlots` (per-key cores + the slot pool),
:class:`Creator` (exactly-once create), :class:`Tracker` (polling),
:class:`Follower` (attach, adopted leases, callbacks), :class:`Supervisor`
(background tasks) and :class:`Stops` (the unreachable window, stopped packs).
States change only through ``_record.transition``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from functools import partial

from anyio.abc import TaskGroup

from kling_async._aio import wait_event
from kling_async._config import BackoffPolicy, LearnPolicy, PollPolicy
from kling_async._handle import TaskHandle
from kling_async.costs import BudgetGuard
from kling_async.endpoints import ConcurrencyScope
from kling_async.endpoints import family as family_of
from kling_async.errors import (
    AccountError,
    APIError,
    AuthenticationError,
    CapacityError,
    ClientClosedError,
    ExternalIdInUseError,
    InternalError,
    KlingError,
    SchedulerFailedError,
    TaskCancelledError,
    TaskExpiredError,
    UsageError,
)
from kling_async.models import KlingRequest, Task, TaskStatus
from kling_async.scheduling._creator import (
    BeforeCreate,
    Creator,
    Refusal,
    Refused,
)
from kling_async.scheduling._follower import Follower
from kling_async.scheduling._pack import PackCore
from kling_async.scheduling._packs import Acquire, PackSlots
from kling_async.scheduling._record import HandleState, Submission, resolve, transition
from kling_async.scheduling._registry import Registry
from kling_async.scheduling._slots import LocalSlotPool, SlotPool, SlotPoolUnavailableError
from kling_async.scheduling._stats import SchedulerStats
from kling_async.scheduling._stops import Stops, Unreachable
from kling_async.scheduling._supervisor import Supervisor
from kling_async.tracking._backend import Backend
from kling_async.tracking._tracker import Tracker

__all__ = ["Scheduler"]

logger = logging.getLogger("kling_async.scheduler")

_S = HandleState


class Scheduler:
    """Admits submissions into per-pack slots and follows them to the end.

    Args:
        backend: the low-level task calls (create, get_task, list_page_raw).
        capacity: slots per pack (``"video"``), or per pack and model
            (``"video/kling-v3"``) with ``scope=PACK_MODEL`` where a pack's figure is
            each model's default; packs not given are learned.
        scope: what one limit counts over (:class:`~kling_async.ConcurrencyScope`).
        pool: the slot pool (default: in-process).
        backoff, learn, poll: policies (see :mod:`kling_async._config`).
        max_backfill_wait: seconds a blocked image head lets smaller tasks pass it
            (default: 2 typical image durations, scaled by ``poll.time_scale``).
        callbacks: a callback route feeds this scheduler (polling is a safety net).
        before_create: awaited before every create call leaves
            (:class:`~kling_async.PendingCreate`; a batch journals "creating").
        budget: keeps spent + committed units within a budget
            (:class:`~kling_async.costs.BudgetGuard`): a submission whose create would
            exceed it ends with :class:`~kling_async.BudgetExceededError`, uncreated.
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
        callbacks: bool = False,
        before_create: BeforeCreate | None = None,
        budget: BudgetGuard | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.poll = poll or PollPolicy()
        self.clock = clock
        self.budget = budget
        backoff = backoff or BackoffPolicy()
        rng = rng or random.Random()
        self._closed = False
        self._changed = asyncio.Event()
        self.stops = Stops(backoff.unreachable_timeout)
        self.registry = Registry(self.cancel)
        self.supervisor = Supervisor(setup=self._setup, on_failure=self._on_failure)
        self.slots = PackSlots(
            pool or LocalSlotPool(),
            capacity=capacity or {},
            scope=ConcurrencyScope(scope),
            backoff=backoff,
            learn=learn or LearnPolicy(),
            max_backfill_wait=(
                max_backfill_wait if max_backfill_wait is not None else 80 * self.poll.time_scale
            ),
            rng=rng,
            on_new_key=lambda key: self.supervisor.spawn(partial(self._dispatch, key)),
        )
        self.tracker = Tracker(
            backend,
            self.poll,
            on_task=self._settle,
            spawn=self.supervisor.spawn,
            clock=clock,
            callbacks=callbacks,
            share=self.slots.share,
        )
        self.creator = Creator(backend, backoff=backoff, before_create=before_create, rng=rng)
        self.follower = Follower(
            backend,
            registry=self.registry,
            slots=self.slots,
            tracker=self.tracker,
            settle=self._settle,
            start=self._ensure_started,
            backoff=backoff,
            clock=clock,
        )

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Fail fast when a shared slot pool cannot be reached, then start the
        dispatchers and the pool's upkeep (a shared pool's heartbeats and adoption of
        dead holders' leases run from here on, even before anything is submitted)."""
        self._check_open()
        await self.slots.pool.check()
        self._ensure_started()

    def _check_open(self) -> None:
        if self.supervisor.failure is not None:
            raise SchedulerFailedError(self.supervisor.failure)
        if self._closed:
            raise ClientClosedError("the client is closed; make a new KlingClient")

    def _ensure_started(self) -> None:
        self._check_open()
        self.supervisor.start()

    async def _setup(self, tg: TaskGroup) -> None:
        for key, core in self.slots.cores.items():
            try:
                await self.slots.pool.set_capacity(key, core.capacity)
            except SlotPoolUnavailableError:
                logger.warning("slot pool unreachable at start; dispatch waits for it")
        tg.start_soon(self.slots.pool.maintain, self.follower.adopt_claim)

    async def aclose(self) -> None:
        """Stop: queued submissions end cancelled (never created); tasks created or
        being created end detached (see :class:`~kling_async.TaskDetachedError`)."""
        if self._closed:
            return
        self._closed = True
        self._end_all(None)
        await self.supervisor.stop()

    def _on_failure(self, error: BaseException) -> None:
        self._end_all(SchedulerFailedError(error))

    def _end_all(self, failure: SchedulerFailedError | None) -> None:
        """Decide every live record now: nothing may wait for ever on a stopped scheduler."""
        for core in self.slots.cores.values():
            core.clear()
        for record in self.tracker.records():
            self.tracker.untrack(record)
        self.registry.end_all(failure)
        self._changed.set()

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
        self._check_open()
        fam = family_of(request.family)
        key = self.slots.key_for(fam.name, fam.slot_model(request))
        if key is None:
            raise UsageError(f"{fam.name} answers inline; call the client's method directly")
        cost = fam.slot_cost(request)
        core = self.slots.core(key)
        if core.configured is not None and cost > core.configured:
            raise CapacityError(
                f"{fam.name} needs {cost} {key} slots but the {key} capacity is "
                f"{core.configured}; lower n or raise capacity[{key!r}]"
            )
        live = self.registry.get(external_task_id)
        if live is not None:
            raise ExternalIdInUseError(
                f"external_task_id {external_task_id!r} is already used by {live!r}; "
                "each submission needs its own id",
                external_task_id=external_task_id,
            )
        if self.budget is not None:
            self.budget.plan(external_task_id, request)  # unpriced / can never fit: raise
        deadline = None
        if start_deadline is not None:
            deadline = self.clock() + (start_deadline - time.time())
        self.supervisor.start()
        record, handle = self.registry.new(
            family=fam.name,
            request=request,
            external_task_id=external_task_id,
            key=key,
            cost=cost,
            priority=priority,
            deadline=deadline,
            callback_url=callback_url,
        )
        stop = self.stops.of(key)
        if stop is not None:
            self._end(record, _S.FAILED, stop)
            return handle
        core.push(record)
        self.registry.hold(record)
        self.slots.wake(key)
        return handle

    @property
    def stopped(self) -> dict[str, KlingError]:
        """Packs whose creates stopped for good (``"*"``: all), with the error."""
        return self.stops.stopped

    def cancel(self, record: Submission) -> bool:
        """Cancel ``record``: dequeue it, or stop awaiting a created task (slots kept
        until it ends). False when already decided."""
        if record.final:
            return False
        if record.in_queue and record.key is not None:
            self.slots.cores[record.key].remove(record)
            self.registry.forget(record)
            if self.budget is not None:
                self.budget.release(record.external_task_id)
        transition(record, _S.CANCELLED, error=TaskCancelledError(f"{record!r} cancelled"))
        self._changed.set()
        return True

    def _end(self, record: Submission, state: HandleState, error: BaseException) -> None:
        """A record that never got (or gave back) its slots ends in ``state``."""
        self.registry.forget(record)
        if self.budget is not None:
            self.budget.release(record.external_task_id)  # nothing was created
        if not record.final:
            transition(record, state, error=error)
        self._changed.set()

    @property
    def active(self) -> int:
        """Submissions queued, being created, or in flight (cancelled ones included)."""
        queued = sum(core.queued for core in self.slots.cores.values())
        return queued + len(self.registry.submitting) + self.tracker.in_flight

    async def drain(self) -> None:
        """Wait until nothing is queued, being created or in flight."""
        while self.active and not self._closed:
            self._changed.clear()
            await self._changed.wait()

    # -- queue -> slots ---------------------------------------------------------------------

    async def _dispatch(self, key: str) -> None:
        core = self.slots.cores[key]
        wake = self.slots.wake_event(key)
        retry = self.slots.retry_interval(self.poll.min_interval)
        await self.slots.publish_capacity(key)
        while True:
            wake.clear()
            now = self.clock()
            if self.stops.due(now):
                self._give_up_unreachable()
            for expired in core.expire(now):
                late = TaskExpiredError(f"{expired!r} was not created before its start_deadline")
                self._end(expired, _S.EXPIRED, late)
            try:
                record = await self.slots.pick(key, now)
            except SlotPoolUnavailableError:
                await wait_event(wake, retry)
                continue
            if record is None:
                wakeup = core.next_wakeup(now)
                timeout = None if wakeup is None else max(0.0, wakeup - now)
                if core.queued and self.slots.pool.is_shared:
                    timeout = min(timeout or retry, retry)
                await wait_event(wake, timeout)
                continue
            stop = self.stops.of(key)
            if stop is not None:  # submitted before the stop was known
                self._end(record, _S.FAILED, stop)
                continue
            if self.budget is not None:
                what = f"{record.family} (external_task_id {record.external_task_id})"
                over = self.budget.reserve(record.external_task_id, what)
                if over is not None:
                    logger.warning("%s", over)
                    self._end(record, _S.FAILED, over)
                    continue
            got = await self.slots.acquire(record)
            if got is Acquire.LEASED_ELSEWHERE:
                leased = ExternalIdInUseError(
                    f"external_task_id {record.external_task_id!r} already holds a lease in "
                    "the slot pool (another process submitted it); not created",
                    external_task_id=record.external_task_id,
                )
                self._end(record, _S.FAILED, leased)
                continue
            if got is Acquire.BUSY:
                if record.final:  # cancelled while the pool answered
                    self.registry.forget(record)
                else:
                    core.push(record)  # keeps its place; a release (or a retry) wakes us
                await wait_event(wake, retry)
                continue
            if record.final:  # cancelled while the pool answered
                await self.slots.release(record)
                self._end(record, _S.CANCELLED, TaskCancelledError("cancelled"))
                continue
            transition(record, _S.SUBMITTING)
            self.registry.submitting.add(record)
            logger.debug("admit %r (%s %d/%d)", record, key, core.in_use, core.capacity)
            self.supervisor.spawn_create(self._create(record))

    # -- slots -> create ----------------------------------------------------------------------

    async def _create(self, record: Submission) -> None:
        assert record.key is not None
        core = self.slots.cores[record.key]
        try:
            result = await self.creator.create(record)
        finally:
            self.registry.submitting.discard(record)
        try:
            if isinstance(result, Task):
                self.stops.answered()
                await self._created(record, core, result)
            elif isinstance(result, Refused):
                if result.reason is not Refusal.UNREACHABLE:
                    self.stops.answered()
                else:
                    verdict = self.stops.unreachable(result.error, self.clock())
                    if verdict is not Unreachable.RETRY:
                        await self.slots.release(record)
                        self._end(record, _S.FAILED, self.stops.error or self.stops.give_up_error())
                        if verdict is Unreachable.GIVE_UP:
                            self._give_up_unreachable()
                        return
                await self._refused(record, core, result.reason, result.retry_after)
            else:
                error = result.error
                logger.info("create of %r failed: %s", record, error)
                if isinstance(error, APIError):
                    self.stops.answered()
                await self.slots.release(record)
                self._end(record, _S.FAILED, error)
                if isinstance(error, AuthenticationError):
                    self._stop("*", error)
                elif isinstance(error, AccountError):
                    self._stop(core.name.split("/", 1)[0], error)
        except Exception:  # a bug must not leave the caller waiting: fail the handle
            logger.exception("internal error after the create of %r", record)
            self._end(record, _S.FAILED, InternalError(f"internal error after creating {record!r}"))

    def _give_up_unreachable(self) -> None:
        """Kling has been unreachable too long: fail every queued submission."""
        since = self.stops.since
        error = self.stops.give_up()
        failed = self._fail_queued(None, error)
        logger.error(
            "Kling unreachable for %.0fs (%s): %d queued submission(s) failed with it; "
            "each new submission gets one try until Kling answers again",
            self.clock() - (since if since is not None else self.clock()),
            error,
            failed,
        )

    def _stop(self, pack: str, error: KlingError) -> None:
        """Stop creates for ``pack`` (``"*"``: all) for good: no create there can
        succeed until the key, balance or permissions are fixed."""
        if not self.stops.stop(pack, error):
            return
        failed = self._fail_queued(None if pack == "*" else pack, error)
        logger.error(
            "creates stopped for %s: %s (%s); %d queued submission(s) failed with it",
            "every pack" if pack == "*" else f"the {pack} pack",
            type(error).__name__,
            error,
            failed,
        )

    def _fail_queued(self, pack: str | None, error: BaseException) -> int:
        """Fail the queued submissions of ``pack`` (None: all); returns how many."""
        count = 0
        for key, core in self.slots.cores.items():
            if pack is not None and key.split("/", 1)[0] != pack:
                continue
            for record in core.clear():
                self._end(record, _S.FAILED, error)
                count += 1
        return count

    async def _created(self, record: Submission, core: PackCore[Submission], task: Task) -> None:
        now = self.clock()
        record.task_id, record.task = task.task_id, task
        record.created_at = record.last_seen = now
        learned = core.capacity
        core.on_created(now)
        await self.slots.note_task_id(record)
        if core.is_learned and core.capacity != learned:
            await self.slots.publish_capacity(core.name)
        if record.state is _S.SUBMITTING:
            transition(record, _S.SUBMITTED)
        logger.debug("created %r", record)
        if task.is_terminal:
            await self._settle(record, task)
            return
        self.tracker.track(record)
        if self.registry.early:  # a terminal callback beat this create answer?
            await self.follower.apply_early(record)

    async def _refused(
        self,
        record: Submission,
        core: PackCore[Submission],
        reason: Refusal,
        retry_after: float | None,
    ) -> None:
        """Nothing was created: give the slots back, pause the pack, requeue the
        record at its place (the head, by its sequence number)."""
        await self.slots.release(record)
        now = self.clock()
        if reason is Refusal.CONCURRENCY:
            pause = core.on_concurrency_refused(now, retry_after)
            await self.slots.publish_capacity(core.name)
        elif reason is Refusal.RATE:
            pause = core.on_rate_limited(now, retry_after)
        else:
            pause = core.on_unreachable(now)
            give_up = self.stops.deadline()
            if give_up is not None:  # wake up when it is time to give up
                core.paused_until = min(core.paused_until, give_up)
        logger.info(
            "%s: %r back in the %s queue; pack paused %.2fs, capacity %d",
            reason.value,
            record,
            core.name,
            pause,
            core.capacity,
        )
        if record.final:  # cancelled meanwhile: nothing was created, nothing to do
            self._end(record, _S.CANCELLED, TaskCancelledError("cancelled"))
            return
        transition(record, _S.QUEUED)
        core.push(record)
        self.slots.wake(core.name)

    # -- track -> resolve ---------------------------------------------------------------------

    async def _settle(self, record: Submission, task: Task) -> None:
        """Every task state seen (polls, callbacks, create answers) lands here."""
        record.task = task
        if task.is_terminal:
            if self.budget is not None:
                self.budget.settle(record.external_task_id, task)
            self.tracker.untrack(record)
            self.tracker.observe_end(record, task)
            try:
                await self.slots.release(record)
            except Exception:  # the outcome must still reach the caller
                logger.exception("releasing the slots of %r failed", record)
            self.registry.forget(record)
            logger.debug(
                "completed %r: %s%s",
                record,
                task.task_status.value,
                f" ({task.task_status_msg})" if task.task_status_msg else "",
            )
            resolve(record, task)
            self._changed.set()
        elif task.task_status is TaskStatus.PROCESSING and record.state is _S.SUBMITTED:
            transition(record, _S.PROCESSING)

    # -- existing tasks and callbacks (the follower) -----------------------------------------

    async def attach(
        self,
        family: str,
        *,
        task_id: str | None,
        external_task_id: str | None,
        cost: int | None,
        model_name: str | None = None,
    ) -> TaskHandle:
        """Follow a task created earlier (see :meth:`kling_async.KlingClient.attach`)."""
        self._check_open()
        return await self.follower.attach(
            family,
            task_id=task_id,
            external_task_id=external_task_id,
            cost=cost,
            model_name=model_name,
        )

    async def on_callback(self, task: Task, *, signed: bool, trusted: bool) -> bool:
        """Apply a callback delivery; False when the task is not one of ours (in flight)."""
        if self._closed:
            return False
        return await self.follower.on_callback(task, signed=signed, trusted=trusted)

    # -- observability --------------------------------------------------------------------------

    def stats(self) -> SchedulerStats:
        """Per slot key: capacity (and whether learned), slots in use, queued,
        created, 1302/1303 seen, pause left; the pool; the tracker's requests."""
        return SchedulerStats(
            packs=self.slots.stats(self.clock()),
            submitting=len(self.registry.submitting),
            pool=self.slots.pool.stats(),
            tracker=self.tracker.stats(),
        )
