"""The submission record: the scheduler's private state for one submission.

Owns: :class:`HandleState` (where a submission is), the state-transition table
:data:`TRANSITIONS`, the slotted :class:`Submission` record, and :func:`transition`,
the one function that changes a record's state (an illegal change raises
:class:`IllegalTransition`, a bug, never silently ignored).

A record changes only through its own methods (the task Kling reported, a create
attempt, its slots held or freed, a listener) and :func:`transition`; everything
else reads it (``tests/test_record.py`` proves no other module writes one). The
scheduler hands records out; the face wraps each in a
:class:`~kling_async.TaskHandle`, a read-only view.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Mapping

from kling_async.endpoints import SlotKey
from kling_async.errors import InternalError, TaskFailedError, TaskPendingError
from kling_async.models import KlingRequest, Task, TaskStatus
from kling_async.wire._task_calls import CreateCall

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

    What it was made with never changes: ``family``, ``call`` (the
    :class:`~kling_async.wire._task_calls.CreateCall` the create gate built: request,
    path, wire body; ``request`` reads it), ``external_task_id``, ``key`` (the
    :class:`~kling_async.endpoints.SlotKey` its slots count under), ``cost``,
    ``priority``, ``seq`` (FIFO order), ``deadline``, ``callback_url``. What happens
    to it changes only through its own methods and :func:`transition` (the one
    writer of ``state``): :meth:`note_task`, :meth:`begin_attempt`,
    :meth:`hold_slots` / :meth:`free_slots`, :meth:`listen`. The rest of the package
    reads the read-only properties.
    """

    __slots__ = (
        "_attempts",
        "_error",
        "_holds_slots",
        "_on_change",
        "_state",
        "_task",
        "_task_id",
        "_waiter",
        "call",
        "callback_url",
        "cost",
        "deadline",
        "external_task_id",
        "family",
        "key",
        "priority",
        "seq",
    )

    def __init__(
        self,
        *,
        family: str,
        call: CreateCall | None,
        external_task_id: str,
        key: SlotKey | None,
        cost: int,
        seq: int,
        priority: int = 0,
        deadline: float | None = None,
        callback_url: str | None = None,
        state: HandleState = HandleState.QUEUED,
        task: Task | None = None,
    ) -> None:
        if state not in INITIAL_STATES:
            raise IllegalTransition(f"a submission cannot start {state.value}")
        if state is not HandleState.QUEUED and task is None:
            raise IllegalTransition(f"a submission starting {state.value} needs its task")
        self.family = family
        self.call = call
        self.external_task_id = external_task_id
        self.key = key
        self.cost = cost
        self.priority = priority
        self.seq = seq
        self.deadline = deadline
        self.callback_url = callback_url
        self._state = state
        self._holds_slots = False
        self._attempts = 0
        self._task_id: str | None = task.task_id if task is not None else None
        self._task: Task | None = task
        self._error: BaseException | None = None
        self._on_change: Callable[[], None] | None = None
        self._waiter: asyncio.Future[Task] | None = None

    # -- what it shows ------------------------------------------------------------------

    @property
    def request(self) -> KlingRequest | None:
        """The request it was submitted with (None for an attached task)."""
        return self.call.request if self.call is not None else None

    @property
    def state(self) -> HandleState:
        """Where it is (changed only by :func:`transition`)."""
        return self._state

    @property
    def task_id(self) -> str | None:
        """Kling's id of its task, once known (set once by :meth:`note_task`)."""
        return self._task_id

    @property
    def task(self) -> Task | None:
        """The latest state of its task Kling reported."""
        return self._task

    @property
    def error(self) -> BaseException | None:
        """Why it did not succeed, once decided."""
        return self._error

    @property
    def attempts(self) -> int:
        """Create calls started for it (:meth:`begin_attempt`)."""
        return self._attempts

    @property
    def holds_slots(self) -> bool:
        """True while this process counts its slots."""
        return self._holds_slots

    @property
    def final(self) -> bool:
        """True once the outcome is decided."""
        return self._state in _FINAL

    # -- what happens to it -----------------------------------------------------------

    def note_task(self, task: Task) -> None:
        """Kling reported ``task`` for this submission (a create answer, a poll, a
        callback): keep it as the latest seen. The first one fixes the task id.

        Raises:
            IllegalTransition: ``task`` names another task id than the one known (an
                answer about another task must never be adopted; the callers check
                identity first, so this is a bug).
        """
        if self._task_id is None:
            self._task_id = task.task_id
        elif task.task_id != self._task_id:
            raise IllegalTransition(
                f"{self!r}: a report about task {task.task_id} is not about {self._task_id}"
            )
        self._task = task

    def begin_attempt(self) -> int:
        """A create call is about to leave; returns its number (1, 2, ...)."""
        self._attempts += 1
        return self._attempts

    def hold_slots(self) -> bool:
        """Count its slots as held by this process; False when they already were."""
        if self._holds_slots:
            return False
        self._holds_slots = True
        return True

    def free_slots(self) -> bool:
        """Stop counting its slots; False when it held none."""
        if not self._holds_slots:
            return False
        self._holds_slots = False
        return True

    def listen(self, on_change: Callable[[], None] | None) -> None:
        """Call ``on_change`` after every state change (the handle's listeners)."""
        self._on_change = on_change

    def outcome(self) -> Task:
        """The finished task, or raise the error that decided the record.

        Raises:
            TaskPendingError: not decided yet (an ``asyncio.InvalidStateError``).
        """
        if self._state not in _FINAL:
            raise TaskPendingError(f"{self!r} is not decided yet")
        if self._error is not None:
            raise self._error
        assert self._task is not None
        return self._task

    def waiter(self) -> asyncio.Future[Task]:
        """A future that resolves with the outcome (made on first use: most records
        are never awaited while pending, and a future per record costs memory and
        garbage-collector time)."""
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
            if self._state in _FINAL:
                _settle_future(self._waiter, self._task, self._error)
        return self._waiter

    def __repr__(self) -> str:
        ident = self._task_id or self.external_task_id
        return f"<TaskHandle {self.family} {ident} {self._state.value} cost={self.cost}>"


def transition(
    record: Submission,
    state: HandleState,
    *,
    task: Task | None = None,
    error: BaseException | None = None,
) -> None:
    """Move ``record`` to ``state``; a final state decides the outcome.

    A final state needs ``error`` (failed, cancelled, expired, detached) or a
    task that succeeded (succeeded); ``task`` also updates the latest task seen.
    Nothing changes when the move is refused.

    Raises:
        IllegalTransition: ``TRANSITIONS`` does not allow the move.
    """
    if state not in TRANSITIONS[record._state]:
        raise IllegalTransition(
            f"{record!r}: {record._state.value} -> {state.value} is not allowed"
        )
    if state in _FINAL and error is None:
        finished = task if task is not None else record._task
        if state is not HandleState.SUCCEEDED or finished is None or not finished.succeeded:
            raise IllegalTransition(f"{record!r}: {state.value} needs an error or a task")
    if task is not None:
        record.note_task(task)
    if state in _FINAL:
        if error is not None:
            record._error = error
        if record._waiter is not None:
            _settle_future(record._waiter, record._task, error)
    record._state = state
    if record._on_change is not None:
        record._on_change()


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
        record.note_task(task)
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
