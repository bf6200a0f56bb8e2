"""Slot pools: the single place where concurrency slots are counted.

A slot pool answers "may ``cost`` more slots under this slot key be taken now?" and
keeps who holds what: a *slot key* (``"video"``, or ``"video/kling-v3"`` per model;
``str`` of a :class:`~kling_async.endpoints.SlotKey`) names what is counted, the
submission's *external task id* names who holds it, so that releasing twice is
harmless and (for the Redis pool) a dead holder's leases can be adopted.

:class:`LocalSlotPool` serves one process; ``RedisSlotPool`` shares slots between
processes. The interface is what the scheduler calls, nothing more.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kling_async.errors import ExternalIdInUseError, SlotPoolUnavailableError, UsageError
from kling_async.scheduling._stats import PoolStats

__all__ = ["LeaseClaim", "LocalSlotPool", "SlotPool", "SlotPoolUnavailableError"]


@dataclass(frozen=True, slots=True)
class LeaseClaim:
    """A lease taken over from a holder that stopped renewing it (its process died)."""

    external_task_id: str
    """Who held the lease (the submission's id)."""
    slot_key: str
    """What its slots count under."""
    cost: int
    family: str
    task_id: str | None
    """The task the holder created, if it got that far."""


Adopter = Callable[[LeaseClaim], Awaitable[None]]


class SlotPool(abc.ABC):
    """Counts slots in use per pack against a capacity.

    The scheduler uses nothing else of a pool: the abstract methods count slots;
    ``is_shared``, ``retry_interval``, :meth:`check`, :meth:`forget`,
    :meth:`note_task_id`, :meth:`maintain`, :meth:`stats` and :meth:`aclose` have
    defaults that suit a pool serving one process.
    """

    is_shared: bool = False
    """True when other processes take slots from the same pool: they free slots
    without waking this one, so the dispatcher retries every ``retry_interval``
    and lets :meth:`try_acquire` (which keeps arrival order) decide."""

    retry_interval: float | None = None
    """Seconds between acquire retries while slots are taken (None: retry when this
    process frees slots)."""

    async def check(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Raise :class:`SlotPoolUnavailableError` when the pool cannot be reached
        (called once by ``async with KlingClient``: fail fast, before any create)."""

    def forget(self, external_task_id: str) -> None:  # noqa: B027 - optional hook
        """Stop keeping ``external_task_id``'s lease alive (an adoption failed: it
        expires and is retried later). Nothing to do for a pool serving one process."""

    @abc.abstractmethod
    async def try_acquire(
        self, slot_key: str, cost: int, external_task_id: str, family: str = ""
    ) -> bool:
        """Take ``cost`` slots under ``slot_key`` for ``external_task_id`` if they fit
        under the capacity; else False.

        Raises:
            ExternalIdInUseError: ``external_task_id`` already holds slots (another
                submission or process uses the same id).
        """

    @abc.abstractmethod
    async def adopt(
        self,
        slot_key: str,
        cost: int,
        external_task_id: str,
        family: str = "",
        task_id: str | None = None,
    ) -> None:
        """Count ``cost`` slots for a task that already exists, even over capacity."""

    @abc.abstractmethod
    async def release(self, slot_key: str, external_task_id: str) -> int:
        """Give back ``external_task_id``'s slots; returns how many (0: it held none)."""

    @abc.abstractmethod
    async def in_use(self, slot_key: str) -> int:
        """Slots held under ``slot_key`` now (every user of the pool)."""

    @abc.abstractmethod
    async def capacity(self, slot_key: str) -> int | None:
        """The capacity in force for ``slot_key`` (None: not set)."""

    @abc.abstractmethod
    async def set_capacity(self, slot_key: str, capacity: int) -> None:
        """Set ``slot_key``'s capacity (configured or learned)."""

    async def note_task_id(  # noqa: B027 - optional hook, not abstract
        self, slot_key: str, external_task_id: str, task_id: str
    ) -> None:
        """Record the ``task_id`` behind ``external_task_id``'s lease (shared pools)."""

    async def maintain(self, adopt: Adopter) -> None:  # noqa: B027
        """Background upkeep (heartbeats, adopting dead holders' leases); runs until
        cancelled. The local pool needs none and returns at once."""

    def stats(self) -> PoolStats:
        """Pool figures for ``client.stats()``."""
        return PoolStats(shared=self.is_shared)

    async def aclose(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release resources (connections); the local pool has none."""


class LocalSlotPool(SlotPool):
    """In-process slot pool (the default).

    Example:
        >>> import asyncio
        >>> pool = LocalSlotPool({"image": 4})
        >>> asyncio.run(pool.try_acquire("image", 3, "job-1"))
        True
        >>> asyncio.run(pool.try_acquire("image", 2, "job-2"))
        False
    """

    __slots__ = ("_capacity", "_held", "_in_use")

    def __init__(self, capacity: dict[str, int] | None = None) -> None:
        self._capacity: dict[str, int] = dict(capacity or {})
        self._held: dict[str, dict[str, int]] = {}
        self._in_use: dict[str, int] = {}

    async def try_acquire(
        self, slot_key: str, cost: int, external_task_id: str, family: str = ""
    ) -> bool:
        """Take ``cost`` slots when ``in_use + cost <= capacity``."""
        if cost < 1:
            raise UsageError("cost must be >= 1")
        held = self._held.setdefault(slot_key, {})
        if external_task_id in held:
            raise ExternalIdInUseError(
                f"{external_task_id!r} already holds slots under {slot_key!r}",
                external_task_id=external_task_id,
            )
        capacity = self._capacity.get(slot_key)
        used = self._in_use.get(slot_key, 0)
        if capacity is None or used + cost > capacity:
            return False
        held[external_task_id] = cost
        self._in_use[slot_key] = used + cost
        return True

    async def adopt(
        self,
        slot_key: str,
        cost: int,
        external_task_id: str,
        family: str = "",
        task_id: str | None = None,
    ) -> None:
        """Count an existing task's slots (a restart re-attaching, for example)."""
        held = self._held.setdefault(slot_key, {})
        if external_task_id not in held:
            held[external_task_id] = cost
            self._in_use[slot_key] = self._in_use.get(slot_key, 0) + cost

    async def release(self, slot_key: str, external_task_id: str) -> int:
        """Give back ``external_task_id``'s slots; a second release returns 0."""
        cost = self._held.get(slot_key, {}).pop(external_task_id, 0)
        if cost:
            self._in_use[slot_key] -= cost
        return cost

    async def in_use(self, slot_key: str) -> int:
        """Slots held under ``slot_key`` now."""
        return self._in_use.get(slot_key, 0)

    async def capacity(self, slot_key: str) -> int | None:
        """The capacity set for ``slot_key``."""
        return self._capacity.get(slot_key)

    async def set_capacity(self, slot_key: str, capacity: int) -> None:
        """Set ``slot_key``'s capacity."""
        if capacity < 1:
            raise UsageError("capacity must be >= 1")
        self._capacity[slot_key] = capacity

    def __repr__(self) -> str:
        packs = ", ".join(
            f"{p}={self._in_use.get(p, 0)}/{self._capacity.get(p, '?')}"
            for p in sorted(set(self._capacity) | set(self._in_use))
        )
        return f"<LocalSlotPool {packs}>"
