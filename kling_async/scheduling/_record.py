"""The submission record: the scheduler's private state for one submission.

Owns: :class:`HandleState` (where a submission is), the state-transition table
:data:`TRANSITIONS`, the slotted :class:`Submission` record, and :func:`transition`,
the one function that changes a record's state (an illegal change raises
:class:`IllegalTransition`, a bug, never silently ignored).

Only the scheduling code (``scheduling/`` and ``tracking/``) writes a record. The
caller sees it through :class:`~kling_async.TaskHandle`, a read-only view.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Hashable, Mapping

from kling_async.errors import InternalError, TaskFailedError, TaskPendingError
from kling_async.models import KlingRequest, Task, TaskStatus

__all__ = [
    "TRANSITIONS",
    "HandleState",
    "IllegalTransition",
    "Submission",
    "resolve",
    "state_of",
    "transition",
]


class HandleState(enum.StrEnum):
    """Where a submission is."""

    QUEUED = "queued"
    """Waiting for slots (or for its pack's backoff to end)."""
    SUBMITTING = "submitting"
    """The create call is under way (or its outcome is being resolved)."""
    SUBMITTED = "submitted"
    """Kling accepted the task; it holds its slots."""
    PROCESSING = "processing"
    """Kling reported the task as processing."""
    SUCCEEDED = "succeeded"
    """Finished with ``succeed``."""
    FAILED = "failed"
    """Ended with ``failed``, or the create was refused."""
    CANCELLED = "cancelled"
    """The caller cancelled (a created task is still tracked until it ends), or the
    client closed before the task was created (nothing was spent)."""
    EXPIRED = "expired"
    """Not created before its ``start_deadline``; nothing was spent."""
    DETACHED = "detached"
    """The client closed while the task existed (or may exist) at Kling: it may
    still run and be billed; its ids are on the handle and its error says how to
    ``attach`` it from another client."""

    @property
    def is_final(self) -> bool:
        """True once the handle's outcome is decided."""
        return self in _FINAL


_FINAL = frozenset(
    {
        HandleState.SUCCEEDED,
        HandleState.FAILED,
        HandleState.CANCELLED,
        HandleState.EXPIRED,
        HandleState.DETACHED,
    }
)

_S = HandleState
TRANSITIONS: Mapping[HandleState, frozenset[HandleState]] = {
    # dispatched; cancelled or closed before creation; deadline passed; a lease elsewhere
    _S.QUEUED: frozenset({_S.SUBMITTING, _S.CANCELLED, _S.EXPIRED, _S.FAILED}),
    # refused (back in the queue); created; created already ended; refused for good;
    # cancelled by the caller; client closed with the outcome of the create unknown
    _S.SUBMITTING: frozenset(
        {_S.QUEUED, _S.SUBMITTED, _S.SUCCEEDED, _S.FAILED, _S.CANCELLED, _S.DETACHED}
    ),
    _S.SUBMITTED: frozenset({_S.PROCESSING, _S.SUCCEEDED, _S.FAILED, _S.CANCELLED, _S.DETACHED}),
    _S.PROCESSING: frozenset({_S.SUCCEEDED, _S.FAILED, _S.CANCELLED, _S.DETACHED}),
    **{state: frozenset() for state in _FINAL},
}
"""Legal moves from each state; a final state has none."""

INITIAL_STATES = frozenset({_S.QUEUED, _S.SUBMITTED, _S.PROCESSING})
"""A new submission starts queued; a task followed after the fact starts where Kling
says it is."""


class IllegalTransition(InternalError):
    """A state change the table does not allow (a bug in the scheduling code)."""


class Submission:
    """One submission, queued or in flight (see the module docstring).

    ``key`` is the slot key (pack, or ``pack/model`` in ``pack_model`` scope);
    ``in_queue`` and ``seq``/``priority``/``deadline`` are what
    :class:`~kling_async.scheduling._pack.PackCore` reads; ``holds_slots`` is True
    while this process counts the record's slots; ``created_at``/``last_seen`` and
    ``duration_key`` are the tracker's.
    """

    __slots__ = (
        "_waiter",
        "attempts",
        "callback_url",
        "cost",
        "created_at",
        "deadline",
        "duration_key",
        "error",
        "external_task_id",
        "family",
        "holds_slots",
        "in_queue",
        "key",
        "last_seen",
        "on_change",
        "priority",
        "request",
        "seq",
        "state",
        "task",
        "task_id",
    )

    def __init__(
        self,
        *,
        family: str,
        request: KlingRequest | None,
        external_task_id: str,
        key: str | None,
        cost: int,
        seq: int,
        priority: int = 0,
        deadline: float | None = None,
        callback_url: str | None = None,
        state: HandleState = HandleState.QUEUED,
    ) -> None:
        if state not in INITIAL_STATES:
            raise IllegalTransition(f"a submission cannot start {state.value}")
        self.family = family
        self.request = request
        self.external_task_id = external_task_id
        self.key = key
        self.cost = cost
        self.priority = priority
        self.seq = seq
        self.deadline = deadline
        self.callback_url = callback_url
        self.state = state
        self.in_queue = False
        self.holds_slots = False
        self.attempts = 0
        """Create calls started for this record (the creator counts them)."""
        self.task_id: str | None = None
        self.task: Task | None = None
        self.error: BaseException | None = None
        self.created_at = 0.0
        self.last_seen = 0.0
        self.duration_key: tuple[Hashable, ...] | None = None
        self.on_change: Callable[[], None] | None = None
        """Called after every state change (the handle view notifies its listeners)."""
        self._waiter: asyncio.Future[Task] | None = None

    @property
    def final(self) -> bool:
        """True once the outcome is decided."""
        return self.state in _FINAL

    def outcome(self) -> Task:
        """The finished task, or raise the error that decided the record.

        Raises:
            TaskPendingError: not decided yet (an ``asyncio.InvalidStateError``).
        """
        if self.state not in _FINAL:
            raise TaskPendingError(f"{self!r} is not decided yet")
        if self.error is not None:
            raise self.error
        assert self.task is not None
        return self.task

    def waiter(self) -> asyncio.Future[Task]:
        """A future that resolves with the outcome (made on first use: most records
        are never awaited while pending, and a future per record costs memory and
        garbage-collector time)."""
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
            if self.state in _FINAL:
                _settle_future(self._waiter, self.task, self.error)
        return self._waiter

    def __repr__(self) -> str:
        ident = self.task_id or self.external_task_id
        return f"<TaskHandle {self.family} {ident} {self.state.value} cost={self.cost}>"


def transition(
    record: Submission,
    state: HandleState,
    *,
    task: Task | None = None,
    error: BaseException | None = None,
) -> None:
    """Move ``record`` to ``state``; a final state decides the outcome.

    A final state needs ``error`` (failed, cancelled, expired, detached) or a
    finished ``task`` (succeeded); ``task`` also updates the latest task seen.

    Raises:
        IllegalTransition: ``TRANSITIONS`` does not allow the move.
    """
    if state not in TRANSITIONS[record.state]:
        raise IllegalTransition(f"{record!r}: {record.state.value} -> {state.value} is not allowed")
    if task is not None:
        record.task = task
    if state in _FINAL:
        if error is not None:
            record.error = error
        elif state is not HandleState.SUCCEEDED or record.task is None:
            raise IllegalTransition(f"{record!r}: {state.value} needs an error or a task")
        if record._waiter is not None:
            _settle_future(record._waiter, record.task, error)
    record.state = state
    if record.on_change is not None:
        record.on_change()


def _settle_future(
    future: asyncio.Future[Task], task: Task | None, error: BaseException | None
) -> None:
    if error is not None:
        future.set_exception(error)
        # Nobody may ever await a failed or cancelled handle: do not warn about it.
        future.exception()
    else:
        assert task is not None
        future.set_result(task)


def resolve(record: Submission, task: Task) -> None:
    """Decide ``record`` from its finished ``task`` (succeeded, or failed with
    :class:`~kling_async.TaskFailedError`); nothing happens if already decided."""
    if record.final:
        record.task = task
        return
    if task.succeeded:
        transition(record, HandleState.SUCCEEDED, task=task)
    else:
        transition(record, HandleState.FAILED, task=task, error=TaskFailedError(task))


def state_of(task: Task) -> HandleState:
    """The state of a record following an unfinished ``task`` that Kling reports."""
    if task.task_status is TaskStatus.PROCESSING:
        return HandleState.PROCESSING
    return HandleState.SUBMITTED
