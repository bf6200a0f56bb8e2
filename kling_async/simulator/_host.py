"""What the simulator's helpers (callbacks, synchronous endpoints) may use of its core.

A protocol, so that the helpers never import the server module that imports them.
"""

from __future__ import annotations

import random
from typing import Protocol

from kling_async.simulator._billing import Billing
from kling_async.simulator._state import Faults, SimStats, SimTask

__all__ = ["SimHost"]


class SimHost(Protocol):
    """The parts of ``SimulatorCore`` its helpers read and change."""

    base_url: str
    rng: random.Random
    faults: Faults
    stats: SimStats
    tasks: dict[str, SimTask]
    deleted: set[str]
    billing: Billing

    def now(self) -> float:
        """Simulator seconds."""
        ...

    def next_seq(self) -> int:
        """The next task sequence number (task ids are made from it)."""
        ...

    def capacities(self) -> dict[str, int]:
        """Concurrency per pack (for the pack names ``/account/costs`` shows)."""
        ...
