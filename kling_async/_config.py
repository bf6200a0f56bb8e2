"""Configuration value objects and defaults, all in one place.

Every object here is small and frozen so it can be shared between clients and
compared in tests. ``DEFAULT`` is a sentinel meaning "use the client default",
distinct from ``None`` which, where accepted, means "none at all".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT",
    "REGIONS",
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
                raise ValueError(f"Timeouts.{name} must be > 0")


@dataclass(frozen=True, slots=True)
class Limits:
    """Connection pool size.

    ``max_connections`` should exceed the number of requests the client can have
    outstanding at once (slots in use plus pollers); the default leaves ample room
    so pooling never becomes a hidden queue in front of the scheduler.
    """

    max_connections: int = 256

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("Limits.max_connections must be >= 1")


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
            raise ValueError("RetryPolicy.max_attempts must be >= 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("RetryPolicy delays must be >= 0")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries (useful in tests)."""
        return cls(max_attempts=1)
