"""The scheduler: the whole path of one submission, each step a call into a part.

::

    submit()      registry.new -> record; slots.queue(record)           (QUEUED)
                  (the face wraps the record in a TaskHandle)
    _dispatch()   one loop per slot key:
                    slots.expire -> EXPIRED (never created)
                    slots.pick   -> the record that may go now (priority, FIFO,
                                    bounded backfill, pauses after refusals)
                    slots.acquire-> TAKEN | BUSY (back in its place) | LEASED_ELSEWHERE
                    supervisor.run_step(_create)                        (SUBMITTING)
    _create()     creator.create(record) ->
                    a Task            -> _created: note it, track it    (SUBMITTED)
                                         events.created
                    Refused(reason)   -> slots.refused: slots back, pause; requeue (QUEUED)
                      unreachable for backoff.unreachable_timeout with no answer
                                      -> this and every queued record FAILED (TransportError),
                                         events.unreachable
                    CreateFailed(err) -> slots back                       (FAILED)
                      authentication error -> stop every pack; account error -> stop its
                                         pack: queued records there FAILED with it, later
                                         submissions there fail at once; events.pack_stopped
    tracker       polls; every task state seen -> _settle(record, task); a poll round that
                  fails -> stops.poll_failed (Kling gone for the timeout: events.unreachable)
    _settle()     processing -> PROCESSING; terminal -> slots back, resolve
                                                          (SUCCEEDED | FAILED), events.settled
    aclose()      queued -> CANCELLED (never created); created or being created
                  -> DETACHED (ids kept, may still run at Kling); background stopped

The parts, built here with their collaborators passed in: :class:`Registry` (live
records), :class:`PackSlots` (per-key cores + the slot pool), :class:`Creator`
(exactly-once create), :class:`Tracker` (polling), :class:`Follower` (attach, adopted
leases, callbacks), :class:`Supervisor` (the task group everything runs in) and
:class:`Stops` (the stop rules). States change only through ``_record.transition``;
the owner hears what happened through :class:`SchedulerEvents`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from functools import partial

import anyio
from anyio.abc import TaskGroup

from kling_async._clock import SYSTEM_CLOCK, Clock, wait_event
from kling_async._config import BackoffPolicy, LearnPolicy, PollPolicy
from kling_async.costs import BudgetGuard
from kling_async.endpoints import ConcurrencyScope, Pack, SlotKey
from kling_async.endpoints import family as family_of
from kling_async.errors import (
    APIError,
    CapacityError,
    ClientClosedError,
    ExternalIdInUseError,
    KlingError,
    SchedulerFailedError,
    SlotPoolUnavailableError,
    TaskCancelledError,
    TaskExpiredError,
    TaskMismatchError,
    TransportError,
    UsageError,
)
from kling_async.models import KlingRequest, Task, TaskStatus
from kling_async.scheduling._creator import Creator, Refusal, Refused
from kling_async.scheduling._events import SchedulerEvents
from kling_async.scheduling._follower import Follower
from kling_async.scheduling._gate import CreateGate
from kling_async.scheduling._packs import Acquire, PackSlots
from kling_async.scheduling._record import HandleState, Submission, resolve, transition
from kling_async.scheduling._registry import Registry
from kling_async.scheduling._slots import LocalSlotPool, SlotPool
from kling_async.scheduling._stats import SchedulerStats
from kling_async.scheduling._stops import Stops, Unreachable
from kling_async.scheduling._supervisor import Supervisor
from kling_async.tracking._backend import Backend
from kling_async.tracking._tracker import Tracker
from kling_async.wire._lookup import check_kind
from kling_async.wire._task_calls import CreateCall

__all__ = ["Scheduler"]

logger = logging.getLogger("kling_async.scheduler")

_S = HandleState
_NO_EVENTS = SchedulerEvents()


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
        events: what the owner is told (:class:`SchedulerEvents`; its
            ``before_create`` is awaited before every create call leaves).
        budget: keeps spent + committed units within a budget
            (:class:`~kling_async.costs.BudgetGuard`): a submission whose create would
            exceed it ends with :class:`~kling_async.BudgetExceededError`, uncreated.
        gate: the create gate every submission passes (:class:`CreateGate`; the
            client's, shared with its low-level ``create``); default: one with
            ``budget``.
        clock: where every part reads time; rng: jitter source.
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
        events: SchedulerEvents | None = None,
        budget: BudgetGuard | None = None,
        gate: CreateGate | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.poll = poll or PollPolicy()
        self._clock = clock
        self._now = clock.monotonic
        self._gate = gate if gate is not None else CreateGate(budget=budget)
        self._events = events or _NO_EVENTS
        backoff = backoff or BackoffPolicy()
        rng = rng or random.Random()
        self._closed = False
        self._closing = False
        self._changed = asyncio.Event()
        self._stops = Stops(backoff.unreachable_timeout)
        self._registry = Registry()
        self._supervisor = Supervisor(setup=self._setup, on_failure=self._on_failure)
        self._slots = PackSlots(
            pool or LocalSlotPool(),
            capacity=capacity or {},
            scope=ConcurrencyScope(scope),
            backoff=backoff,
            learn=learn or LearnPolicy(),
            max_backfill_wait=(
                max_backfill_wait if max_backfill_wait is not None else 80 * self.poll.time_scale
            ),
            rng=rng,
            on_new_key=lambda key: self._supervisor.spawn(partial(self._dispatch, key)),
        )
        self._tracker: Tracker[Submission] = Tracker(
            backend,
            self.poll,
            on_task=self._settle,
            spawn=self._supervisor.spawn,
            clock=self._now,
            callbacks=callbacks,
            share=self._slots.share,
            on_poll=self._on_poll,
            rng=rng,
        )
        self._creator = Creator(
            backend,
            backoff=backoff,
            before_create=self._events.before_create,
            rng=rng,
            clock=clock,
        )
        self._follower = Follower(
            backend,
            registry=self._registry,
            slots=self._slots,
            tracker=self._tracker,
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
        await self._slots.check()
        self._ensure_started()

    def _check_open(self) -> None:
        if self._supervisor.failure is not None:
            raise SchedulerFailedError(self._supervisor.failure)
        if self._closed:
            raise ClientClosedError("the client is closed; make a new KlingClient")

    def _ensure_started(self) -> None:
        self._check_open()
        self._supervisor.start()

    async def _setup(self, tg: TaskGroup) -> None:
        if not await self._slots.publish_all():
            logger.warning("slot pool unreachable at start; dispatch waits for it")
        tg.start_soon(self._slots.maintain, self._follower.adopt_claim)

    async def aclose(self, *, settle_creates: float = 0.0) -> None:
        """Stop: queued submissions end cancelled (never created); tasks created or
        being created end detached (see :class:`~kling_async.TaskDetachedError`).

        ``settle_creates``: first stop admitting creates and wait up to that many
        seconds for the create calls under way to come back, so they end created (or
        refused) rather than with an unknown outcome.
        """
        if self._closed:
            return
        if settle_creates > 0 and self._registry.creating:
            self._closing = True
            with anyio.move_on_after(settle_creates):
                await self._registry.creates_settled()
        self._closed = True
        self._end_all(None)
        await self._supervisor.stop()

    def _on_failure(self, error: BaseException) -> None:
        self._end_all(SchedulerFailedError(error))

    def _end_all(self, failure: SchedulerFailedError | None) -> None:
        """Decide every live record now: nothing may wait for ever on a stopped scheduler."""
        self._slots.clear()
        for record in self._tracker.items():
            self._tracker.untrack(record)
        self._registry.end_all(failure)
        self._changed.set()

    # -- submission ---------------------------------------------------------------------

    def submit(
        self,
        request: KlingRequest,
        *,
        external_task_id: str | None = None,
        priority: int = 0,
        start_deadline: float | None = None,
        callback_url: str | None = None,
    ) -> Submission:
        """Queue ``request``; returns its record (see :meth:`kling_async.KlingClient.submit`).

        It passes the create gate first (validation with this scheduler's own checks,
        the wire body, the estimate from it, the budget, the API key): a refusal
        raises here and nothing is queued, committed or sent."""
        checked: list[tuple[SlotKey, int]] = []
        call = self._gate.admit(
            request,
            external_task_id=external_task_id,
            callback_url=callback_url,
            check=lambda call: checked.append(self._check_submit(call)),
        )
        key, cost = checked[0]
        deadline = None
        if start_deadline is not None:
            deadline = self._now() + (start_deadline - self._clock.wall())
        self._supervisor.start()
        record = self._registry.new(
            family=call.family,
            call=call,
            external_task_id=call.external_task_id,
            key=key,
            cost=cost,
            priority=priority,
            deadline=deadline,
            callback_url=call.callback_url,
        )
        stop = self._stops.of(key)
        if stop is not None:
            self._end(record, _S.FAILED, stop)
            return record
        self._registry.hold(record)
        self._slots.queue(record)
        return record

    def _check_submit(self, call: CreateCall) -> tuple[SlotKey, int]:
        """The gate's validation step for a queued submission: open, a family with
        slots, a cost its pack can ever hold, an external id not already live here.
        Returns the slot key and the cost."""
        self._check_open()
        fam = family_of(call.family)
        key = self._slots.key_for(fam.name, fam.slot_model(call.request))
        if key is None:
            raise UsageError(f"{fam.name} answers inline; call the client's method directly")
        cost = fam.slot_cost(call.request)
        limit = self._slots.check_fits(key, cost)
        if limit is not None:
            raise CapacityError(
                f"{fam.name} needs {cost} {key} slots but the {key} capacity is "
                f"{limit}; lower n or raise capacity[{str(key)!r}]"
            )
        live = self._registry.get(call.external_task_id)
        if live is not None:
            raise ExternalIdInUseError(
                f"external_task_id {call.external_task_id!r} is already used by {live!r}; "
                "each submission needs its own id",
                external_task_id=call.external_task_id,
            )
        return key, cost

    @property
    def stopped(self) -> dict[str, KlingError]:
        """Packs whose creates stopped for good (``"*"``: all), with the error."""
        return dict(self._stops.stopped)

    def cancel(self, record: Submission) -> bool:
        """Cancel ``record``: dequeue it, or stop awaiting a created task (slots kept
        until it ends). False when already decided."""
        if record.final:
            return False
        if self._slots.dequeue(record):
            self._registry.forget(record)
            self._gate.release(record.external_task_id)
        transition(record, _S.CANCELLED, error=TaskCancelledError(f"{record!r} cancelled"))
        self._changed.set()
        return True

    def _end(self, record: Submission, state: HandleState, error: BaseException) -> None:
        """A record that never got (or gave back) its slots ends in ``state``."""
        self._registry.forget(record)
        self._gate.release(record.external_task_id)  # nothing was created
        if not record.final:
            transition(record, state, error=error)
        self._changed.set()

    @property
    def active(self) -> int:
        """Submissions queued, being created, or in flight (cancelled ones included)."""
        return self._slots.queued + self._registry.creating + self._tracker.in_flight

    async def drain(self) -> None:
        """Wait until nothing is queued, being created or in flight."""
        while self.active and not self._closed:
            self._changed.clear()
            await self._changed.wait()

    # -- queue -> slots ---------------------------------------------------------------------

    async def _dispatch(self, key: SlotKey) -> None:
        slots = self._slots
        wake = slots.wake_event(key)
        retry = slots.retry_interval(self.poll.min_interval)
        await slots.publish_capacity(key)
        while True:
            if self._closing:  # admit nothing more; the close decides what is queued
                await anyio.sleep_forever()
            wake.clear()
            now = self._now()
            if self._stops.due(now):
                self._give_up_unreachable()
            for expired in slots.expire(key, now):
                late = TaskExpiredError(f"{expired!r} was not created before its start_deadline")
                self._end(expired, _S.EXPIRED, late)
            try:
                record = await slots.pick(key, now)
            except SlotPoolUnavailableError:
                await wait_event(wake, retry)
                continue
            if record is None:
                wakeup = slots.next_wakeup(key, now)
                timeout = None if wakeup is None else max(0.0, wakeup - now)
                if slots.has_queued(key) and slots.shared:
                    timeout = min(timeout or retry, retry)
                await wait_event(wake, timeout)
                continue
            stop = self._stops.of(key)
            if stop is not None:  # submitted before the stop was known
                self._end(record, _S.FAILED, stop)
                continue
            if record.call is not None:
                over = self._gate.reserve(record.call)
                if over is not None:
                    logger.warning("%s", over)
                    self._end(record, _S.FAILED, over)
                    continue
            got = await slots.acquire(record)
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
                    self._registry.forget(record)
                else:
                    slots.queue(record, wake=False)  # keeps its place; a release or retry wakes us
                await wait_event(wake, retry)
                continue
            if record.final:  # cancelled while the pool answered
                await slots.release(record)
                self._end(record, _S.CANCELLED, TaskCancelledError("cancelled"))
                continue
            if self._closing:  # closing began while the pool answered: not created
                await slots.release(record)
                slots.queue(record, wake=False)
                continue
            transition(record, _S.SUBMITTING)
            self._registry.begin_create(record)
            logger.debug("admit %r (%s)", record, slots.describe(key))
            self._supervisor.run_step(partial(self._create, record))

    # -- slots -> create ----------------------------------------------------------------------

    async def _create(self, record: Submission) -> None:
        try:
            result = await self._creator.create(record)
        finally:
            self._registry.end_create(record)
        if self._closed:  # the close came first and decided the record (detached, its ids
            return  # as known then); what the create answered changes nothing now
        if isinstance(result, Task):
            self._answered()
            await self._created(record, result)
        elif isinstance(result, Refused):
            if result.reason is not Refusal.UNREACHABLE:
                self._answered()
            else:
                verdict = self._stops.unreachable(result.error, self._now())
                if verdict is not Unreachable.RETRY:
                    await self._slots.release(record)
                    self._end(record, _S.FAILED, self._stops.give_up_error())
                    if verdict is Unreachable.GIVE_UP:
                        self._give_up_unreachable()
                    return
            await self._refused(record, result.reason, result.retry_after)
        else:
            error = result.error
            logger.info("create of %r failed: %s", record, error)
            if isinstance(error, APIError):
                self._answered()
            await self._slots.release(record)
            self._end(record, _S.FAILED, error)
            self._stop(error, record.key)

    def _answered(self) -> None:
        """Kling answered a create: an unreachable spell (if one was reported) ends."""
        if self._stops.answered() and self._events.reachable is not None:
            self._events.reachable()

    def _give_up_unreachable(self) -> None:
        """Kling has been unreachable too long: fail every queued submission."""
        since = self._stops.since
        error = self._stops.give_up()
        failed = self._fail_queued(None, error)
        logger.error(
            "Kling unreachable for %.0fs (%s): %d queued submission(s) failed with it; "
            "each new submission gets one try until Kling answers again",
            self._now() - (since if since is not None else self._now()),
            error,
            failed,
        )
        if self._events.unreachable is not None:
            self._events.unreachable(_as_kling_error(error))

    def _on_poll(self, error: BaseException | None) -> None:
        """The tracker's report of a poll round that failed (or answered again)."""
        if error is None:
            if self._stops.poll_answered() and self._events.reachable is not None:
                self._events.reachable()
            return
        if self._stops.poll_failed(self._now()):
            gone = TransportError(
                f"queries to Kling have failed for {self._stops.unreachable_timeout:g}s "
                f"({type(error).__name__}: {error}); its tasks keep running there",
                request_sent=False,
            )
            logger.error("%s", gone)
            if self._events.unreachable is not None:
                self._events.unreachable(gone)

    def _stop(self, error: BaseException, key: SlotKey | None) -> None:
        """Stop what ``error`` stops for good (every pack, or ``key``'s): no create
        there can succeed until the key, balance or permissions are fixed."""
        where = self._stops.stop(error, key)
        if where is None:
            return
        failed = self._fail_queued(None if where == "*" else Pack(where), error)
        logger.error(
            "creates stopped for %s: %s (%s); %d queued submission(s) failed with it",
            "every pack" if where == "*" else f"the {where} pack",
            type(error).__name__,
            error,
            failed,
        )
        if self._events.pack_stopped is not None:
            self._events.pack_stopped(where, _as_kling_error(error))

    def _fail_queued(self, pack: Pack | None, error: BaseException) -> int:
        """Fail the queued submissions of ``pack`` (None: all); returns how many."""
        cleared = self._slots.clear(pack)
        for record in cleared:
            self._end(record, _S.FAILED, error)
        return len(cleared)

    async def _created(self, record: Submission, task: Task) -> None:
        record.note_task(task)
        await self._slots.created(record, self._now())
        if record.state is _S.SUBMITTING:
            transition(record, _S.SUBMITTED)
        logger.debug("created %r", record)
        if self._events.created is not None:
            self._events.created(record.external_task_id, task)
        if task.is_terminal:
            await self._settle(record, task)
            return
        self._tracker.track(record, payload=record.call.body if record.call is not None else None)
        early = self._registry.take_early(record.external_task_id)
        if early is not None:  # a terminal callback beat this create answer
            await self._follower.apply(record, *early)

    async def _refused(
        self, record: Submission, reason: Refusal, retry_after: float | None
    ) -> None:
        """Nothing was created: give the slots back, pause the pack, requeue the
        record at its place (the head, by its sequence number)."""
        assert record.key is not None
        pause = await self._slots.refused(
            record, reason, self._now(), retry_after, wake_by=self._stops.deadline()
        )
        logger.info(
            "%s: %r back in the %s queue; pack paused %.2fs",
            reason.value,
            record,
            self._slots.describe(record.key),
            pause,
        )
        if record.final:  # cancelled meanwhile: nothing was created, nothing to do
            self._end(record, _S.CANCELLED, TaskCancelledError("cancelled"))
            return
        transition(record, _S.QUEUED)
        self._slots.queue(record)

    # -- track -> resolve ---------------------------------------------------------------------

    async def _settle(self, record: Submission, task: Task) -> None:
        """Every task state seen (polls, callbacks, create answers) lands here."""
        if self._closed:  # the close decided every record; nothing is followed any more
            return
        record.note_task(task)
        if task.is_terminal:
            self._gate.settle(record.external_task_id, task)
            self._tracker.observe_end(record, task)
            self._tracker.untrack(record)
            try:
                await self._slots.release(record)
            except KlingError as error:  # the pool is down: the outcome still reaches the caller
                logger.warning("releasing the slots of %r failed: %s", record, error)
            self._registry.forget(record)
            logger.debug(
                "completed %r: %s%s",
                record,
                task.task_status.value,
                f" ({task.task_status_msg})" if task.task_status_msg else "",
            )
            try:
                fam = family_of(record.family)
                check_kind(task, family=fam.name, pack=fam.pack_name, where=f"{record!r}")
            except TaskMismatchError as mismatch:  # its outputs show another family's task
                logger.warning("%s", mismatch)
                if not record.final:
                    transition(record, _S.FAILED, task=task, error=mismatch)
            else:
                resolve(record, task)
            self._changed.set()
            if self._events.settled is not None:
                self._events.settled(record.external_task_id, task)
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
    ) -> Submission:
        """Follow a task created earlier (see :meth:`kling_async.KlingClient.attach`)."""
        self._check_open()
        return await self._follower.attach(
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
        return await self._follower.on_callback(task, signed=signed, trusted=trusted)

    # -- observability --------------------------------------------------------------------------

    def stats(self) -> SchedulerStats:
        """Per slot key: capacity (and whether learned), slots in use, queued,
        created, 1302/1303 seen, pause left; the pool; the tracker's requests."""
        return SchedulerStats(
            packs=self._slots.stats(self._now()),
            submitting=self._registry.creating,
            pool=self._slots.pool_stats(),
            tracker=self._tracker.stats(),
        )


def _as_kling_error(error: BaseException) -> KlingError:
    return error if isinstance(error, KlingError) else KlingError(str(error))
