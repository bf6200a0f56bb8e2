"""Scheduling: slot pools, the per-pack core and the dispatcher."""

from kling_async.scheduling._pack import PackCore
from kling_async.scheduling._slots import LocalSlotPool, SlotPool

__all__ = ["LocalSlotPool", "PackCore", "SlotPool"]
