"""Slot accounting: the per-key cores and the slot pool, kept in step.

Owns: one :class:`~kling_async.scheduling._pack.PackCore` per slot key (a pack, or
``pack/model`` in ``pack_model`` scope), a wake-up event per key, and every call to
the :class:`~kling_async.scheduling._slots.SlotPool`. It answers "which queued
submission may take slots now" (:meth:`PackSlots.pick`, :meth:`PackSlots.acquire`)
and counts a record's slots once (:meth:`count`, :meth:`release`).
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
from kling_async.errors import ExternalIdInUseError, UsageError
from kling_async.scheduling._pack import PackCore
from kling_async.scheduling._record import Submission
from kling_async.scheduling._slots import SlotPool, SlotPoolUnavailableError
from kling_async.scheduling._stats import PackStats

__all__ = ["PACKS", "Acquire", "PackSlots"]

PACKS = tuple(p.value for p in Pack)


class Acquire(enum.Enum):
    """What the pool said to a request for a record's slots."""

    TAKEN = "taken"
    """The slots are the record's: create it."""
    BUSY = "busy"
    """Not now (full, or the pool is unreachable): the record goes back to its place."""
    LEASED_ELSEWHERE = "leased_elsewhere"
    """Its external id already holds a lease (another process): never create it."""


class PackSlots:
    """The cores and the pool, in step.

    Args:
        pool: the slot pool.
        capacity: configured capacities by slot key (see ``KlingClient``).
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
        on_new_key: Callable[[str], None],
    ) -> None:
        unknown = {k for k in capacity if k.split("/", 1)[0] not in PACKS}
        if unknown:
            raise UsageError(
                f"unknown pack(s) in capacity: {sorted(unknown)}; packs are {', '.join(PACKS)}"
            )
        per_model = sorted(k for k in capacity if "/" in k)
        if per_model and scope is ConcurrencyScope.PACK:
            raise UsageError(
                f"capacity per model ({', '.join(per_model)}) needs concurrency_scope='pack_model'"
            )
        for pack, value in capacity.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"capacity[{pack!r}] must be an integer >= 1, got {value!r}")
        self.pool = pool
        self.scope = scope
        self._capacity = dict(capacity)
        self._backoff = backoff
        self._learn = learn
        self._max_backfill_wait = max_backfill_wait
        self._rng = rng
        self._on_new_key = on_new_key
        self.cores: dict[str, PackCore[Submission]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._probing: dict[str, bool] = {}
        if scope is ConcurrencyScope.PACK:
            for pack in PACKS:
                self.core(pack)

    # -- keys and cores ---------------------------------------------------------------

    def key_for(self, family: str, model_name: str | None) -> str | None:
        """The key a task of ``family`` / ``model_name`` counts its slots under."""
        key = SlotKey.of(family_of(family), model_name, self.scope)
        return None if key is None else str(key)

    def core(self, key: str) -> PackCore[Submission]:
        """The core counting slots under ``key`` (created on first use: per-model keys
        appear as models are submitted)."""
        core = self.cores.get(key)
        if core is None:
            pack = key.split("/", 1)[0]
            core = PackCore[Submission](
                key,
                capacity=self._capacity.get(key, self._capacity.get(pack)),
                backoff=self._backoff,
                learn=self._learn,
                max_backfill_wait=self._max_backfill_wait,
                rng=self._rng,
            )
            self.cores[key] = core
            self._wake[key] = asyncio.Event()
            self._on_new_key(key)
        return core

    def wake(self, key: str) -> None:
        """Make ``key``'s dispatcher look again."""
        self._wake[key].set()

    def wake_event(self, key: str) -> asyncio.Event:
        """The event ``key``'s dispatcher waits on."""
        return self._wake[key]

    def retry_interval(self, fallback: float) -> float:
        """Seconds between acquire retries while slots are taken or the pool is down."""
        return self.pool.retry_interval or fallback

    # -- the pool ------------------------------------------------------------------------

    async def publish_capacity(self, key: str) -> None:
        """Tell the pool ``key``'s capacity in force (when reachable)."""
        with contextlib.suppress(SlotPoolUnavailableError):  # set again on the next pick
            await self.pool.set_capacity(key, self.cores[key].capacity)

    async def pick(self, key: str, now: float) -> Submission | None:
        """Dequeue the record that may take slots now, or None.

        Raises:
            SlotPoolUnavailableError: the shared pool cannot be reached.
        """
        core = self.cores[key]
        if not core.queued:
            return None
        shared = await self.pool.capacity(key)
        if core.is_learned and shared is not None and not self._probing.get(key):
            core.learned = shared  # a learned capacity is shared by every pool user
        limit = core.capacity
        head = core.head()
        self._probing[key] = False
        if core.is_learned and head is not None and core.in_use == 0 and head.cost > limit:
            limit = head.cost  # probe: a lone task may exceed what was learned so far
            self._probing[key] = True
        if shared != limit:
            await self.pool.set_capacity(key, limit)
        # A shared pool: others free slots without waking us, and its ticket queue
        # keeps arrival order, so let try_acquire decide for the head.
        free = limit if self.pool.is_shared else limit - await self.pool.in_use(key)
        return core.pick(now, free)

    async def acquire(self, record: Submission) -> Acquire:
        """Ask the pool for ``record``'s slots; count them locally when taken."""
        assert record.key is not None
        try:
            taken = await self.pool.try_acquire(
                record.key, record.cost, record.external_task_id, record.family
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
        await self.pool.adopt(
            record.key, record.cost, record.external_task_id, record.family, record.task_id
        )

    def count(self, record: Submission) -> None:
        """Count ``record``'s slots under its key, once."""
        if record.key is not None and not record.holds_slots:
            record.holds_slots = True
            self.cores[record.key].on_acquired(record.cost)

    async def release(self, record: Submission) -> None:
        """Give ``record``'s slots back to the pool and uncount them.

        Local counts follow the record, not the pool's answer: with a shared pool
        another holder may already have deleted the lease (it adopted the task, or
        we adopted it from them), and the pool then reports 0 freed.
        """
        if record.key is None:
            return
        await self.pool.release(record.key, record.external_task_id)
        if record.holds_slots:
            record.holds_slots = False
            self.cores[record.key].on_released(record.cost)
            self.wake(record.key)

    async def note_task_id(self, record: Submission) -> None:
        """Record the task id in the record's lease (shared pools)."""
        if record.key is not None and record.task_id is not None:
            await self.pool.note_task_id(record.key, record.external_task_id, record.task_id)

    # -- figures ---------------------------------------------------------------------------

    def share(self, family: str) -> float:
        """Our share of the account's slots in use for ``family``'s pack (1 when alone)."""
        fam = family_of(family)
        if fam.pack is None:
            return 1.0
        account = self.pool.stats().account
        if account is None:
            return 1.0
        pack = fam.pack.value
        info = account.packs.get(pack)
        total = info.in_use if info is not None else 0
        mine = sum(core.in_use for key, core in self.cores.items() if key.split("/", 1)[0] == pack)
        return 1.0 if not total or mine >= total else mine / total

    def stats(self, now: float) -> dict[str, PackStats]:
        """Per key: capacity, slots in use, queue, creates, refusals, pause left."""
        return {
            name: PackStats(
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
            for name, core in self.cores.items()
        }
