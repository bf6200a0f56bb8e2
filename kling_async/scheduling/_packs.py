"""Slot accounting: the per-key cores and the slot pool, kept in step.

Owns: one :class:`~kling_async.scheduling._pack.PackCore` per
:class:`~kling_async.endpoints.SlotKey` (a pack, or a pack and a model in
``pack_model`` scope), a wake-up event per key, and every call to the
:class:`~kling_async.scheduling._slots.SlotPool` (which names keys as strings). It
answers "which queued submission may take slots now" (:meth:`PackSlots.pick`,
:meth:`PackSlots.acquire`), counts a record's slots once (:meth:`PackSlots.count`,
:meth:`PackSlots.release`), and gives the rest of the scheduler what it needs through
named methods (queue, dequeue, pause, the figures), never its cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
from collections.abc import Callable, Mapping

from kling_async._config import BackoffPolicy, LearnPolicy
from kling_async.endpoints import ConcurrencyScope, Pack, SlotKey
from kling_async.endpoints import family as family_of
from kling_async.errors import ExternalIdInUseError, SlotPoolUnavailableError, UsageError
from kling_async.scheduling._creator import Refusal
from kling_async.scheduling._pack import PackCore
from kling_async.scheduling._record import Submission
from kling_async.scheduling._slots import Adopter, SlotPool
from kling_async.scheduling._stats import PackStats, PoolStats

__all__ = ["Acquire", "PackSlots"]


class Acquire(enum.Enum):
    """What the pool said to a request for a record's slots."""

    TAKEN = "taken"
    """The slots are the record's: create it."""
    BUSY = "busy"
    """Not now (full, or the pool is unreachable): the record goes back to its place."""
    LEASED_ELSEWHERE = "leased_elsewhere"
    """Its external id already holds a lease (another process): never create it."""


def parse_capacity(capacity: Mapping[str, int], scope: ConcurrencyScope) -> dict[SlotKey, int]:
    """``{"video": 5, "video/kling-v3": 3}`` as slot keys, checked.

    Raises:
        UsageError: an unknown pack, a per-model figure in ``pack`` scope, or a value
            that is not an integer >= 1.
    """
    keys = {text: SlotKey.parse(text) for text in capacity}
    per_model = sorted(text for text, key in keys.items() if key.model is not None)
    if per_model and scope is ConcurrencyScope.PACK:
        raise UsageError(
            f"capacity per model ({', '.join(per_model)}) needs concurrency_scope='pack_model'"
        )
    for text, value in capacity.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UsageError(f"capacity[{text!r}] must be an integer >= 1, got {value!r}")
    return {keys[text]: value for text, value in capacity.items()}


class PackSlots:
    """The cores and the pool, in step.

    Args:
        pool: the slot pool.
        capacity: configured capacities (see ``KlingClient``).
        scope: what one limit counts over.
        backoff, learn: the cores' policies.
        max_backfill_wait: seconds a blocked head lets smaller items pass it.
        rng: jitter source.
        on_new_key: told of each key created (the scheduler starts its dispatcher).
    """

    def __init__(
        self,
        pool: SlotPool,
        *,
        capacity: Mapping[str, int],
        scope: ConcurrencyScope,
        backoff: BackoffPolicy,
        learn: LearnPolicy,
        max_backfill_wait: float,
        rng: random.Random,
        on_new_key: Callable[[SlotKey], None],
    ) -> None:
        self._capacity = parse_capacity(capacity, scope)
        self._pool = pool
        self._scope = scope
        self._backoff = backoff
        self._learn = learn
        self._max_backfill_wait = max_backfill_wait
        self._rng = rng
        self._on_new_key = on_new_key
        self._cores: dict[SlotKey, PackCore[Submission]] = {}
        self._wake: dict[SlotKey, asyncio.Event] = {}
        self._probing: dict[SlotKey, bool] = {}
        self._keys: dict[tuple[str, str | None], SlotKey | None] = {}
        if scope is ConcurrencyScope.PACK:
            for pack in Pack:
                self.core(SlotKey(pack))

    # -- keys and cores ---------------------------------------------------------------

    def key_for(self, family: str, model: str | None) -> SlotKey | None:
        """The key a task of ``family`` whose slots count under ``model`` uses (one
        shared object per key: records hold it, so it is not made per submission)."""
        try:
            return self._keys[family, model]
        except KeyError:
            key = self._keys[family, model] = SlotKey.of(family_of(family), model, self._scope)
            return key

    def core(self, key: SlotKey) -> PackCore[Submission]:
        """The core counting slots under ``key`` (created on first use: per-model keys
        appear as models are submitted)."""
        core = self._cores.get(key)
        if core is None:
            core = PackCore[Submission](
                str(key),
                capacity=self._capacity.get(key, self._capacity.get(SlotKey(key.pack))),
                backoff=self._backoff,
                learn=self._learn,
                max_backfill_wait=self._max_backfill_wait,
                rng=self._rng,
            )
            self._cores[key] = core
            self._wake[key] = asyncio.Event()
            self._on_new_key(key)
        return core

    def wake(self, key: SlotKey) -> None:
        """Make ``key``'s dispatcher look again."""
        self._wake[key].set()

    def wake_event(self, key: SlotKey) -> asyncio.Event:
        """The event ``key``'s dispatcher waits on."""
        return self._wake[key]

    def retry_interval(self, fallback: float) -> float:
        """Seconds between acquire retries while slots are taken or the pool is down."""
        return self._pool.retry_interval or fallback

    @property
    def shared(self) -> bool:
        """True when other processes take slots from the same pool."""
        return self._pool.is_shared

    # -- the queue ----------------------------------------------------------------------

    def check_fits(self, key: SlotKey, cost: int) -> int | None:
        """The configured capacity ``cost`` can never fit into, or None when it may."""
        configured = self.core(key).configured
        return configured if configured is not None and cost > configured else None

    def queue(self, record: Submission, *, wake: bool = True) -> None:
        """Put ``record`` in its key's queue (at its place: priority, then FIFO) and
        wake the key's dispatcher (``wake=False``: the dispatcher itself puts back a
        record the pool had no slots for, and waits for a release or a retry)."""
        assert record.key is not None
        self._cores[record.key].push(record)
        if wake:
            self.wake(record.key)

    def dequeue(self, record: Submission) -> bool:
        """Take a queued ``record`` out; False when it was not queued."""
        return record.key is not None and self._cores[record.key].remove(record)

    def expire(self, key: SlotKey, now: float) -> list[Submission]:
        """Take out and return ``key``'s queued records past their deadline."""
        return self._cores[key].expire(now)

    def clear(self, pack: Pack | None = None) -> list[Submission]:
        """Take out and return every queued record (of ``pack``; None: all)."""
        cleared: list[Submission] = []
        for key, core in self._cores.items():
            if pack is None or key.pack is pack:
                cleared.extend(core.clear())
        return cleared

    @property
    def queued(self) -> int:
        """Records waiting in every queue."""
        return sum(core.queued for core in self._cores.values())

    def next_wakeup(self, key: SlotKey, now: float) -> float | None:
        """When ``key``'s dispatcher must look again without being woken (the end of
        a pause, a deadline), or None."""
        return self._cores[key].next_wakeup(now)

    def has_queued(self, key: SlotKey) -> bool:
        """True when ``key`` has records waiting."""
        return self._cores[key].queued > 0

    # -- the pool ------------------------------------------------------------------------

    async def check(self) -> None:
        """Raise :class:`SlotPoolUnavailableError` when the pool cannot be reached."""
        await self._pool.check()

    async def publish_all(self) -> bool:
        """Tell the pool every key's capacity; False when the pool is unreachable."""
        try:
            for key, core in self._cores.items():
                await self._pool.set_capacity(str(key), core.capacity)
        except SlotPoolUnavailableError:
            return False
        return True

    async def publish_capacity(self, key: SlotKey) -> None:
        """Tell the pool ``key``'s capacity in force (when reachable)."""
        with contextlib.suppress(SlotPoolUnavailableError):  # set again on the next pick
            await self._pool.set_capacity(str(key), self._cores[key].capacity)

    async def maintain(self, adopt: Adopter) -> None:
        """The pool's upkeep (heartbeats, adopting dead holders' leases)."""
        await self._pool.maintain(adopt)

    async def pick(self, key: SlotKey, now: float) -> Submission | None:
        """Dequeue the record that may take slots now, or None.

        Raises:
            SlotPoolUnavailableError: the shared pool cannot be reached.
        """
        core = self._cores[key]
        if not core.queued:
            return None
        name = str(key)
        shared = await self._pool.capacity(name)
        if core.is_learned and shared is not None and not self._probing.get(key):
            core.share_learned(shared)  # a learned capacity is shared by every pool user
        limit = core.capacity
        head = core.head()
        self._probing[key] = False
        if core.is_learned and head is not None and core.in_use == 0 and head.cost > limit:
            limit = head.cost  # probe: a lone task may exceed what was learned so far
            self._probing[key] = True
        if shared != limit:
            await self._pool.set_capacity(name, limit)
        # A shared pool: others free slots without waking us, and its ticket queue
        # keeps arrival order, so let try_acquire decide for the head.
        free = limit if self._pool.is_shared else limit - await self._pool.in_use(name)
        return core.pick(now, free)

    async def acquire(self, record: Submission) -> Acquire:
        """Ask the pool for ``record``'s slots; count them locally when taken."""
        assert record.key is not None
        try:
            taken = await self._pool.try_acquire(
                str(record.key), record.cost, record.external_task_id, record.family
            )
        except SlotPoolUnavailableError:
            return Acquire.BUSY  # nothing is created without a lease
        except ExternalIdInUseError:
            return Acquire.LEASED_ELSEWHERE
        if not taken:
            return Acquire.BUSY
        self.count(record)
        return Acquire.TAKEN

    async def adopt(self, record: Submission) -> None:
        """Count an existing task's slots in the pool, even over capacity."""
        assert record.key is not None
        await self._pool.adopt(
            str(record.key), record.cost, record.external_task_id, record.family, record.task_id
        )

    def count(self, record: Submission) -> None:
        """Count ``record``'s slots under its key, once."""
        if record.key is not None and record.hold_slots():
            self.core(record.key).on_acquired(record.cost)

    async def release(self, record: Submission) -> None:
        """Give ``record``'s slots back to the pool and uncount them.

        Local counts follow the record, not the pool's answer: with a shared pool
        another holder may already have deleted the lease (it adopted the task, or
        we adopted it from them), and the pool then reports 0 freed.
        """
        if record.key is None:
            return
        await self._pool.release(str(record.key), record.external_task_id)
        if record.free_slots():
            self._cores[record.key].on_released(record.cost)
            self.wake(record.key)

    async def release_lease(self, slot_key: str, external_task_id: str) -> None:
        """Give back a lease this process never counted (a dead holder's, adopted and
        found finished or never created)."""
        await self._pool.release(slot_key, external_task_id)

    def forget_lease(self, external_task_id: str) -> None:
        """Stop renewing an adopted lease (its lookup failed: it expires and is retried)."""
        self._pool.forget(external_task_id)

    async def note_task_id(self, record: Submission) -> None:
        """Record the task id in the record's lease (shared pools)."""
        if record.key is not None and record.task_id is not None:
            await self._pool.note_task_id(str(record.key), record.external_task_id, record.task_id)

    # -- outcomes of creates --------------------------------------------------------------

    async def created(self, record: Submission, now: float) -> None:
        """``record``'s create succeeded: reset the pack's backoff, grow a learned
        capacity (and publish it), note the task id in the lease."""
        assert record.key is not None
        core = self._cores[record.key]
        before = core.capacity
        core.on_created(now)
        await self.note_task_id(record)
        if core.is_learned and core.capacity != before:
            await self.publish_capacity(record.key)

    async def refused(
        self,
        record: Submission,
        reason: Refusal,
        now: float,
        retry_after: float | None,
        wake_by: float | None = None,
    ) -> float:
        """Nothing was created: give the slots back and pause the pack (a 1303 also
        cuts a learned capacity). Returns the pause; ``wake_by`` shortens it."""
        assert record.key is not None
        await self.release(record)
        core = self._cores[record.key]
        if reason is Refusal.CONCURRENCY:
            pause = core.on_concurrency_refused(now, retry_after)
            await self.publish_capacity(record.key)
        elif reason is Refusal.RATE:
            pause = core.on_rate_limited(now, retry_after)
        else:
            pause = core.on_unreachable(now)
            if wake_by is not None:
                core.wake_by(wake_by)
        return pause

    def describe(self, key: SlotKey) -> str:
        """``video 3/5`` (slots in use and capacity), for logs."""
        core = self._cores[key]
        return f"{key} {core.in_use}/{core.capacity}"

    # -- figures ---------------------------------------------------------------------------

    def share(self, family: str) -> float:
        """Our share of the account's slots in use for ``family``'s pack (1 when alone)."""
        fam = family_of(family)
        if fam.pack is None:
            return 1.0
        account = self._pool.stats().account
        if account is None:
            return 1.0
        info = account.packs.get(fam.pack.value)
        total = info.in_use if info is not None else 0
        mine = sum(core.in_use for key, core in self._cores.items() if key.pack is fam.pack)
        return 1.0 if not total or mine >= total else mine / total

    def stats(self, now: float) -> dict[str, PackStats]:
        """Per key: capacity, slots in use, queue, creates, refusals, pause left."""
        return {
            str(key): PackStats(
                capacity=core.capacity,
                learned=core.is_learned,
                in_use=core.in_use,
                queued=core.queued,
                created=core.created,
                count_1302=core.count_1302,
                count_1303=core.count_1303,
                count_unreachable=core.count_unreachable,
                paused_for=max(0.0, core.paused_until - now),
            )
            for key, core in self._cores.items()
        }

    def pool_stats(self) -> PoolStats:
        """The pool's own figures."""
        return self._pool.stats()
