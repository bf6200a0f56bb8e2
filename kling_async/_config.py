"""Configuration value objects and defaults, all in one place.

Every object here is small and frozen so it can be shared between clients and
compared in tests. ``DEFAULT`` is a sentinel meaning "use the client default",
distinct from ``None`` which, where accepted, means "none at all".
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from kling_async.errors import UsageError

__all__ = [
    "DEFAULT",
    "ENV_POLL_SCALE",
    "REGIONS",
    "CallbackRoute",
    "Limits",
    "RetryPolicy",
    "Timeouts",
]


class _Default(enum.Enum):
    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default.DEFAULT
"""Sentinel: use the client's default for this setting."""

REGIONS: Final[dict[str, str]] = {
    "singapore": "https://api-singapore.klingai.com",
    "beijing": "https://api-beijing.klingai.com",
}
"""Base URL per region. ``singapore`` serves callers outside China."""

ENV_POLL_SCALE: Final = "KLING_POLL_SCALE"
"""Environment variable: poll at this time scale (the simulator's ``--time-scale``)."""

TOKEN_TTL_SECONDS: Final = 1800
"""Lifetime of a minted JWT, as in the official sample (``exp = now + 1800``)."""

TOKEN_NBF_SKEW_SECONDS: Final = 5
"""``nbf = now - 5`` tolerates small clock skew, as in the official sample."""

TOKEN_REFRESH_MARGIN_SECONDS: Final = 60
"""A cached token is re-minted when fewer than this many seconds remain."""

ACCOUNT_COSTS_PER_SECOND: Final = 1.0
"""Kling asks callers to keep ``/account/costs`` at or below 1 request per second."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Network timeouts in seconds.

    ``connect`` bounds opening a TCP/TLS connection; ``read`` bounds each wait for
    bytes from the server. Waiting for a free pooled connection is *not* counted,
    so a busy pool can never turn into spurious timeouts (see :class:`Limits`).
    """

    connect: float = 10.0
    read: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            if getattr(self, name) <= 0:
                raise UsageError(f"Timeouts.{name} must be > 0")


@dataclass(frozen=True, slots=True)
class Limits:
    """Connection pool size.

    ``max_connections`` should exceed the number of requests the client can have
    outstanding at once (slots in use plus pollers); the default leaves ample room
    so pooling never becomes a hidden queue in front of the scheduler.
    """

    max_connections: int = 256
    max_response_bytes: int = 32 * 1024 * 1024
    """An API answer larger than this is refused (:class:`~kling_async.ResponseError`)
    instead of being read into memory: Kling's largest answers (a 500-task list
    page) are well under a megabyte."""

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise UsageError("Limits.max_connections must be >= 1")
        if self.max_response_bytes < 1024:
            raise UsageError("Limits.max_response_bytes must be >= 1024")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries for transient faults.

    The delay before retry ``attempt`` (0-based) is drawn uniformly from
    ``[0, min(max_delay, initial_delay * 2 ** attempt)]`` (exponential backoff with
    full jitter). A ``Retry-After`` header replaces that draw, capped at
    ``max_retry_after``. ``max_attempts`` counts the first try; 1 disables retries.
    """

    max_attempts: int = 4
    initial_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise UsageError("RetryPolicy.max_attempts must be >= 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise UsageError("RetryPolicy delays must be >= 0")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries (useful in tests)."""
        return cls(max_attempts=1)


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How a pack pauses after 1303 (concurrency) or 1302 (rate) refusals.

    The pause after the ``k``-th refusal in a row (0-based) is
    ``initial + uniform(0, min(max_delay, initial * 2**k) - initial)``: exponential
    with full jitter above a floor, so the first pause is never below ``initial``
    (Kling asks for >= 1 s). A ``Retry-After`` header wins, capped at
    ``max_retry_after``. A successful create resets ``k``.
    """

    initial: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 60.0
    unreachable_timeout: float = 60.0
    """Seconds creates may fail to reach Kling (connect, DNS, TLS failures) with no
    answer from it in between before the pending submissions fail with the
    :class:`~kling_async.TransportError`; also bounds the lookups that settle a
    create whose outcome is unknown."""

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.max_delay < self.initial or self.max_retry_after < 0:
            raise UsageError("BackoffPolicy needs 0 < initial <= max_delay, max_retry_after >= 0")
        if self.unreachable_timeout <= 0:
            raise UsageError("BackoffPolicy.unreachable_timeout must be > 0")


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """When the tracker asks Kling about tasks in flight.

    A family's next poll is the earliest moment the expected number of tasks that
    finished since they were last seen reaches ``max(expected_completions,
    per_task_completions * k)`` for ``k`` tasks in flight (durations are learned
    per family, mode and duration from Kling's own timestamps), kept within
    ``[min_interval, max_interval]``. One poll costs about ``1/threshold`` requests
    per task and detects an end after about ``threshold * duration / (2k)``: the
    ``k``-proportional part keeps both small for large accounts. Lower values mean
    faster detection and more requests. ``time_scale`` multiplies the family table's
    typical durations and both intervals (use the simulator's time scale in tests).

    Attributes:
        min_interval: shortest gap between two polls of one family (seconds).
        max_interval: longest gap while tasks are in flight (seconds).
        expected_completions: expected finished tasks that justify one poll (minimum).
        per_task_completions: added threshold per task in flight.
        list_threshold: tracked tasks from which the list endpoint is used.
        max_list_pages: list pages read per poll before falling back to single queries.
        queries_per_second: cap on all task queries of the client (aiolimiter).
        overdue_fraction: poll interval for a task running longer than any seen,
            as a fraction of the family's typical duration.
        callback_slowdown: with a callback route, intervals are multiplied by this.
        tasks_query: with an API key, ``/v1`` tasks that no list page covered (a lone
            task, a family without a list, tasks deeper than ``max_list_pages``) are
            asked through ``GET /tasks``, 20 a request, instead of one query each.
            2026-design tasks always are (they have no other lookup).
    """

    min_interval: float = 1.0
    max_interval: float = 60.0
    expected_completions: float = 0.4
    per_task_completions: float = 0.07
    list_threshold: int = 2
    max_list_pages: int = 4
    queries_per_second: float = 10.0
    overdue_fraction: float = 0.1
    callback_slowdown: float = 4.0
    time_scale: float = 1.0
    tasks_query: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.max_interval:
            raise UsageError("PollPolicy needs 0 < min_interval <= max_interval")
        if (
            self.expected_completions <= 0
            or self.per_task_completions < 0
            or self.queries_per_second <= 0
        ):
            raise UsageError("expected_completions and queries_per_second must be > 0")
        if self.list_threshold < 1 or self.max_list_pages < 1 or self.time_scale <= 0:
            raise UsageError("list_threshold, max_list_pages and time_scale must be positive")

    @classmethod
    def scaled(cls, time_scale: float, **changes: float) -> PollPolicy:
        """Defaults with durations and intervals multiplied by ``time_scale``."""
        base = cls()
        values: dict[str, float] = {
            "min_interval": base.min_interval * time_scale,
            "max_interval": base.max_interval * time_scale,
            "time_scale": time_scale,
            "queries_per_second": base.queries_per_second / min(1.0, time_scale),
        }
        values.update(changes)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PollPolicy:
        """:meth:`scaled` by ``KLING_POLL_SCALE`` when it is set, else the defaults.

        ``kling-async simulate`` prints ``export KLING_POLL_SCALE=<its time scale>``:
        a client that reads it polls at the simulator's pace, so a 300 s video of a
        simulator at time scale 0.02 is seen to end about 6 s after it was created.
        :class:`~kling_async.KlingClient` uses this when ``poll`` is not given.

        Raises:
            ValueError: the variable is set but is not a number in (0, 1000].
        """
        raw = (os.environ if environ is None else environ).get(ENV_POLL_SCALE, "").strip()
        if not raw:
            return cls()
        try:
            scale = float(raw)
        except ValueError:
            scale = float("nan")
        if not 0 < scale <= 1000:  # also refuses nan
            raise UsageError(
                f"{ENV_POLL_SCALE} must be a number in (0, 1000] (the simulator's time "
                f"scale, e.g. 0.02), got {raw!r}"
            )
        return cls.scaled(scale)


@dataclass(frozen=True, slots=True)
class LearnPolicy:
    """How a pack's capacity is learned when not configured.

    Start at ``initial``; after ``grow_after`` successful creates made while the
    pack was full, grow by one. A 1303 cuts the capacity to the slots held at that
    moment (at least 1). After a cut, probing upward waits for ``probe_after``
    successful creates, doubled after each probe that ends in 1303 (up to
    ``max_probe_after``), and at least ``probe_interval`` seconds.
    """

    initial: int = 2
    grow_after: int = 1
    probe_after: int = 50
    max_probe_after: int = 1000
    probe_interval: float = 30.0

    def __post_init__(self) -> None:
        if self.initial < 1 or self.grow_after < 1 or self.probe_after < 1:
            raise UsageError("LearnPolicy counts must be >= 1")


@dataclass(frozen=True, slots=True)
class CallbackRoute:
    """Where Kling's callbacks reach a client, and how they are trusted.

    Give it as ``KlingClient(callback_route=CallbackRoute(url, ...))`` (or just the URL).
    Every create then carries ``url + "/" + token`` (an unguessable per-client token)
    and ``client.callbacks`` verifies and applies the deliveries; polling goes on as a
    safety net. The token and the secrets never appear in ``repr``.

    Attributes:
        url: public URL of your callback route (``kling_async.integrations`` mounts it).
        token: pin the path token (default: random per client) so tasks created before
            a restart still reach the route.
        webhook_secrets: Standard Webhooks secret(s) (``whsec_...``; two during a
            rotation). With secrets, unsigned or badly signed deliveries get 401.
        trust_unsigned: let an unsigned terminal callback resolve at once instead of
            being confirmed by a query first.

    Example:
        >>> CallbackRoute("https://svc.example.com/kling/callbacks", token="t" * 24)
        CallbackRoute(url='https://svc.example.com/kling/callbacks', trust_unsigned=False)
    """

    url: str
    token: str | None = field(default=None, repr=False)
    webhook_secrets: Sequence[str] | str = field(default=(), repr=False)
    trust_unsigned: bool = False

    @property
    def secrets(self) -> tuple[str, ...]:
        """The webhook secrets as a tuple (one given as a string counts as one)."""
        if isinstance(self.webhook_secrets, str):
            return (self.webhook_secrets,)
        return tuple(self.webhook_secrets)

    @classmethod
    def of(cls, value: CallbackRoute | str | None) -> CallbackRoute | None:
        """The route for a ``callback_route=`` setting (a route, its URL, or None)."""
        if value is None or isinstance(value, CallbackRoute):
            return value
        if isinstance(value, str):
            return cls(value)
        raise UsageError(
            f"callback_route must be a CallbackRoute or a URL, got {type(value).__name__}"
        )
