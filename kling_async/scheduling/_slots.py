"""Slot pools: the single place where concurrency slots are counted.

A slot pool answers "may ``cost`` more slots of this pack be taken now?" and keeps
who holds what, keyed by the submission's ``external_task_id`` so that releasing
twice is harmless and (for the Redis pool) a holder's leases can be adopted.

:class:`LocalSlotPool` serves one process. The interface is deliberately small so a
shared implementation (Redis, issue 7) can replace it.
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

    key: str
    pack: str
    cost: int
    family: str
    task_id: str | None


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

    def forget(self, key: str) -> None:  # noqa: B027 - optional hook, not abstract
        """Stop keeping ``key``'s lease alive (an adoption failed: it expires and is
        retried later). Nothing to do for a pool serving one process."""

    @abc.abstractmethod
    async def try_acquire(self, pack: str, cost: int, key: str, family: str = "") -> bool:
        """Take ``cost`` slots for ``key`` if they fit under the capacity; else False.

        Raises:
            ExternalIdInUseError: ``key`` already holds slots (another submission
                or process uses the same external id).
        """

    @abc.abstractmethod
    async def adopt(
        self, pack: str, cost: int, key: str, family: str = "", task_id: str | None = None
    ) -> None:
        """Count ``cost`` slots for a task that already exists, even over capacity."""

    @abc.abstractmethod
    async def release(self, pack: str, key: str) -> int:
        """Give back ``key``'s slots; returns how many (0 if ``key`` held none)."""

    @abc.abstractmethod
    async def in_use(self, pack: str) -> int:
        """Slots of ``pack`` held now."""

    @abc.abstractmethod
    async def capacity(self, pack: str) -> int | None:
        """The capacity in force for ``pack`` (None: not set)."""

    @abc.abstractmethod
    async def set_capacity(self, pack: str, capacity: int) -> None:
        """Set ``pack``'s capacity (configured or learned)."""

    async def note_task_id(self, pack: str, key: str, task_id: str) -> None:  # noqa: B027
        """Record the ``task_id`` behind ``key`` (shared pools keep it in the lease)."""

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

    async def try_acquire(self, pack: str, cost: int, key: str, family: str = "") -> bool:
        """Take ``cost`` slots for ``key`` when ``in_use + cost <= capacity``."""
        if cost < 1:
            raise UsageError("cost must be >= 1")
        held = self._held.setdefault(pack, {})
        if key in held:
            raise ExternalIdInUseError(
                f"{key!r} already holds slots of pack {pack!r}", external_task_id=key
            )
        capacity = self._capacity.get(pack)
        used = self._in_use.get(pack, 0)
        if capacity is None or used + cost > capacity:
            return False
        held[key] = cost
        self._in_use[pack] = used + cost
        return True

    async def adopt(
        self, pack: str, cost: int, key: str, family: str = "", task_id: str | None = None
    ) -> None:
        """Count an existing task's slots (a restart re-attaching, for example)."""
        held = self._held.setdefault(pack, {})
        if key not in held:
            held[key] = cost
            self._in_use[pack] = self._in_use.get(pack, 0) + cost

    async def release(self, pack: str, key: str) -> int:
        """Give back ``key``'s slots; a second release returns 0."""
        cost = self._held.get(pack, {}).pop(key, 0)
        if cost:
            self._in_use[pack] -= cost
        return cost

    async def in_use(self, pack: str) -> int:
        """Slots of ``pack`` held now."""
        return self._in_use.get(pack, 0)

    async def capacity(self, pack: str) -> int | None:
        """The capacity set for ``pack``."""
        return self._capacity.get(pack)

    async def set_capacity(self, pack: str, capacity: int) -> None:
        """Set ``pack``'s capacity."""
        if capacity < 1:
            raise UsageError("capacity must be >= 1")
        self._capacity[pack] = capacity

    def __repr__(self) -> str:
        packs = ", ".join(
            f"{p}={self._in_use.get(p, 0)}/{self._capacity.get(p, '?')}"
            for p in sorted(set(self._capacity) | set(self._in_use))
        )
        return f"<LocalSlotPool {packs}>"
