"""Typed statistics: what :meth:`kling_async.KlingClient.stats` returns.

Owns only the frozen dataclasses; each part fills in its own (the per-pack cores
their :class:`PackStats`, the tracker its :class:`TrackerStats`, the slot pool its
:class:`PoolStats`). ``as_dict()`` gives plain JSON-ready data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kling_async.tracking._stats import TrackerStats

__all__ = [
    "AccountPackStats",
    "AccountStats",
    "PackStats",
    "PoolStats",
    "SchedulerStats",
    "TrackerStats",
]


@dataclass(frozen=True, slots=True)
class PackStats:
    """One slot key (a pack, or ``pack/model``) as this process sees it.

    Attributes:
        capacity: the limit in force (configured, or learned so far).
        learned: True when the capacity is being learned from 1303 answers.
        in_use: slots this process holds.
        queued: submissions waiting.
        created: creates that succeeded.
        count_1302, count_1303: rate-limit and concurrency refusals seen.
        count_unreachable: creates that could not be sent at all.
        paused_for: seconds of backoff left.
    """

    capacity: int
    learned: bool
    in_use: int
    queued: int
    created: int
    count_1302: int
    count_1303: int
    count_unreachable: int
    paused_for: float


@dataclass(frozen=True, slots=True)
class AccountPackStats:
    """A pack across every process sharing a slot pool."""

    in_use: int
    capacity: int | None


@dataclass(frozen=True, slots=True)
class AccountStats:
    """The account-wide picture kept in a shared slot pool (last heartbeat)."""

    packs: Mapping[str, AccountPackStats]
    holders: tuple[str, ...]
    leases: int
    adopted: int

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> AccountStats:
        """Build from :meth:`RedisSlotPool.snapshot`'s mapping."""
        packs = {
            name: AccountPackStats(int(info.get("in_use", 0)), info.get("capacity"))
            for name, info in snapshot.get("packs", {}).items()
        }
        return cls(
            packs=packs,
            holders=tuple(snapshot.get("holders", ())),
            leases=int(snapshot.get("leases", 0)),
            adopted=int(snapshot.get("adopted", 0)),
        )


@dataclass(frozen=True, slots=True)
class PoolStats:
    """The slot pool: local (not shared) or shared between processes.

    Attributes:
        shared: True for a pool shared by several processes (Redis).
        available: False while a shared pool cannot be reached.
        holder: this process's holder id in a shared pool.
        leases_here, adopted_here: leases held, and taken over from dead holders.
        account: the account-wide picture (shared pools, after a heartbeat).
    """

    shared: bool = False
    available: bool = True
    holder: str | None = None
    leases_here: int = 0
    adopted_here: int = 0
    account: AccountStats | None = None


@dataclass(frozen=True, slots=True)
class SchedulerStats:
    """Everything :meth:`kling_async.KlingClient.stats` reports.

    Example:
        >>> stats = client.stats()                             # doctest: +SKIP
        >>> stats.packs["video"].in_use, stats.tracker.list_requests  # doctest: +SKIP
    """

    packs: Mapping[str, PackStats]
    submitting: int
    """Create calls under way (including outcomes being resolved)."""
    pool: PoolStats
    tracker: TrackerStats

    def as_dict(self) -> dict[str, Any]:
        """Plain nested dicts (for JSON, logs, benchmarks)."""
        return dataclasses.asdict(self)
