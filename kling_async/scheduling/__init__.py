"""Scheduling: slot pools, the per-pack core and the dispatcher."""

from kling_async.scheduling._pack import PackCore
from kling_async.scheduling._redis import RedisSlotPool
from kling_async.scheduling._slots import (
    LeaseClaim,
    LocalSlotPool,
    SlotPool,
    SlotPoolUnavailableError,
)

__all__ = [
    "LeaseClaim",
    "LocalSlotPool",
    "PackCore",
    "RedisSlotPool",
    "SlotPool",
    "SlotPoolUnavailableError",
]
