"""The follower of tasks that already exist at Kling: ``attach``, leases adopted from
dead holders of a shared slot pool, and callback deliveries.

Owns: the verified lookups these start from, making records for existing tasks
(they start ``submitted`` or ``processing``, their slots counted and tracked until
Kling says they ended), and the rules for applying a callback (an older status never
overwrites a newer one; an unsigned terminal status is confirmed by a query first;
a terminal status that beats its create answer is kept until that answer lands).
Terminal tasks go to the scheduler's ``settle``, the same step polling uses.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from kling_async._clock import SYSTEM_CLOCK, Clock
from kling_async._config import BackoffPolicy
from kling_async.endpoints import SlotKey
from kling_async.endpoints import family as family_of
from kling_async.errors import ExternalIdInUseError, KlingError, TaskNotFoundError, UsageError
from kling_async.models import Task, TaskStatus
from kling_async.scheduling._packs import PackSlots
from kling_async.scheduling._record import Submission, resolve, state_of
from kling_async.scheduling._registry import Registry
from kling_async.scheduling._slots import LeaseClaim
from kling_async.tracking._backend import Backend
from kling_async.tracking._tracker import Tracker

__all__ = ["Follower"]

logger = logging.getLogger("kling_async.scheduler")

_RANK = {
    TaskStatus.UNKNOWN: -1,
    TaskStatus.SUBMITTED: 0,
    TaskStatus.PROCESSING: 1,
    TaskStatus.SUCCEED: 2,
    TaskStatus.FAILED: 2,
}

Settle = Callable[[Submission, Task], Awaitable[None]]


class Follower:
    """Follows existing tasks (see the module docstring).

    Args:
        backend: the low-level task calls.
        registry: the live records.
        slots: slot accounting.
        tracker: the pollers.
        settle: the scheduler's step for every task state seen (releases and
            resolves terminal ones).
        start: starts the scheduler's background work.
        backoff: pause before a "not found" is confirmed.
        clock: where time is read (a task's age from Kling's timestamps, pauses).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        registry: Registry,
        slots: PackSlots,
        tracker: Tracker[Submission],
        settle: Settle,
        start: Callable[[], None],
        backoff: BackoffPolicy,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._backend = backend
        self._registry = registry
        self._slots = slots
        self._tracker = tracker
        self._settle = settle
        self._start = start
        self._backoff = backoff
        self._clock = clock

    # -- attach -------------------------------------------------------------------------

    async def attach(
        self,
        family: str,
        *,
        task_id: str | None,
        external_task_id: str | None,
        cost: int | None,
        model_name: str | None = None,
    ) -> Submission:
        """Follow a task created earlier; its slots count until it ends. Returns its
        record (the face wraps it in a handle).

        The lookup is verified: with both ids given, a task that names another
        external id raises :class:`~kling_async.errors.TaskMismatchError`.
        """
        fam = family_of(family)
        task = await self._backend.get_task(
            fam.name, task_id=task_id, external_task_id=external_task_id
        )
        self._start()
        ext = task.external_task_id or external_task_id or f"task-{task.task_id}"
        key = self._slots.key_for(fam.name, model_name)
        if key is not None:
            self._slots.core(key)
        record = self._existing(
            fam.name, task, ext, key, cost if cost is not None else fam.slot_cost({})
        )
        if task.is_terminal:
            resolve(record, task)
            return record
        if self._registry.get(ext) is not None:
            raise ExternalIdInUseError(
                f"{ext!r} is already tracked by this client", external_task_id=ext
            )
        if key is not None:  # before anything is held: if the pool fails, nothing leaks
            await self._slots.adopt(record)
        self._follow(record, task)
        return record

    # -- adopted leases ------------------------------------------------------------------

    async def adopt_claim(self, claim: LeaseClaim) -> None:
        """Follow a dead holder's task; its slots stay counted until Kling says it ended.

        A lookup that fails (Kling unreachable, refused) leaves the lease to expire
        and be claimed again later; nothing is held meanwhile.
        """
        ext = claim.external_task_id
        if self._registry.get(ext) is not None:
            return  # ours already (e.g. the lease bounced back to us)
        try:
            fam = family_of(claim.family)
        except UsageError:
            logger.warning("lease %s names unknown family %r; releasing", ext, claim.family)
            await self._slots.release_lease(claim.slot_key, ext)
            return
        task: Task | None
        try:
            if claim.task_id:
                task = await self._backend.get_task(
                    fam.name, task_id=claim.task_id, external_task_id=ext
                )
            else:
                task = await self._lookup_twice(fam.name, ext)
        except KlingError as error:
            logger.warning("cannot look up adopted lease %s yet (%s)", ext, error)
            self._slots.forget_lease(ext)  # it expires again and is retried
            return
        if task is None:  # the dead holder's create never happened
            await self._slots.release_lease(claim.slot_key, ext)
            return
        self._start()
        key = SlotKey.parse(claim.slot_key)
        self._slots.core(key)  # a per-model key this process has not used yet
        record = self._existing(fam.name, task, ext, key, claim.cost)
        if task.is_terminal:
            self._slots.count(record)
            self._registry.hold(record)
            await self._settle(record, task)  # releases the slots, resolves
            return
        self._follow(record, task)
        await self._slots.note_task_id(record)

    async def _lookup_twice(self, family: str, external_task_id: str) -> Task | None:
        try:
            return await self._backend.get_task(family, external_task_id=external_task_id)
        except TaskNotFoundError:
            await self._clock.sleep(self._backoff.initial)  # confirm: Kling's index may lag
        try:
            return await self._backend.get_task(family, external_task_id=external_task_id)
        except TaskNotFoundError:
            return None

    # -- callbacks --------------------------------------------------------------------------

    async def on_callback(self, task: Task, *, signed: bool, trusted: bool) -> bool:
        """Apply a callback delivery; False when the task is not one of ours (in flight).

        ``trusted`` (signed, or the user opted out of confirmation) lets a terminal
        status resolve at once; otherwise the task is confirmed by a query first.
        """
        record = self._tracker.by_task_id(task.task_id)
        if record is None:
            ext = task.external_task_id
            pending = self._registry.get(ext) if ext else None
            if pending is None or pending.task_id is not None:
                return False
            if task.is_terminal:  # the create answer is still on its way
                self._registry.keep_early(pending.external_task_id, task, trusted)
            return True
        await self.apply(record, task, trusted)
        return True

    async def apply(self, record: Submission, task: Task, trusted: bool) -> None:
        """Apply one delivery to a tracked record."""
        known = record.task.task_status if record.task is not None else TaskStatus.SUBMITTED
        if _RANK[task.task_status] < _RANK[known]:
            return  # an older status never overwrites a newer one
        if not trusted:
            # An unverified delivery never changes what the handle shows (its URLs
            # could be anyone's): a terminal one only asks for a query.
            if task.is_terminal:
                self._tracker.confirm(record)
            return
        if self._tracker.is_tracked(record):
            await self._settle(record, task)

    # -- shared steps ------------------------------------------------------------------------

    def _existing(
        self, family: str, task: Task, ext: str, key: SlotKey | None, cost: int
    ) -> Submission:
        """A record for a task that already exists at Kling."""
        return self._registry.new(
            family=family,
            call=None,
            external_task_id=ext,
            key=key,
            cost=cost,
            state=state_of(task),
            task=task,
        )

    def _follow(self, record: Submission, task: Task) -> None:
        """Count a running task's slots and track it until it ends."""
        now = self._clock.monotonic()
        age = max(0.0, self._clock.wall() - task.created_at / 1000) if task.created_at else 0.0
        self._slots.count(record)
        self._registry.hold(record)
        self._tracker.track(record, created_at=now - age, last_seen=now)
