"""The journal's schema, its version check and migration, and the journal's errors.

Schema versions: 1 (the first journals: no ``attempt`` column, no ``schema_version``
in ``meta``; migrated on a writable open) and 2. Anything else, or a file SQLite
cannot read, is refused with :class:`JournalCorruptError`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kling_async.batch._states import JobState
from kling_async.errors import KlingError

__all__ = [
    "SCHEMA_SQL",
    "SCHEMA_VERSION",
    "FolderNotEmptyError",
    "JournalCorruptError",
    "JournalLockedError",
    "JournalWriteError",
    "check_schema",
]

SCHEMA_VERSION = 2
"""1: the first journals (no ``attempt`` column; migrated on open); 2: attempts."""

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    family TEXT NOT NULL,
    params TEXT NOT NULL,
    priority INTEGER NOT NULL,
    external_task_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    task_id TEXT,
    task TEXT,
    reason TEXT,
    units TEXT,
    files TEXT,
    cost INTEGER NOT NULL,
    pack TEXT,
    created_at REAL,
    ended_at REAL,
    updated_at REAL NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
"""


_COLUMNS = frozenset(
    {"job_id", "seq", "family", "params", "priority", "external_task_id", "state", "task_id"}
    | {"task", "reason", "units", "files", "cost", "pack", "created_at", "ended_at"}
)
"""The columns every schema has (schema 1 lacks ``attempt``)."""
_KNOWN_COLUMNS = _COLUMNS | {"updated_at", "attempt"}
"""Every column this version knows; any other was added by a newer kling_async."""


class JournalLockedError(KlingError, RuntimeError):
    """Another run holds this journal."""


class JournalCorruptError(KlingError, ValueError):
    """The file is not a journal this version can use (garbage, truncated, empty,
    another schema). Nothing was changed."""


class JournalWriteError(KlingError, RuntimeError):
    """A journal write failed (disk full, permissions); the journal keeps its state
    from before that change, so the batch can be resumed once the cause is fixed."""


class JournalNotFoundError(KlingError, FileNotFoundError):
    """``batch resume`` (or ``status``, ``report``) was pointed at a folder that holds
    no journal."""


class BatchExistsError(KlingError, FileExistsError):
    """``batch run`` was pointed at a folder that already holds a batch (resume it,
    or choose another folder)."""


class FolderNotEmptyError(BatchExistsError):
    """``batch run`` was pointed at a folder that holds files but no journal."""


def check_schema(connection: sqlite3.Connection, path: Path, *, migrate: bool) -> None:
    """Refuse anything but a kling-async journal of a known schema (migrating a
    schema-1 journal when ``migrate``)."""
    try:
        if connection.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise JournalCorruptError(f"{path} is damaged (SQLite integrity check failed)")
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        if not {"jobs", "meta"} <= tables:
            raise JournalCorruptError(f"{path} is not a kling-async batch journal")
        columns = {r[1] for r in connection.execute("PRAGMA table_info(jobs)")}
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise JournalCorruptError(
            f"{path} is not a valid batch journal ({exc}); nothing was done"
        ) from None
    except JournalCorruptError:
        connection.close()
        raise
    version = 1 if row is None else int(row[0]) if str(row[0]).isdigit() else -1
    unknown = sorted(columns - _KNOWN_COLUMNS)
    if version > SCHEMA_VERSION or unknown:
        connection.close()
        what = (
            f"schema {version}" if version > SCHEMA_VERSION else f"column(s) {', '.join(unknown)}"
        )
        raise JournalCorruptError(
            f"{path} was written by a newer kling_async ({what}; this version reads "
            f"schemas 1-{SCHEMA_VERSION}); upgrade kling-async to use it. Nothing was changed"
        )
    if version < 1 or not columns >= _COLUMNS:
        connection.close()
        raise JournalCorruptError(
            f"{path} has journal schema {row[0] if row else '?'} without the columns this "
            f"version of kling-async needs (it reads schemas 1-{SCHEMA_VERSION})"
        )
    try:
        states = {r[0] for r in connection.execute("SELECT DISTINCT state FROM jobs")}
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise JournalCorruptError(f"{path} is not a valid batch journal ({exc})") from None
    strange = sorted(str(state) for state in states - {state.value for state in JobState})
    if strange:
        connection.close()
        raise JournalCorruptError(
            f"{path} was written by a newer kling_async (job state(s) "
            f"{', '.join(map(repr, strange))} this version does not know); upgrade "
            "kling-async to use it. Nothing was changed"
        )
    if "attempt" not in columns and migrate:
        connection.execute("ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0")
    if version < SCHEMA_VERSION and migrate:
        connection.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
