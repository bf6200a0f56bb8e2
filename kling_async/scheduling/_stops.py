"""When creates stop: Kling unreachable for too long, or an error no retry can fix.

Every stop rule lives here; the scheduler only asks and acts, and its owner (a batch)
is told through the scheduler's events and asks :func:`scope_of` about an error that
ended a job.

* **Unreachable creates.** A create that provably never left (connect, DNS, TLS
  failure) starts a window. Any answer from Kling (a task, a 1302/1303 refusal, an
  error code) closes it. When it has lasted ``unreachable_timeout``, the scheduler
  gives up once: the queued submissions fail with the last connect error; after that
  each submission gets one try (``FAIL`` at once on a connect failure) until Kling
  answers again.
* **Unreachable polls.** Poll rounds that fail in a row for ``unreachable_timeout``
  (every task already created, Kling gone) report Kling unreachable once; a round
  that answers again reports it back.
* **Stopped packs.** An authentication error stops every pack (``"*"``), an account
  error (1100-1103) the pack it came from; submissions there fail with that error
  for the rest of the client's life.
"""

from __future__ import annotations

import enum
import logging

from kling_async.endpoints import SlotKey
from kling_async.errors import (
    AccountError,
    AuthenticationError,
    CreateOutcomeUnknownError,
    KlingError,
    ResponseError,
    SchedulerFailedError,
    TransportError,
)

__all__ = ["StopScope", "Stops", "Unreachable", "scope_of"]

logger = logging.getLogger("kling_async.scheduler")

ALL = "*"
"""The stop of every pack."""


class Unreachable(enum.Enum):
    """What to do with a create that could not reach Kling."""

    RETRY = "retry"
    """Within the window: requeue it (the pack pauses)."""
    GIVE_UP = "give_up"
    """The window just ran out: fail it and every queued submission."""
    FAIL = "fail"
    """Already given up: fail it alone."""


class StopScope(enum.Enum):
    """What an error that ended a submission stops."""

    NONE = "none"
    """Nothing: it concerns that submission only (a refused field, a failed task)."""
    PACK = "pack"
    """The submission's pack (an account error: balance, permissions)."""
    ALL = "all"
    """Every create (credentials refused, Kling unreachable, the scheduler dead)."""


def scope_of(error: BaseException) -> StopScope:
    """What ``error``, which ended a submission uncreated (or with its outcome
    unknown), means for the others: a batch keeps such jobs pending, and ends the
    run when every create is stopped."""
    if isinstance(error, AuthenticationError | SchedulerFailedError):
        return StopScope.ALL
    if isinstance(error, TransportError):
        return StopScope.ALL if not error.request_sent else StopScope.NONE
    if isinstance(error, CreateOutcomeUnknownError):
        reached = not isinstance(error.cause, TransportError | ResponseError)
        return StopScope.NONE if reached else StopScope.ALL
    if isinstance(error, AccountError):
        return StopScope.PACK
    return StopScope.NONE


class Stops:
    """The unreachable windows and the stopped packs of one scheduler."""

    def __init__(self, unreachable_timeout: float) -> None:
        self.unreachable_timeout = unreachable_timeout
        self.since: float | None = None
        """When the current unreachable window of creates opened (scheduler clock)."""
        self.error: Exception | None = None
        """The last connect failure of a create."""
        self.given_up = False
        self._polls_since: float | None = None
        self._polls_reported = False
        self.stopped: dict[str, KlingError] = {}
        """``"*"`` (every pack) or a pack name -> the error that stopped it."""

    # -- creates --------------------------------------------------------------------

    def answered(self) -> bool:
        """Kling answered a create: the window closes. True when that ends a spell
        reported as unreachable."""
        was = self.given_up
        self.since = None
        self.given_up = False
        return was

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

    # -- polls ------------------------------------------------------------------------

    def poll_failed(self, now: float) -> bool:
        """A poll round failed at ``now``; True once, when failed rounds have lasted
        ``unreachable_timeout`` (Kling unreachable while tasks run there)."""
        if self._polls_since is None:
            self._polls_since = now
        if self._polls_reported or now - self._polls_since < self.unreachable_timeout:
            return False
        self._polls_reported = True
        return True

    def poll_answered(self) -> bool:
        """A poll round answered after failures; True when that ends a reported spell."""
        was = self._polls_reported
        self._polls_since = None
        self._polls_reported = False
        return was

    # -- stopped packs ------------------------------------------------------------------

    def stop(self, error: BaseException, key: SlotKey | None) -> str | None:
        """A create under ``key`` failed with ``error``: an authentication error stops
        every pack for good, an account error ``key``'s pack. Returns ``"*"`` or the
        pack name when that is news, else None (nothing stops)."""
        if isinstance(error, AuthenticationError):
            where = ALL
        elif isinstance(error, AccountError) and key is not None:
            where = key.pack.value
        else:
            return None
        if where in self.stopped:
            return None
        self.stopped[where] = error
        return where

    def of(self, key: SlotKey) -> KlingError | None:
        """The error that stopped creates under slot ``key`` (its pack, or all)."""
        if not self.stopped:
            return None
        return self.stopped.get(ALL) or self.stopped.get(key.pack.value)
