"""The exactly-once creator (design invariant 3): one submission's create step.

Owns: the create call, the ``before_create`` hook, and finding out whether a create
with an unknown outcome made the task. Slots, queues and handles are not its
business: it returns what happened as a small result and the scheduler acts on it.

Data flow of :meth:`Creator.create` (the slots are already taken)::

    before_create(PendingCreate)        (a batch journals "creating")
    backend.send(record.call)           (the CreateCall the gate built: same body
                                         and id on every attempt)
      created                    -> the Task
      1303 / 1302 / never sent   -> Refused(Refusal.CONCURRENCY | RATE | UNREACHABLE)
      outcome unknown            -> look the external id up (verified; "not found"
                                    confirmed once): found -> the Task;
                                    missing -> create again, same id, at most
                                    MAX_RECREATES times in a row, then CreateFailed
      "external_task_id already exists" (400/1201)
                                 -> look it up and adopt it (the Task) when it is
                                    this family's; not found -> CreateFailed(
                                    ExternalIdInUseError) (never created again)
      a lookup answering another task (another id, another family's outputs or
      billing, two tasks naming the id), any other error -> CreateFailed(error)
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kling_async._clock import SYSTEM_CLOCK, Clock
from kling_async._config import BackoffPolicy
from kling_async.errors import (
    APIError,
    ConcurrencyLimitError,
    CreateOutcomeUnknownError,
    ExternalIdInUseError,
    KlingError,
    RateLimitError,
    ResponseError,
    TaskMismatchError,
    TaskNotFoundError,
    TransportError,
)
from kling_async.models import KlingRequest, Task
from kling_async.scheduling._pack import pause_delay
from kling_async.scheduling._record import Submission
from kling_async.tracking._backend import Backend
from kling_async.wire._lookup import is_duplicate_external_id

__all__ = [
    "MAX_RECREATES",
    "BeforeCreate",
    "CreateFailed",
    "CreateResult",
    "Creator",
    "PendingCreate",
    "Refusal",
    "Refused",
]

logger = logging.getLogger("kling_async.scheduler")

MAX_RECREATES = 3
"""Creates with an unknown outcome whose task was then confirmed missing, in a row,
before the submission fails with the last unknown outcome (a server that never
keeps what it answers must not be asked for ever)."""


@dataclass(frozen=True, slots=True)
class PendingCreate:
    """What the ``before_create`` hook is told before a create call leaves.

    Attributes:
        family: the task family.
        external_task_id: the id the create carries (the same on every attempt).
        request: the request to be sent.
        attempt: 1 for the first create of this submission, then 2, 3... after a
            refusal or a confirmed-missing task.
    """

    family: str
    external_task_id: str
    request: KlingRequest
    attempt: int


BeforeCreate = Callable[[PendingCreate], Awaitable[None]]
"""Awaited before every create call leaves; if it raises, nothing is sent and the
submission fails with that error."""


class Refusal(enum.Enum):
    """Why Kling definitely did not create the task (the slots go back)."""

    CONCURRENCY = "1303"
    RATE = "1302"
    UNREACHABLE = "unreachable"


@dataclass(slots=True)
class Refused:
    """Nothing was created; try again after a pause."""

    reason: Refusal
    retry_after: float | None
    error: Exception | None = None
    """The refusal itself (for UNREACHABLE: the ``TransportError`` naming URL and cause)."""


@dataclass(slots=True)
class CreateFailed:
    """Nothing was (provably, or by Kling's refusal) created; do not try again."""

    error: Exception


CreateResult = Task | Refused | CreateFailed
"""A :class:`~kling_async.Task`: the task exists (created now, or found after an
unknown outcome); :class:`Refused`: try again later; :class:`CreateFailed`: never."""


class Creator:
    """Creates one submission's task exactly once.

    Args:
        backend: the low-level task calls (create, get_task).
        backoff: pauses between lookups while an outcome is resolved.
        before_create: the hook (see :data:`BeforeCreate`).
        rng: jitter source.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        backoff: BackoffPolicy,
        before_create: BeforeCreate | None = None,
        rng: random.Random | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._backend = backend
        self._backoff = backoff
        self._before_create = before_create
        self._rng = rng or random.Random()
        self._clock = clock

    async def create(self, record: Submission) -> CreateResult:
        """Run the create step of ``record`` (see the module docstring)."""
        call = record.call
        assert call is not None
        recreated = 0
        while True:
            attempt = record.begin_attempt()
            if self._before_create is not None:
                try:
                    await self._before_create(
                        PendingCreate(record.family, record.external_task_id, call.request, attempt)
                    )
                except Exception as error:  # the hook's refusal: nothing is sent
                    return CreateFailed(error)
            try:
                task = await self._backend.send(call)
            except ConcurrencyLimitError as error:
                return Refused(Refusal.CONCURRENCY, error.retry_after)
            except RateLimitError as error:
                return Refused(Refusal.RATE, error.retry_after)
            except TransportError as error:
                if error.request_sent:  # pragma: no cover - the client reports unknown outcome
                    return CreateFailed(error)
                return Refused(Refusal.UNREACHABLE, None, error)
            except CreateOutcomeUnknownError as error:
                try:
                    found = await self._resolve_unknown(record)
                except KlingError as lookup_error:
                    return CreateFailed(_unknown(record, lookup_error))
                if found is not None:
                    return found
                recreated += 1
                if recreated > MAX_RECREATES:
                    return CreateFailed(error)
                logger.info("%r was not created; creating it again (same id)", record)
                continue
            except APIError as error:
                if not is_duplicate_external_id(error):
                    return CreateFailed(error)
                try:
                    found = await self._resolve_unknown(record)
                except KlingError as lookup_error:
                    return CreateFailed(lookup_error)
                if found is None:
                    held = ExternalIdInUseError(
                        f"external_task_id {record.external_task_id!r} is held by a task "
                        f"that {record.family}'s lookup does not find (a task of another "
                        "family or design: Kling's external ids are one namespace); "
                        "nothing created, nothing adopted: use another external_task_id "
                        f"(Kling: {error.message})",
                        external_task_id=record.external_task_id,
                    )
                    logger.warning("%s", held)
                    return CreateFailed(held)
                return found
            except KlingError as error:  # refused before sending (credentials, usage)
                return CreateFailed(error)
            return task

    async def _resolve_unknown(self, record: Submission) -> Task | None:
        """Find out whether a create with an unknown outcome made the task.

        Looks the ``external_task_id`` up (verified: a task naming another id is
        never adopted) until Kling answers; "not found" is confirmed once after a
        pause before it is believed. Transient faults are retried for at most
        ``backoff.unreachable_timeout`` seconds, then the last one is raised; a
        definite error (``TaskMismatchError``, authentication, account, bad request)
        is raised at once. The slots stay held meanwhile.
        """
        attempt = 0
        misses = 0
        give_up = self._clock.monotonic() + self._backoff.unreachable_timeout
        while True:
            try:
                return await self._backend.get_task(
                    record.family, external_task_id=record.external_task_id
                )
            except TaskNotFoundError:
                misses += 1
                if misses >= 2:
                    return None
            except KlingError as error:
                if not _transient(error) or self._clock.monotonic() >= give_up:
                    raise
                logger.warning("resolving %r failed (%s); retrying", record, type(error).__name__)
            await self._clock.sleep(pause_delay(attempt, self._backoff, None, self._rng))
            attempt += 1


def _unknown(record: Submission, error: KlingError) -> KlingError:
    """A lookup that could not settle an unknown outcome: transient faults become a
    :class:`CreateOutcomeUnknownError` (the task may exist; resolve it by
    ``external_task_id`` later), definite answers stay what they are."""
    if isinstance(error, CreateOutcomeUnknownError) or not _transient(error):
        return error
    return CreateOutcomeUnknownError(record.family, record.external_task_id, error)


def _transient(error: KlingError) -> bool:
    """Faults worth asking again about: network, 5xxx, 1302, gateway pages."""
    if isinstance(error, TaskMismatchError):
        return False
    if isinstance(error, ResponseError):
        return error.is_server_fault
    return error.retryable
