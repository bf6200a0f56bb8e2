"""The batch runner: drives every journaled job to a final state, crash-safely.

A fresh run journals every job as ``queued``, then does exactly what a resume
does: for each row, by state (see ``_journal``), submit, re-attach, or download.
The runner's :meth:`BatchRunner.before_create`, passed to the client as its
``before_create`` hook, journals ``creating`` before each create leaves, so a kill
at any moment leaves only states that resume can settle without creating a task
twice (a ``creating`` job is looked up by its external id first). When the client
closes early, jobs whose tasks run at Kling stay ``created`` (their handles end
detached) and a resume re-attaches them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kling_async._client import KlingClient
from kling_async._handle import TaskHandle
from kling_async.batch._downloads import Downloader, DownloadError, ResultsExpiredError
from kling_async.batch._jobs import load_jobs
from kling_async.batch._journal import FINAL, Journal, Row
from kling_async.errors import (
    KlingError,
    TaskCancelledError,
    TaskDetachedError,
    TaskFailedError,
    TaskNotFoundError,
)
from kling_async.models import REQUEST_MODELS, Task
from kling_async.scheduling._creator import PendingCreate

__all__ = ["BatchProgress", "BatchRunner", "resume_batch", "run_batch"]

logger = logging.getLogger("kling_async.batch")


@dataclass
class BatchProgress:
    """A snapshot for progress displays."""

    elapsed: float
    per_pack: dict[str, dict[str, int]] = field(default_factory=dict)
    slots: dict[str, tuple[int, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)


class BatchRunner:
    """Runs the jobs of one journal with one client.

    Build it first, make the client with ``before_create=runner.before_create``,
    then ``await runner.run(client)``.

    Args:
        journal: the opened journal.
        downloads: where and how results are fetched.
    """

    def __init__(self, journal: Journal, downloads: Downloader) -> None:
        self.client: KlingClient | None = None
        """The client of the current run (set by :meth:`run`)."""
        self.journal = journal
        self.downloads = downloads
        self.started = time.monotonic()
        self._rows = {row.job_id: row for row in journal.rows()}
        self._state = {row.job_id: row.state for row in self._rows.values()}
        self._by_ext = {row.external_task_id: row.job_id for row in self._rows.values()}
        self._handles: dict[str, TaskHandle] = {}

    async def before_create(self, pending: PendingCreate) -> None:
        """The client's ``before_create`` hook: journal ``creating`` for the job."""
        job_id = self._by_ext.get(pending.external_task_id)
        if job_id is not None:
            await self.journal.mark_creating(job_id)
            self._state[job_id] = "creating"

    def progress(self) -> BatchProgress:
        """Counts per pack and state, slots in use, elapsed seconds."""
        snapshot = BatchProgress(elapsed=time.monotonic() - self.started)
        if self.client is not None:
            for pack, info in self.client.stats().packs.items():
                snapshot.slots[pack] = (info.in_use, info.capacity)
        for job_id, state in self._state.items():
            row = self._rows[job_id]
            pack = row.pack or "none"
            label = {
                "queued": "queued",
                "creating": "creating",
                "created": "running",
                "succeeded": "downloading",
                "downloaded": "done",
                "failed": "failed",
                "expired": "expired",
            }[state]
            per = snapshot.per_pack.setdefault(pack, {})
            per[label] = per.get(label, 0) + 1
            snapshot.totals[label] = snapshot.totals.get(label, 0) + 1
        return snapshot

    async def run(self, client: KlingClient) -> None:
        """Drive every job to a final state (or as far as Kling allows) with
        ``client`` (made with ``before_create=self.before_create``)."""
        self.client = client
        jobs = [self._drive(row) for row in self._rows.values() if row.state not in FINAL]
        await asyncio.gather(*jobs)
        await self.journal.set_meta("capacity", repr(self._capacity()))
        await self.journal.set_meta("finished_at", repr(time.time()))

    def _capacity(self) -> dict[str, int]:
        assert self.client is not None
        return {p: info.capacity for p, info in self.client.stats().packs.items()}

    async def _drive(self, row: Row) -> None:
        try:
            task = await self._settle(row)
        except (TaskCancelledError, TaskDetachedError):
            return  # the run is stopping; the journal already says where this job is
        except TaskFailedError as failed:
            await self.journal.mark_ended(
                row.job_id,
                succeeded=False,
                task=failed.task.model_dump(mode="json"),
                reason=failed.task_status_msg or "failed",
            )
            self._state[row.job_id] = "failed"
            return
        except KlingError as error:
            await self.journal.mark_ended(row.job_id, succeeded=False, task=None, reason=str(error))
            self._state[row.job_id] = "failed"
            return
        if task is None:
            return
        await self._download(row, task)

    async def _settle(self, row: Row) -> Task | None:
        """Bring a row to a finished task (submitting or re-attaching as needed)."""
        assert self.client is not None
        if row.state == "succeeded":
            return Task.model_validate(row.task or {"task_id": row.task_id or "?"})
        handle: TaskHandle | None = None
        if row.state == "created" and row.task_id:
            # Both ids: a task id that now names another job's task is never adopted.
            handle = await self.client.attach(
                row.family,
                task_id=row.task_id,
                external_task_id=row.external_task_id,
                cost=row.cost,
                model_name=row.params.get("model_name"),
            )
        elif row.state == "creating":
            try:
                handle = await self.client.attach(
                    row.family,
                    external_task_id=row.external_task_id,
                    cost=row.cost,
                    model_name=row.params.get("model_name"),
                )
            except TaskNotFoundError:
                handle = None  # never created: submit again with the same id
        if handle is None:
            request = REQUEST_MODELS[row.family].model_validate(row.params)
            handle = self.client.submit(
                request, external_task_id=row.external_task_id, priority=row.priority
            )
        self._handles[row.job_id] = handle
        created: list[asyncio.Task[None]] = []

        def on_change(h: TaskHandle) -> None:
            if h.task_id and self._state[row.job_id] in ("queued", "creating"):
                self._state[row.job_id] = "created"
                created.append(
                    asyncio.ensure_future(self.journal.mark_created(row.job_id, h.task_id))
                )

        handle.add_listener(on_change)
        on_change(handle)
        try:
            task = await handle
        finally:
            if created:
                await asyncio.gather(*created)  # 'created' lands before 'ended'
        await self.journal.mark_ended(
            row.job_id, succeeded=True, task=task.model_dump(mode="json"), reason=None
        )
        self._state[row.job_id] = "succeeded"
        return task

    async def _download(self, row: Row, task: Task) -> None:
        try:
            names = await self.downloads.fetch_task(row.job_id, task)
        except ResultsExpiredError as expired:
            await self.journal.mark_expired(row.job_id, str(expired))
            self._state[row.job_id] = "expired"
            return
        except DownloadError as error:
            await self.journal.note_download_error(row.job_id, str(error))
            logger.warning("download of %s failed: %s", row.job_id, error)
            return
        await self.journal.mark_downloaded(row.job_id, names)
        self._state[row.job_id] = "downloaded"


async def _execute(
    journal: Journal,
    client_kwargs: dict[str, Any],
    *,
    download_concurrency: int,
    on_start: Callable[[BatchRunner], None] | None,
) -> None:
    downloads = Downloader(journal.folder / "files", concurrency=download_concurrency)
    await downloads.clean_partials()
    runner = BatchRunner(journal, downloads)
    try:
        async with KlingClient(**client_kwargs, before_create=runner.before_create) as client:
            if on_start is not None:
                on_start(runner)
            await runner.run(client)
    finally:
        await downloads.aclose()


async def run_batch(
    jobs_file: str | Path,
    out: str | Path,
    *,
    family: str | None = None,
    download_concurrency: int = 4,
    on_start: Callable[[BatchRunner], None] | None = None,
    **client_kwargs: Any,
) -> Path:
    """Validate ``jobs_file``, journal it in ``out`` and run it to the end.

    ``client_kwargs`` configure the :class:`~kling_async.KlingClient`. Returns ``out``.

    Raises:
        JobFileError: bad rows (nothing is journaled or sent).
        JournalLockedError / FileExistsError: ``out`` is in use or holds a batch.
    """
    jobs = await asyncio.to_thread(load_jobs, jobs_file, family=family)
    journal = await asyncio.to_thread(Journal.open, out, create=True)
    try:
        await asyncio.to_thread(journal.start_batch, jobs, source=str(jobs_file))
        await _execute(
            journal,
            client_kwargs,
            download_concurrency=download_concurrency,
            on_start=on_start,
        )
    finally:
        await asyncio.to_thread(journal.close)
    return Path(out)


async def resume_batch(
    out: str | Path,
    *,
    download_concurrency: int = 4,
    on_start: Callable[[BatchRunner], None] | None = None,
    **client_kwargs: Any,
) -> Path:
    """Continue the batch journaled in ``out``: nothing is created twice.

    Raises:
        FileNotFoundError: ``out`` holds no journal.
        JournalLockedError: another run is using it.
    """
    journal = await asyncio.to_thread(Journal.open, out, create=False)
    try:
        await _execute(
            journal,
            client_kwargs,
            download_concurrency=download_concurrency,
            on_start=on_start,
        )
    finally:
        await asyncio.to_thread(journal.close)
    return Path(out)
