"""The batch journal: one SQLite row per job, every state change durable.

States and what resume does with each::

    queued       never sent                      -> submit
    creating     a create may have left          -> query external_task_id: adopt, or
                                                    create again with the same id
    created      task_id known                   -> follow it until it ends
    succeeded    result known                    -> download its files
    failed       ended failed / refused          -> report
    downloaded   files on disk                   -> report
    expired      results past Kling's 30 days    -> report

The database lives in the output folder (``journal.sqlite``, WAL mode). Writes go
through one worker thread in submission order, so the event loop never blocks on
disk and a job's changes land in the order they happened. Each change is its own
transaction: a process killed at any point leaves every row in one valid state.
An exclusive OS lock (``flock``) on ``journal.sqlite`` itself stops two runs from
sharing a journal: there is no side file whose deletion could let a second run in.
The lock's descriptor is opened before SQLite opens the file and closed after it
(closing another descriptor of the file while SQLite holds its own POSIX locks
would drop them). ``journal.sqlite`` and its ``-wal`` / ``-shm`` files are refused
when they are symlinks.

A file that is not a valid journal (garbage, truncated, 0 bytes, another schema)
is refused with :class:`JournalCorruptError`, never taken as an empty batch; a
failed write (disk full, permissions) raises :class:`JournalWriteError` and leaves
the journal as it was before that change. A job's ``attempt`` (0 at first) is part
of its ``external_task_id``: ``--retry-failed`` re-queues a failed job with the
next attempt, so a failed task's id is never reused. ``files`` holds each
downloaded file's name, size and SHA-256.
"""

from __future__ import annotations

import ast
import asyncio
import errno
import fcntl
import hashlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kling_async._files import refuse_link, remove_quietly
from kling_async.batch._downloads import FileRecord
from kling_async.batch._jobs import Job
from kling_async.batch._schema import (
    SCHEMA_SQL,
    SCHEMA_VERSION,
    BatchExistsError,
    FolderNotEmptyError,
    JournalCorruptError,
    JournalLockedError,
    JournalNotFoundError,
    JournalWriteError,
    check_schema,
)
from kling_async.batch._states import JobState
from kling_async.endpoints import FAMILIES
from kling_async.errors import UnsafeFileError

__all__ = [
    "SCHEMA_VERSION",
    "STATES",
    "FolderNotEmptyError",
    "Journal",
    "JournalCorruptError",
    "JournalLockedError",
    "JournalWriteError",
    "Row",
]

STATES = tuple(JobState)
"""Every job state, in the order a job goes through them."""
FINAL = frozenset(state for state in JobState if state.is_final)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Row:
    """One job as journaled."""

    job_id: str
    seq: int
    family: str
    params: dict[str, Any]
    priority: int
    external_task_id: str
    state: JobState
    task_id: str | None
    task: dict[str, Any] | None
    reason: str | None
    units: str | None
    file_records: list[FileRecord]
    cost: int
    pack: str | None
    created_at: float | None
    ended_at: float | None
    attempt: int = 0

    @property
    def files(self) -> list[str]:
        """The names of the job's downloaded files (in ``files/``)."""
        return [record.name for record in self.file_records]


def external_id(batch_id: str, job_id: str, attempt: int = 0) -> str:
    """The deterministic ``external_task_id`` of a job: same batch + job + attempt
    -> same id (attempt 0 keeps the id of journals made before attempts existed)."""
    seed = f"{batch_id}\0{job_id}" if attempt == 0 else f"{batch_id}\0{job_id}\0{attempt}"
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"kb-{digest}"


def _file_records(text: str | None) -> list[FileRecord]:
    if not text:
        return []
    records = []
    for item in json.loads(text):
        if isinstance(item, str):  # schema 1 kept names only
            records.append(FileRecord(item, -1, ""))
        elif isinstance(item, dict):
            records.append(FileRecord(str(item["name"]), int(item["size"]), str(item["sha256"])))
    return records


_PROBES: dict[str, int] = {}
"""Descriptors :meth:`Journal.in_use` probes with (kept open, see there)."""


def _empty(db_path: Path) -> JournalCorruptError:
    return JournalCorruptError(
        f"{db_path} is empty (0 bytes): not a batch journal, maybe cut short by a "
        "full disk; nothing was done (move it away to start a new batch there)"
    )


def _open_lock(db_path: Path) -> int:
    """A descriptor of ``journal.sqlite`` (created when absent) to hold the run's lock."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(db_path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError(f"{db_path} is a symbolic link; refusing it") from None
        raise


class Journal:
    """The SQLite journal of one batch (open with :meth:`open`)."""

    def __init__(self, folder: Path, connection: sqlite3.Connection, lock_fd: int) -> None:
        self.folder = folder
        self._db = connection
        self._lock_fd = lock_fd
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kling-journal")

    # -- opening --------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        folder: str | Path,
        *,
        create: bool,
        read_only: bool = False,
        allow_nonempty: bool = False,
    ) -> Journal:
        """Open (or, with ``create``, start) the journal in ``folder``.

        ``read_only`` takes no lock (for status and reports while a run goes on).
        ``allow_nonempty`` lets ``create`` start a journal in a folder that already
        holds other files.

        Raises:
            JournalLockedError: another run holds the lock.
            JournalCorruptError: the file is not a usable journal.
            FolderNotEmptyError: ``create`` in a folder with files but no journal.
            JournalNotFoundError: no journal in ``folder`` and ``create`` is False
                (a ``FileNotFoundError``).
        """
        folder = Path(folder)
        db_path = folder / "journal.sqlite"
        if not read_only:  # SQLite would write through a planted link
            for name in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"):
                refuse_link(folder / name)
        exists = db_path.exists()
        if not create and not exists:
            raise JournalNotFoundError(f"no batch journal in {folder} (expected {db_path})")
        if read_only and exists and db_path.stat().st_size == 0:
            raise _empty(db_path)  # a run's empty journal is told apart under the lock
        if read_only:
            uri = db_path.resolve().as_uri() + "?mode=ro"
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            check_schema(connection, db_path, migrate=False)
            return cls(folder, connection, -1)
        if create and not exists and not allow_nonempty and folder.is_dir():
            others = [p.name for p in folder.iterdir() if p.name != "journal.lock"]
            if others:
                raise FolderNotEmptyError(
                    f"{folder} holds files ({', '.join(sorted(others)[:3])}...) but no "
                    "journal; choose an empty --out folder (or pass --force to use it)"
                )
        folder.mkdir(parents=True, exist_ok=True)
        lock_fd = _open_lock(db_path)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise JournalLockedError(
                f"another kling-async run is using {folder}; wait for it or stop it first"
            ) from None
        fresh = os.fstat(lock_fd).st_size == 0
        if fresh and exists:  # empty, and no run is creating it (we hold the lock)
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)
            raise _empty(db_path)
        exists = not fresh  # another run may have made it between the look and the lock
        try:
            connection = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
            try:
                if exists:
                    check_schema(connection, db_path, migrate=True)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")
                if not exists:
                    connection.executescript(SCHEMA_SQL)
                    connection.execute(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
            except BaseException:
                connection.close()
                raise
        except BaseException as exc:
            if fresh:  # leave no empty journal behind
                for name in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"):
                    remove_quietly(folder / name)
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)
            if isinstance(exc, sqlite3.Error):
                raise JournalWriteError(f"cannot set up the journal {db_path}: {exc}") from None
            raise
        return cls(folder, connection, lock_fd)

    @staticmethod
    def in_use(folder: str | Path) -> bool:
        """Whether a run holds the journal of ``folder`` right now (its lock on
        ``journal.sqlite``). The probe's descriptor stays open for the process's
        life: closing it could drop a connection's SQLite locks on the same file."""
        path = Path(folder) / "journal.sqlite"
        try:
            inode = path.stat().st_ino
        except OSError:
            return False
        key = str(path.resolve())
        fd = _PROBES.get(key)
        if fd is None or os.fstat(fd).st_ino != inode:
            if fd is not None:
                os.close(fd)  # another inode: no SQLite lock of this file is involved
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except OSError:
                return False
            _PROBES[key] = fd
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False

    def last_change(self) -> float | None:
        """When a job's state last changed (Unix time), or None."""
        value = self._db.execute("SELECT MAX(updated_at) FROM jobs").fetchone()[0]
        return None if value is None else float(value)

    def close(self) -> None:
        """Finish pending writes, close the database and release the lock."""
        self._executor.shutdown(wait=True)
        self._db.close()
        if self._lock_fd >= 0:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)

    # -- writes (one thread, in order) --------------------------------------------------

    async def _run(self, fn: Callable[[], _T]) -> _T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        except sqlite3.Error as exc:
            raise JournalWriteError(
                f"cannot write the batch journal {self.folder / 'journal.sqlite'}: {exc}"
            ) from None

    def _write(self, sql: str, args: Sequence[Any]) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(sql, args)

    def start_batch(self, jobs: Sequence[Job], *, source: str) -> str:
        """Record a new batch and all its jobs as ``queued``; returns the batch id."""
        batch_id = secrets.token_hex(8)
        now = time.time()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._db.execute("SELECT 1 FROM jobs LIMIT 1").fetchone():
                raise BatchExistsError(
                    f"{self.folder} already holds a batch; resume it or choose another --out"
                )
            self._db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [("batch_id", batch_id), ("source", source), ("started_at", repr(now))],
            )
            self._db.executemany(
                "INSERT INTO jobs(job_id, seq, family, params, priority, external_task_id,"
                " state, cost, pack, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                [
                    (
                        job.id,
                        i,
                        job.family,
                        json.dumps(job.params),
                        job.priority,
                        external_id(batch_id, job.id),
                        FAMILIES[job.family].slot_cost(job.request),
                        _pack(job.family),
                        now,
                    )
                    for i, job in enumerate(jobs)
                ],
            )
        return batch_id

    def meta(self, key: str) -> str | None:
        """A batch-level value (``batch_id``, ``source``, ``started_at``...)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        """Store a batch-level value."""
        await self._run(
            lambda: self._write(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )

    def requeue_failed(self) -> list[str]:
        """Queue every failed job again with its next attempt (a new
        ``external_task_id``: a failed task's id is never reused); returns their ids."""
        batch_id = self.meta("batch_id") or ""
        now = time.time()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            failed = self._db.execute(
                "SELECT job_id, attempt FROM jobs WHERE state = 'failed' ORDER BY seq"
            ).fetchall()
            self._db.executemany(
                "UPDATE jobs SET state = 'queued', attempt = ?, external_task_id = ?,"
                " task_id = NULL, task = NULL, reason = NULL, units = NULL, files = NULL,"
                " created_at = NULL, ended_at = NULL, updated_at = ? WHERE job_id = ?",
                [
                    (attempt + 1, external_id(batch_id, job_id, attempt + 1), now, job_id)
                    for job_id, attempt in failed
                ],
            )
        return [job_id for job_id, _ in failed]

    async def mark_queued(self, job_id: str) -> None:
        """Nothing was created (a definite refusal): back to ``queued``."""
        await self._run(
            lambda: self._write(
                "UPDATE jobs SET state = 'queued', updated_at = ? WHERE job_id = ? AND state IN"
                " ('queued', 'creating')",
                (time.time(), job_id),
            )
        )

    async def mark_creating(self, job_id: str) -> None:
        """The create call is about to leave (journaled before it does)."""
        await self._set(job_id, JobState.CREATING)

    async def mark_created(self, job_id: str, task_id: str) -> None:
        """Kling accepted the task."""
        now = time.time()
        await self._run(
            lambda: self._write(
                "UPDATE jobs SET state = 'created', task_id = ?, created_at = COALESCE("
                "created_at, ?), updated_at = ? WHERE job_id = ? AND state IN "
                "('queued', 'creating', 'created')",
                (task_id, now, now, job_id),
            )
        )

    async def mark_ended(
        self, job_id: str, *, succeeded: bool, task: dict[str, Any] | None, reason: str | None
    ) -> None:
        """The task ended (or its create was refused for good)."""
        now = time.time()
        units = None if task is None else task.get("final_unit_deduction")
        await self._run(
            lambda: self._write(
                "UPDATE jobs SET state = ?, task = ?, reason = ?, units = ?, ended_at = ?,"
                " updated_at = ? WHERE job_id = ?",
                (
                    JobState.SUCCEEDED if succeeded else JobState.FAILED,
                    None if task is None else json.dumps(task),
                    reason,
                    None if units is None else str(units),
                    now,
                    now,
                    job_id,
                ),
            )
        )

    async def note_file(self, job_id: str, record: FileRecord) -> None:
        """One result file landed (before the job is ``downloaded``): its name, size
        and checksum, so a resume keeps it only if it is still exactly that file."""

        def write() -> None:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                row = self._db.execute(
                    "SELECT files FROM jobs WHERE job_id = ?", (job_id,)
                ).fetchone()
                earlier = _file_records(row[0] if row else None)
                records = [r for r in earlier if r.name != record.name] + [record]
                self._db.execute(
                    "UPDATE jobs SET files = ?, updated_at = ? WHERE job_id = ?",
                    (json.dumps([r.as_dict() for r in records]), time.time(), job_id),
                )

        await self._run(write)

    async def mark_downloaded(self, job_id: str, files: list[FileRecord]) -> None:
        """Every result file is on disk."""
        await self._run(
            lambda: self._write(
                "UPDATE jobs SET state = 'downloaded', files = ?, updated_at = ? WHERE job_id = ?",
                (json.dumps([f.as_dict() for f in files]), time.time(), job_id),
            )
        )

    async def mark_expired(self, job_id: str, reason: str) -> None:
        """The results are gone from Kling (past retention) and were not downloaded."""
        await self._run(
            lambda: self._write(
                "UPDATE jobs SET state = 'expired', reason = ?, updated_at = ? WHERE job_id = ?",
                (reason, time.time(), job_id),
            )
        )

    async def note_download_error(self, job_id: str, reason: str) -> None:
        """A download failed for now (the job stays ``succeeded``; resume retries)."""
        await self._run(
            lambda: self._write(
                "UPDATE jobs SET reason = ?, updated_at = ? WHERE job_id = ?",
                (reason, time.time(), job_id),
            )
        )

    async def _set(self, job_id: str, state: str) -> None:
        await self._run(
            lambda: self._write(
                "UPDATE jobs SET state = ?, updated_at = ? WHERE job_id = ?",
                (state, time.time(), job_id),
            )
        )

    # -- reads ----------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        """Every job, in file order."""
        cursor = self._db.execute(
            "SELECT job_id, seq, family, params, priority, external_task_id, state, task_id,"
            " task, reason, units, files, cost, pack, created_at, ended_at, attempt FROM jobs"
            " ORDER BY seq"
        )
        return [
            Row(
                job_id=r[0],
                seq=r[1],
                family=r[2],
                params=json.loads(r[3]),
                priority=r[4],
                external_task_id=r[5],
                state=_state(r[6], r[0], self.folder),
                task_id=r[7],
                task=None if r[8] is None else json.loads(r[8]),
                reason=r[9],
                units=r[10],
                file_records=_file_records(r[11]),
                cost=r[12],
                pack=r[13],
                created_at=r[14],
                ended_at=r[15],
                attempt=r[16],
            )
            for r in cursor.fetchall()
        ]

    def capacity(self) -> dict[str, int]:
        """The per-pack capacity journaled by the runs (the highest in force), or {}."""
        value = self.meta("capacity")
        if not value:
            return {}
        try:
            parsed: Any = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return {}
        return {str(k): int(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}

    def counts(self) -> dict[str, int]:
        """Jobs per state."""
        counts: dict[str, int] = {state.value: 0 for state in STATES}
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            counts[state] = n
        return counts


def _state(value: Any, job_id: str, folder: Path) -> JobState:
    """A journaled state; one this version does not know was written by a newer one.

    Raises:
        JournalCorruptError: the state is not one of :data:`STATES`.
    """
    try:
        return JobState(value)
    except ValueError:
        raise JournalCorruptError(
            f"{folder}: job {job_id!r} is in state {value!r}, which this version of "
            "kling_async does not know (written by a newer kling_async?); upgrade to resume"
        ) from None


def _pack(family: str) -> str | None:
    pack = FAMILIES[family].pack
    return None if pack is None else pack.value
