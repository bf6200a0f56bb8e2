"""What the scheduler tells its owner as things happen.

The owner (a batch runner, a service, a progress display) gives the hooks once, at
construction (``KlingClient(events=SchedulerEvents(...))``), and reacts: nobody polls
``stats()`` in a loop to find out that a pack stopped or that Kling went away.

Hooks other than ``before_create`` are plain functions called on the event loop as
the event happens: they must return quickly (schedule work, set an event), and an
exception they raise is a bug that ends the scheduler like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kling_async.errors import KlingError
from kling_async.models import Task
from kling_async.scheduling._creator import BeforeCreate

__all__ = ["SchedulerEvents"]


@dataclass(frozen=True, slots=True)
class SchedulerEvents:
    """Hooks the scheduler calls (all optional).

    Attributes:
        before_create: ``async def hook(pending: PendingCreate)``, awaited before every
            create call leaves (a batch journals "creating" there); if it raises,
            nothing is sent and the submission fails with that error.
        created: ``(external_task_id, task)``: Kling made the task (its id is known).
        settled: ``(external_task_id, task)``: Kling says the task ended (succeed or
            failed); its slots are free.
        pack_stopped: ``(pack, error)``: creates stopped for good in ``pack``
            (``"*"``: every pack) — an authentication error, or an account error
            (balance, permissions) in that pack.
        unreachable: ``(error)``: Kling could not be reached for
            ``BackoffPolicy.unreachable_timeout`` (creates that never left, or poll
            rounds that all failed).
        reachable: ``()``: Kling answered again after ``unreachable``.
    """

    before_create: BeforeCreate | None = None
    created: Callable[[str, Task], None] | None = None
    settled: Callable[[str, Task], None] | None = None
    pack_stopped: Callable[[str, KlingError], None] | None = None
    unreachable: Callable[[KlingError], None] | None = None
    reachable: Callable[[], None] | None = None
