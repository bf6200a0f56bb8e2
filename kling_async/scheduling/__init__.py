"""Scheduling: the scheduler and its parts (see ``_scheduler``'s docstring for the
path of one submission), slot pools, and the typed statistics."""

from kling_async.scheduling._creator import PendingCreate
from kling_async.scheduling._events import SchedulerEvents
from kling_async.scheduling._pack import PackCore
from kling_async.scheduling._redis import RedisSlotPool
from kling_async.scheduling._slots import (
    LeaseClaim,
    LocalSlotPool,
    SlotPool,
    SlotPoolUnavailableError,
)
from kling_async.scheduling._stats import (
    AccountPackStats,
    AccountStats,
    PackStats,
    PoolStats,
    SchedulerStats,
    TrackerStats,
)

__all__ = [
    "AccountPackStats",
    "AccountStats",
    "LeaseClaim",
    "LocalSlotPool",
    "PackCore",
    "PackStats",
    "PendingCreate",
    "PoolStats",
    "RedisSlotPool",
    "SchedulerEvents",
    "SchedulerStats",
    "SlotPool",
    "SlotPoolUnavailableError",
    "TrackerStats",
]
