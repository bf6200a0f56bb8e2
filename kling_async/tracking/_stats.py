"""The tracker's statistics (part of what :meth:`kling_async.KlingClient.stats`
returns; ``kling_async.scheduling`` re-exports it beside the scheduler's own)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TrackerStats"]


@dataclass(frozen=True, slots=True)
class TrackerStats:
    """The pollers: tasks followed per family and requests made."""

    tracked: Mapping[str, int]
    list_requests: int
    single_requests: int
    failed_polls: int
    callbacks: bool
    """True when a callback route feeds the client (polling is a safety net)."""
    failing_for: float = 0.0
    """Seconds polls have failed in a row with no poll succeeding (0 when fine)."""
    last_error: str = ""
    """The error of the last failed poll while ``failing_for`` > 0."""
    tasks_requests: int = 0
    """``GET /tasks`` requests (20 ids each at most)."""
