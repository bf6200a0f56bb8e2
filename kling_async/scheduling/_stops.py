"""When creates stop: Kling unreachable for too long, or an error no retry can fix.

Two rules, kept here so the scheduler only asks and acts:

* **Unreachable.** A create that provably never left (connect, DNS, TLS failure)
  starts a window. Any answer from Kling (a task, a 1302/1303 refusal, an error
  code) closes it. When it has lasted ``unreachable_timeout``, the scheduler gives
  up once: the queued submissions fail with the last connect error; after that each
  submission gets one try (``FAIL`` at once on a connect failure) until Kling
  answers again.
* **Stopped packs.** An authentication error stops every pack (``"*"``), an account
  error (1100-1103) the pack it came from; submissions there fail with that error
  for the rest of the client's life.
"""

from __future__ import annotations

import enum
import logging

from kling_async.errors import KlingError, TransportError

__all__ = ["Stops", "Unreachable"]

logger = logging.getLogger("kling_async.scheduler")


class Unreachable(enum.Enum):
    """What to do with a create that could not reach Kling."""

    RETRY = "retry"
    """Within the window: requeue it (the pack pauses)."""
    GIVE_UP = "give_up"
    """The window just ran out: fail it and every queued submission."""
    FAIL = "fail"
    """Already given up: fail it alone."""


class Stops:
    """The unreachable window and the stopped packs of one scheduler."""

    def __init__(self, unreachable_timeout: float) -> None:
        self.unreachable_timeout = unreachable_timeout
        self.since: float | None = None
        """When the current unreachable window opened (scheduler clock), or None."""
        self.error: Exception | None = None
        """The last connect failure."""
        self.given_up = False
        self.stopped: dict[str, KlingError] = {}
        """``"*"`` (every pack) or a pack name -> the error that stopped it."""

    def answered(self) -> None:
        """Kling answered a create: the window closes."""
        self.since = None
        self.given_up = False

    def unreachable(self, error: Exception | None, now: float) -> Unreachable:
        """A create could not reach Kling at ``now``."""
        self.error = error
        if self.given_up:
            return Unreachable.FAIL
        if self.since is None:
            self.since = now
            logger.warning(
                "cannot reach Kling (%s); creates are retried for up to %gs "
                "(BackoffPolicy.unreachable_timeout), then the pending submissions fail",
                error,
                self.unreachable_timeout,
            )
            return Unreachable.RETRY
        return Unreachable.GIVE_UP if self.due(now) else Unreachable.RETRY

    def due(self, now: float) -> bool:
        """True when the window has run out and nobody has given up yet."""
        return (
            self.since is not None
            and not self.given_up
            and now - self.since >= self.unreachable_timeout
        )

    def give_up(self) -> Exception:
        """Mark the window given up; returns the error to fail submissions with."""
        self.given_up = True
        return self.give_up_error()

    def give_up_error(self) -> Exception:
        """The error submissions fail with while Kling is unreachable."""
        return self.error or TransportError("Kling is unreachable", request_sent=False)

    def deadline(self) -> float | None:
        """When the open window runs out (a paused pack wakes up by then)."""
        if self.since is None or self.given_up:
            return None
        return self.since + self.unreachable_timeout

    def stop(self, pack: str, error: KlingError) -> bool:
        """Stop ``pack`` (``"*"``: all); False when it was stopped already."""
        if pack in self.stopped:
            return False
        self.stopped[pack] = error
        return True

    def of(self, key: str) -> KlingError | None:
        """The error that stopped creates under slot ``key`` (its pack, or all)."""
        if not self.stopped:
            return None
        return self.stopped.get("*") or self.stopped.get(key.split("/", 1)[0])
