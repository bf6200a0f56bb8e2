"""Where a batch job is: the states a journal row goes through, and the legal moves.

::

    queued ──> creating ──> created ──> succeeded ──> downloaded
      │  ^        │  │         │            └──────> expired
      │  └────────┘  │         │
      │   (nothing   └─────────┴──> failed ──(batch resume --retry-failed, new id)──> queued
      │    was created)                ^
      └────────────────────────────────┘ (refused for good before anything was created)

``queued``, ``creating`` and ``created`` are pending (a resume finishes them without
creating a task twice: a ``creating`` job is looked up by its external id first);
``failed``, ``downloaded`` and ``expired`` are final; ``succeeded`` waits for its
downloads. Every change of a job's state goes through :func:`check_move` (the journal
writes it; the runner keeps its view in step), so a move the table does not allow is a
bug, never silently applied.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from kling_async.errors import InternalError

__all__ = ["JOB_TRANSITIONS", "JobState", "check_move"]


class JobState(enum.StrEnum):
    """A batch job's state (the journal's ``state`` column)."""

    QUEUED = "queued"
    """Not created; waiting for slots (or for a resume)."""
    CREATING = "creating"
    """A create call may have left (the journal says so before it does)."""
    CREATED = "created"
    """Kling accepted the task; it runs there."""
    SUCCEEDED = "succeeded"
    """The task finished; its files are being downloaded."""
    FAILED = "failed"
    """The task failed, or its create was refused for good."""
    DOWNLOADED = "downloaded"
    """Every result file is on disk."""
    EXPIRED = "expired"
    """The results were past Kling's 30-day retention before they were downloaded."""

    @property
    def is_final(self) -> bool:
        """True for ``failed``, ``downloaded`` and ``expired``."""
        return self in _FINAL

    @property
    def is_pending(self) -> bool:
        """True for ``queued``, ``creating`` and ``created``: a resume finishes it."""
        return self in _PENDING

    @property
    def label(self) -> str:
        """The word progress displays use (``running`` for created, ``done``...)."""
        return _LABELS[self]


_S = JobState
_FINAL = frozenset({_S.FAILED, _S.DOWNLOADED, _S.EXPIRED})
_PENDING = frozenset({_S.QUEUED, _S.CREATING, _S.CREATED})
_LABELS: Mapping[JobState, str] = {
    _S.QUEUED: "queued",
    _S.CREATING: "creating",
    _S.CREATED: "running",
    _S.SUCCEEDED: "downloading",
    _S.DOWNLOADED: "done",
    _S.FAILED: "failed",
    _S.EXPIRED: "expired",
}

JOB_TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    # a create about to leave; attached (it exists); refused for good; stays queued
    _S.QUEUED: frozenset({_S.QUEUED, _S.CREATING, _S.CREATED, _S.FAILED}),
    # another attempt; definitely not created; created; refused for good
    _S.CREATING: frozenset({_S.CREATING, _S.QUEUED, _S.CREATED, _S.FAILED}),
    _S.CREATED: frozenset({_S.CREATED, _S.SUCCEEDED, _S.FAILED}),
    # downloaded, or past retention; the download is retried in place
    _S.SUCCEEDED: frozenset({_S.SUCCEEDED, _S.DOWNLOADED, _S.EXPIRED}),
    _S.FAILED: frozenset({_S.QUEUED}),  # --retry-failed, with a new external id
    _S.DOWNLOADED: frozenset(),
    _S.EXPIRED: frozenset(),
}
"""Legal moves from each state (staying put is legal where a write may repeat)."""


def check_move(job_id: str, old: JobState, new: JobState) -> JobState:
    """``new`` when ``old -> new`` is legal.

    Raises:
        InternalError: the table does not allow it (a bug: nothing is written).
    """
    if new not in JOB_TRANSITIONS[old]:
        raise InternalError(f"job {job_id!r}: {old.value} -> {new.value} is not allowed")
    return new
