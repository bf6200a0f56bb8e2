"""Retry policy as pure functions, tested by tables.

* :func:`classify` decides what to do with one failure of one request.
* :func:`backoff_delay` is exponential backoff with full jitter:
  ``uniform(floor, min(cap, initial * 2 ** attempt))`` — the one formula every retry
  loop of the package uses (requests, paused packs, failed polls, lookups).
* :func:`parse_retry_after` reads a ``Retry-After`` header (seconds or HTTP date).
* :func:`retry_delay` combines them, capping ``Retry-After``.

Creates are special (design invariant 3): a create POST is resent only when the
request provably never left (connect or DNS failure) or the server answered with a
definite refusal of an expired/not-yet-valid token. Anything else that leaves the
outcome open is reported as unknown so the caller can resolve it by
``external_task_id``.
"""

from __future__ import annotations

import enum
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from kling_async._config import RetryPolicy
from kling_async.errors import (
    APIError,
    AuthenticationError,
    KlingError,
    RateLimitError,
    ResponseError,
    ServerError,
    TransportError,
    UsageError,
)

__all__ = ["Decision", "backoff_delay", "classify", "parse_retry_after", "retry_delay"]

REAUTH_CODES = frozenset({1003, 1004})
"""Token not yet valid / expired: mint a fresh token and resend once."""


class Decision(enum.Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"
    """Wait (see :func:`retry_delay`) and send the same request again."""
    REAUTH = "reauth"
    """Mint a new token and resend at once (only once per call)."""
    FAIL = "fail"
    """Raise the error to the caller."""
    UNKNOWN_OUTCOME = "unknown_outcome"
    """A create may have happened: raise so the caller resolves it by external id."""


def classify(error: KlingError, *, idempotent: bool) -> Decision:
    """Decide how to treat ``error`` from one attempt.

    ``idempotent`` is True for queries (GET) and False for creates (POST that
    starts a billable task).

    >>> from kling_async.errors import TransportError
    >>> classify(TransportError("reset", request_sent=True), idempotent=False)
    <Decision.UNKNOWN_OUTCOME: 'unknown_outcome'>
    """
    if isinstance(error, AuthenticationError):
        return Decision.REAUTH if error.code in REAUTH_CODES else Decision.FAIL
    if isinstance(error, TransportError):
        if not error.request_sent or idempotent:
            return Decision.RETRY
        return Decision.UNKNOWN_OUTCOME
    if isinstance(error, RateLimitError):
        # 1302/1303 are definite refusals: nothing was created. Queries retry here;
        # for creates the scheduler owns the backoff (it pauses the whole pack).
        return Decision.RETRY if idempotent else Decision.FAIL
    if isinstance(error, ServerError):
        return Decision.RETRY if idempotent else Decision.UNKNOWN_OUTCOME
    if isinstance(error, ResponseError):
        if not idempotent:
            return Decision.UNKNOWN_OUTCOME
        return Decision.RETRY if error.is_server_fault else Decision.FAIL
    if isinstance(error, APIError):
        return Decision.FAIL
    return Decision.FAIL


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    cap: float,
    floor: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with full jitter for the ``attempt``-th retry (0-based):
    the one backoff formula of the package.

    Returns a value drawn uniformly from ``[floor, max(floor, min(cap, initial * 2 **
    attempt))]``: full jitter above ``floor`` (0 for request retries; a pack paused
    after 1303 never waits less than ``initial``, as Kling asks).
    """
    if attempt < 0:
        raise UsageError("attempt must be >= 0")
    ceiling = max(floor, min(cap, initial * (2.0 ** min(attempt, 62))))
    draw = (rng or random).random()
    return floor + draw * (ceiling - floor)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header into seconds (never negative).

    Accepts delta-seconds (``"3"``, ``"1.5"``) or an HTTP date. Returns None when
    the header is absent or unreadable.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def retry_delay(
    attempt: int,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry ``attempt`` (0-based) under ``policy``.

    A server-provided ``retry_after`` wins over the jittered backoff but is capped
    at ``policy.max_retry_after``, so a hostile or buggy header cannot stall a
    caller for hours.
    """
    if retry_after is not None:
        return min(max(0.0, retry_after), policy.max_retry_after)
    return backoff_delay(attempt, initial=policy.initial_delay, cap=policy.max_delay, rng=rng)
