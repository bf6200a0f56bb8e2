"""Exceptions raised by kling_async.

Every exception kling_async raises derives from :class:`KlingError` (a test walks
the package to prove it), so ``except KlingError`` catches all of them. Classes that
stand for a familiar Python failure derive from that builtin too (``UsageError`` is a
``ValueError`` and a ``TypeError``, ``JournalNotFoundError`` a ``FileNotFoundError``
...), so existing ``except ValueError`` code keeps working. Request models are
pydantic models: a bad request raises pydantic's ``ValidationError`` (a
``ValueError``) naming the field. Transport faults (the request did not get a usable
answer) are kept apart from API answers (Kling answered with a non-zero ``code``)::

    KlingError
    ├── TransportError              network fault, timeout, connection reset
    ├── ResponseError               answer that is not a valid Kling envelope
    │   └── TaskMismatchError           a lookup answered with another task than asked
    ├── APIError                    Kling answered with code != 0
    │   ├── AuthenticationError         1000-1004
    │   ├── AccountError                1100-1103
    │   │   ├── InsufficientBalanceError    1102
    │   │   └── PermissionDeniedError       1103
    │   ├── InvalidRequestError         1200-1203
    │   │   └── TaskNotFoundError           a task lookup found nothing (1201 "Task not
    │   │                                   found ...", 1203 or HTTP 404)
    │   ├── PolicyError                 1300, 1301, 1304
    │   ├── RateLimitError              1302
    │   │   └── ConcurrencyLimitError       1303
    │   └── ServerError                 5000-5002
    ├── CreateOutcomeUnknownError   a create may or may not have created the task
    ├── UsageError                  a wrong argument, setting or file (nothing sent)
    │   ├── MissingCredentialsError     no usable credentials
    │   │   └── APIKeyRequiredError         a 2026-design call with only AK/SK
    │   ├── CapacityError               a request can never fit its pack's capacity
    │   └── UnpricedRequestError        a budget is set and the request has no estimate
    ├── MissingExtraError           an optional extra is not installed (an ImportError)
    ├── BudgetExceededError         creating it would go over the budget (not created)
    ├── TaskFailedError             the task ended with ``task_status = failed``
    ├── TaskCancelledError          the caller cancelled a submission
    ├── TaskExpiredError            a submission passed its ``start_deadline``
    ├── TaskDetachedError           the client closed while the task ran (or was being
    │                               created) at Kling: it may still be billed
    ├── TaskTimeoutError            a wait ran out (tracking goes on)
    ├── TaskPendingError            ``handle.result()`` before the outcome is known
    ├── ExternalIdInUseError        another live submission, process or family holds the id
    ├── UnsafeFileError             a file would be written through a symlink (refused)
    ├── ClientClosedError           a call on a closed client (nothing was sent)
    ├── SchedulerFailedError        the scheduler's background work died
    ├── SlotPoolUnavailableError    the shared slot pool (Redis) cannot be reached
    ├── InternalError               a bug in kling_async (an illegal state change...)
    └── (kling_async.batch)         JobFileError, JournalCorruptError, JournalLockedError,
                                    JournalWriteError, JournalNotFoundError,
                                    BatchExistsError, FolderNotEmptyError,
                                    BudgetRefusedError, BatchStoppedError, ReportWriteError,
                                    DownloadError
                                    (DownloadRefusedError, ResultsExpiredError)

Each class says whether retrying the same call can help (:attr:`KlingError.retryable`).
Messages never contain credentials or tokens.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from kling_async.models._task import Task

__all__ = [
    "APIError",
    "APIKeyRequiredError",
    "AccountError",
    "AuthenticationError",
    "BudgetExceededError",
    "CapacityError",
    "ClientClosedError",
    "ConcurrencyLimitError",
    "CreateOutcomeUnknownError",
    "ExternalIdInUseError",
    "InsufficientBalanceError",
    "InternalError",
    "InvalidRequestError",
    "KlingError",
    "MissingCredentialsError",
    "MissingExtraError",
    "PermissionDeniedError",
    "PolicyError",
    "RateLimitError",
    "ResponseError",
    "SchedulerFailedError",
    "ServerError",
    "SlotPoolUnavailableError",
    "TaskCancelledError",
    "TaskDetachedError",
    "TaskExpiredError",
    "TaskFailedError",
    "TaskMismatchError",
    "TaskNotFoundError",
    "TaskPendingError",
    "TaskTimeoutError",
    "TransportError",
    "UnpricedRequestError",
    "UnsafeFileError",
    "UsageError",
    "error_for_code",
]


class KlingError(Exception):
    """Base class of every kling_async exception."""

    retryable: ClassVar[bool] = False
    """True when the same call may succeed if tried again later."""


class TransportError(KlingError):
    """The request failed on the network: DNS, connect, reset, or timeout.

    ``request_sent`` is False only when the request provably never left this
    process (DNS or connect failure); then even a create call may be resent.
    """

    retryable: ClassVar[bool] = True

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class ResponseError(KlingError):
    """The server answered with something that is not a valid Kling envelope.

    Raised for non-JSON bodies, JSON without an integer ``code``, or data of the
    wrong shape, so callers never see a bare ``KeyError`` or ``JSONDecodeError``.
    Retryable only when the HTTP status says the server or a proxy failed (>= 500).
    """

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status

    @property
    def is_server_fault(self) -> bool:
        """True when the HTTP status was 5xx (a gateway page, for example)."""
        return self.http_status is not None and self.http_status >= 500


class TaskMismatchError(ResponseError):
    """A lookup answered with a task other than the one asked for.

    Every task taken from a lookup or a list answer is checked against the task id
    or ``external_task_id`` asked for (design invariant 9); such an answer is never
    adopted. Not retryable: asking the same way again gives the same answer.
    """

    def __init__(self, message: str, *, asked: str, got_task_id: str | None) -> None:
        super().__init__(message)
        self.asked = asked
        """The id that was asked for (a task id or an external id)."""
        self.got_task_id = got_task_id
        """The task id the answer named, if any."""


class APIError(KlingError):
    """Kling answered with a non-zero ``code`` in its envelope."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int,
        code: int,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"[{code}] {message} (http {http_status}, request_id={request_id})")
        self.http_status = http_status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        """Seconds from a ``Retry-After`` header, when the server sent one."""


class AuthenticationError(APIError):
    """1000-1004: missing, invalid, not-yet-valid or expired credentials."""


class AccountError(APIError):
    """1100-1103: the account cannot run this request (abnormal, in arrears...)."""


class InsufficientBalanceError(AccountError):
    """1102: the resource pack is used up or expired."""


class PermissionDeniedError(AccountError):
    """1103: the account has no permission for this API or model."""


class InvalidRequestError(APIError):
    """1200-1203: the parameters, method or resource were rejected."""


class TaskNotFoundError(InvalidRequestError):
    """A task lookup found no such task in this account.

    Live Kling answers HTTP 400, code 1201, ``Task not found by id/external id: <id>``
    for an unknown task id or external id; code 1203 and HTTP 404 are read the same
    way, defensively. Any other 1201 stays an :class:`InvalidRequestError`.
    """


class PolicyError(APIError):
    """1300, 1301, 1304: a platform, content-safety or IP-whitelist policy fired."""


class RateLimitError(APIError):
    """1302: requests are arriving too fast; back off and retry."""

    retryable: ClassVar[bool] = True


class ConcurrencyLimitError(RateLimitError):
    """1303: the pack's concurrency limit is reached; no task was created."""

    retryable: ClassVar[bool] = True


class ServerError(APIError):
    """5000-5002: Kling's side failed or timed out; retry with a bound."""

    retryable: ClassVar[bool] = True


class CreateOutcomeUnknownError(KlingError):
    """A create call failed after the request may have reached Kling.

    The task may or may not exist. Resolve it by querying ``external_task_id``
    (``client.get_task(family, external_task_id=...)``) before creating again:
    re-sending blindly could create and bill the task twice.
    """

    retryable: ClassVar[bool] = False

    def __init__(self, family: str, external_task_id: str, cause: BaseException) -> None:
        super().__init__(
            f"create of {family} with external_task_id={external_task_id!r} has an unknown "
            f"outcome ({type(cause).__name__}: {cause}); query the external_task_id before "
            "creating again"
        )
        self.family = family
        self.external_task_id = external_task_id
        self.cause = cause
        """The fault that left the outcome open."""


class UsageError(KlingError, ValueError, TypeError):
    """An argument, setting or file given to kling_async is wrong; nothing was sent.

    Also a ``ValueError`` and a ``TypeError`` (what such mistakes raise in Python),
    so code written against those keeps working. The message names what is wrong.
    """


class MissingCredentialsError(UsageError):
    """No usable credentials were given or found in the environment."""


class APIKeyRequiredError(MissingCredentialsError):
    """A 2026-design call (``/text-to-video/{model}``, ``/tasks``...) with only an
    access key / secret key pair configured: Kling accepts only a console API key
    there (an AK/SK JWT is answered 401/1002). Raised before anything is sent."""


class MissingExtraError(KlingError, ImportError):
    """A feature needs an optional extra that is not installed; the message gives
    the ``pip install`` command."""


class CapacityError(UsageError):
    """The request needs more slots than its pack can ever hold."""


class BudgetExceededError(KlingError):
    """Creating this task would take spent plus committed units over the budget;
    nothing was created and nothing was charged.

    Attributes:
        pack: the pack whose budget (or the total) it would exceed.
        units: the task's estimate.
        used: units spent and committed in ``pack`` (or in all packs for a total).
        limit: the budget it would exceed.
    """

    def __init__(self, what: str, *, pack: str, units: float, used: float, limit: float) -> None:
        scope = "total" if pack == "*" else f"{pack}"
        super().__init__(
            f"budget: {what} needs {units:g} {'' if pack == '*' else pack + ' '}units but "
            f"{used:g} of the {limit:g} {scope} budget are spent or committed; not created"
        )
        self.pack = pack
        self.units = units
        self.used = used
        self.limit = limit


class UnpricedRequestError(UsageError):
    """A budget is set but the price table cannot estimate this request; nothing was
    sent. Add a price (``prices=`` / ``--prices``) or leave the budget out."""


class TaskFailedError(KlingError):
    """The task ended with ``task_status = failed``; ``task_status_msg`` says why."""

    def __init__(self, task: Task) -> None:
        super().__init__(f"task {task.task_id} failed: {task.task_status_msg or 'no reason given'}")
        self.task = task
        self.task_status_msg = task.task_status_msg


class TaskCancelledError(KlingError):
    """The submission was cancelled by the caller before it finished."""


class TaskExpiredError(KlingError):
    """The submission was not created before its ``start_deadline``; nothing was spent."""


class TaskTimeoutError(KlingError, TimeoutError):
    """A wait ran out; the task is still tracked and its handle can be awaited again."""


class TaskDetachedError(KlingError):
    """The client stopped following a task that exists (or may exist) at Kling.

    The task may still run and be billed. Follow it from another client with
    ``await client.attach(family, task_id=..., external_task_id=...)`` (a task
    whose create was still under way has no ``task_id``: attach it by
    ``external_task_id``; if Kling has no such task, nothing was created).

    Attributes:
        family, task_id, external_task_id: what to attach.
    """

    def __init__(
        self,
        family: str,
        task_id: str | None,
        external_task_id: str,
        *,
        reason: str = "the client closed",
    ) -> None:
        self.family = family
        self.task_id = task_id
        self.external_task_id = external_task_id
        if task_id is not None:
            where = f"task {task_id} (external_task_id {external_task_id!r})"
            how = f"task_id={task_id!r}, external_task_id={external_task_id!r}"
            state = "it may still run and be billed at Kling"
        else:
            where = f"the {family} task with external_task_id {external_task_id!r}"
            how = f"external_task_id={external_task_id!r}"
            state = "its create was under way, so it may exist, run and be billed at Kling"
        super().__init__(
            f"{reason} while following {where}: {state}; follow it later with "
            f"await client.attach({family!r}, {how})"
        )


class TaskPendingError(KlingError, asyncio.InvalidStateError):
    """``handle.result()`` was asked before the outcome is decided (await the handle,
    or check ``handle.done()`` first). Also an ``asyncio.InvalidStateError``, as
    ``Future.result()`` raises."""


class UnsafeFileError(KlingError, PermissionError):
    """A file would have been written through a symbolic link (or over a file that
    should not exist) under a folder the package writes into; nothing was written.
    Remove the link and run again."""


class ExternalIdInUseError(KlingError, ValueError):
    """The ``external_task_id`` is held by another live submission of this client,
    by another process sharing the slot pool, or at Kling by a task of another
    family or design (one namespace across all of them); nothing was created for
    this one and nothing was adopted.

    Attributes:
        external_task_id: the id in use.
    """

    def __init__(self, message: str, *, external_task_id: str) -> None:
        super().__init__(message)
        self.external_task_id = external_task_id


class SlotPoolUnavailableError(KlingError):
    """The shared slot pool cannot be reached; nothing is admitted until it returns."""

    retryable: ClassVar[bool] = True


class InternalError(KlingError, RuntimeError):
    """A bug in kling_async: a state change its rules forbid, a count gone negative.
    Please report it with the message and the log."""


class ClientClosedError(KlingError):
    """The client was closed (``aclose()`` or the end of ``async with``); nothing
    was sent. Make a new :class:`~kling_async.KlingClient`."""


class SchedulerFailedError(KlingError):
    """The scheduler's background work died; the client cannot schedule any more.

    The cause is chained (``__cause__``) and named in the message. Submissions
    already queued failed with this error; tasks in flight ended detached.
    """

    def __init__(self, cause: BaseException) -> None:
        self.reason = f"the scheduler stopped ({type(cause).__name__}: {cause})"
        """What stopped it, in a few words."""
        super().__init__(f"{self.reason}; close this client and make a new one")
        self.__cause__ = cause


_RANGES: tuple[tuple[range, type[APIError]], ...] = (
    (range(1000, 1100), AuthenticationError),
    (range(1102, 1103), InsufficientBalanceError),
    (range(1103, 1104), PermissionDeniedError),
    (range(1100, 1200), AccountError),
    (range(1200, 1300), InvalidRequestError),
    (range(1302, 1303), RateLimitError),
    (range(1303, 1304), ConcurrencyLimitError),
    (range(1300, 1400), PolicyError),
    (range(5000, 6000), ServerError),
)


def error_for_code(
    code: int,
    message: str,
    *,
    http_status: int,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> APIError:
    """Build the typed exception for a Kling error ``code``.

    Codes outside the documented ranges become a plain :class:`APIError`, or a
    :class:`ServerError` when the HTTP status is 5xx.

    >>> type(error_for_code(1303, "busy", http_status=429)).__name__
    'ConcurrencyLimitError'
    """
    cls: type[APIError] = APIError
    for codes, candidate in _RANGES:
        if code in codes:
            cls = candidate
            break
    else:
        if http_status >= 500:
            cls = ServerError
    return cls(
        message,
        http_status=http_status,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
    )
