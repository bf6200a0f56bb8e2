"""Time, in one injectable place: every part of the scheduler reads the same clock.

:class:`Clock` gives monotonic seconds (what queues, pauses, deadlines and poll plans
are measured in), wall-clock seconds (what Kling's timestamps and ``start_deadline``
are in) and the sleep between tries. Tests give a fake one; the default is the real
thing. :func:`wait_event` waits for an event or a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["SYSTEM_CLOCK", "Clock", "wait_event"]


@dataclass(frozen=True, slots=True)
class Clock:
    """Where the scheduler's parts read time.

    Attributes:
        monotonic: seconds from an arbitrary origin, never going back.
        wall: seconds since the Unix epoch.
        sleep: waits that many seconds.
    """

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


SYSTEM_CLOCK = Clock()
"""The real clock."""


async def wait_event(event: asyncio.Event, seconds: float | None) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass (None: forever); True if set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()
