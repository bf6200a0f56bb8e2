"""The batch runner: drives every journaled job to a final state, crash-safely.

A fresh run journals every job as ``queued``, then does exactly what a resume
does: for each row, by state (see ``_journal``), submit, re-attach, or download.
The runner's :meth:`BatchRunner.before_create`, passed to the client as its
``before_create`` hook, journals ``creating`` before each create leaves, so a kill
at any moment leaves only states that resume can settle without creating a task
twice (a ``creating`` job is looked up by its external id first). When the client
closes early, jobs whose tasks run at Kling stay ``created`` (their handles end
detached) and a resume re-attaches them.

A job whose create would take the batch over its budget stays ``queued`` (the
others run on); the run then ends with :class:`BatchStoppedError` naming the budget,
and a resume with a larger budget creates those jobs.

Faults that no job can get past end the run instead of failing jobs
(:class:`BatchStoppedError`): Kling unreachable for ``unreachable_timeout``, an
authentication error, the scheduler failing. The run then closes its client (tasks
running at Kling stay ``created``), the jobs concerned stay pending (``queued``, or
``creating`` when a create's outcome is unknown) and ``batch resume`` finishes them
once the cause is fixed. An account error (balance, permissions: 1100-1103) stops
only its pack: the other packs run to the end, then the run raises the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from kling_async._client import KlingClient
from kling_async._handle import TaskHandle
from kling_async.batch._downloads import (
    Downloader,
    DownloadError,
    FileRecord,
    ResultsExpiredError,
)
from kling_async.batch._journal import FINAL, Journal, Row
from kling_async.endpoints import FAMILIES, REQUEST_MODELS
from kling_async.errors import (
    AccountError,
    AuthenticationError,
    BudgetExceededError,
    CreateOutcomeUnknownError,
    KlingError,
    ResponseError,
    SchedulerFailedError,
    TaskCancelledError,
    TaskDetachedError,
    TaskFailedError,
    TaskNotFoundError,
    TransportError,
)
from kling_async.models import Task
from kling_async.scheduling._creator import PendingCreate

__all__ = ["BatchProgress", "BatchRunner", "BatchStoppedError", "stops_all"]

logger = logging.getLogger("kling_async.batch")


class BatchStoppedError(KlingError):
    """The batch stopped before every job could run: Kling was unreachable, the
    credentials were refused, or an account error (balance, permissions) stopped a
    pack. The jobs concerned are still pending in the journal; fix the cause and
    ``kling-async batch resume <out>`` finishes them (nothing is created twice).

    Attributes:
        causes: the errors that stopped it (one per pack, or one for all).
        pending: how many jobs remain pending.
    """

    def __init__(self, causes: list[KlingError], pending: int) -> None:
        self.causes = causes
        self.pending = pending
        shown = "; ".join(f"{type(c).__name__}: {c}" for c in causes)
        super().__init__(f"the batch stopped with {pending} job(s) pending: {shown}")


def stops_all(error: KlingError) -> bool:
    """Errors after which no create of this run can succeed (the run ends)."""
    if isinstance(error, AuthenticationError | SchedulerFailedError):
        return True
    if isinstance(error, TransportError):
        return not error.request_sent
    if isinstance(error, CreateOutcomeUnknownError):
        return isinstance(error.cause, TransportError | ResponseError)
    return False


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
        unreachable_timeout: seconds the client's queries may fail in a row (Kling
            unreachable while every job is already created) before the run stops.
    """

    def __init__(
        self, journal: Journal, downloads: Downloader, *, unreachable_timeout: float = 60.0
    ) -> None:
        self.unreachable_timeout = unreachable_timeout
        self.client: KlingClient | None = None
        """The client of the current run (set by :meth:`run`)."""
        self.journal = journal
        self.downloads = downloads
        self.started = time.monotonic()
        self._rows = {row.job_id: row for row in journal.rows()}
        self._state = {row.job_id: row.state for row in self._rows.values()}
        self._by_ext = {row.external_task_id: row.job_id for row in self._rows.values()}
        self._handles: dict[str, TaskHandle] = {}
        self.stops: dict[str, KlingError] = {}
        """Why creates stopped (``"*"``: all, else a pack name) during this run."""
        self._stop_all = asyncio.Event()
        self.peak_capacity: dict[str, int] = {}
        """Per pack, the highest capacity in force during this run (utilization)."""

    async def before_create(self, pending: PendingCreate) -> None:
        """The client's ``before_create`` hook: journal ``creating`` for the job."""
        self._note_capacity()  # the capacity in force as this create takes its slots
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
        ``client`` (made with ``before_create=self.before_create``).

        Raises:
            BatchStoppedError: creates stopped (see the module docstring); the
                journal is resumable.
            JournalWriteError: the journal could not be written (disk full...).
        """
        self.client = client
        await self.journal.set_meta("stopped", "")
        drives = asyncio.gather(
            *(self._drive(row) for row in self._rows.values() if row.state not in FINAL)
        )
        stop = asyncio.ensure_future(self._stop_all.wait())
        watch = asyncio.ensure_future(self._watch_queries(client))
        try:
            waiters: set[asyncio.Future[Any]] = {drives, stop}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if not drives.done():
                # Nothing more can be created. Let the creates in flight come back
                # (they fail the same way, or made their task), then close: queued
                # jobs end cancelled (still 'queued'), running tasks detach (still
                # 'created') for the resume.
                await self._settle_creates(client)
                await client.aclose()
            await drives
        finally:
            stop.cancel()
            watch.cancel()
            drives.cancel()
            # On Ctrl-C the gather ends with the jobs' CancelledError: retrieve it so
            # asyncio does not print "exception was never retrieved" over the hint.
            drives.add_done_callback(_retrieve)
        self._note_capacity()
        await self.journal.set_meta("capacity", repr(self._capacity()))
        await self.journal.set_meta("finished_at", repr(time.time()))
        if self.stops:
            causes = list(self.stops.values())
            text = "; ".join(f"{type(c).__name__}: {c}" for c in causes)
            await self.journal.set_meta("stopped", text)
            pending = sum(state not in FINAL for state in self._state.values())
            raise BatchStoppedError(causes, pending)

    async def _watch_queries(self, client: KlingClient) -> None:
        """Stop the run when every query has failed for ``unreachable_timeout``
        (creates notice on their own; this covers a batch whose jobs all run)."""
        step = min(1.0, self.unreachable_timeout / 4)
        while True:
            await asyncio.sleep(step)
            tracker = client.stats().tracker
            if tracker.failing_for >= self.unreachable_timeout:
                error = TransportError(
                    f"queries to Kling at {client.base_url} have failed for "
                    f"{tracker.failing_for:.0f}s ({tracker.last_error})",
                    request_sent=False,
                )
                self.stops.setdefault("*", error)
                logger.error("%s; stopping the run (running tasks stay resumable)", error)
                self._stop_all.set()
                return

    @staticmethod
    async def _settle_creates(client: KlingClient, limit: float = 30.0) -> None:
        """Wait (at most ``limit`` seconds) until no create call is in flight."""
        deadline = time.monotonic() + limit
        # A bounded poll of a counter the client has no event for (stopping is rare).
        while client.stats().submitting and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def _note_capacity(self) -> None:
        if self.client is None or self.client.closed:
            return
        per_pack: dict[str, int] = {}
        for key, info in self.client.stats().packs.items():
            pack = key.split("/", 1)[0]
            per_pack[pack] = per_pack.get(pack, 0) + info.capacity
        for pack, capacity in per_pack.items():
            self.peak_capacity[pack] = max(self.peak_capacity.get(pack, 0), capacity)

    def _capacity(self) -> dict[str, int]:
        """The highest capacity in force per pack, over this run and earlier ones."""
        earlier = self.journal.capacity()
        return {
            pack: max(earlier.get(pack, 0), self.peak_capacity.get(pack, 0))
            for pack in set(earlier) | set(self.peak_capacity)
        }

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
        except BudgetExceededError as error:
            await self._over_budget(row, error)
            return
        except KlingError as error:
            if stops_all(error) or isinstance(error, AccountError):
                await self._stopped(row, error)
                return
            await self.journal.mark_ended(row.job_id, succeeded=False, task=None, reason=str(error))
            self._state[row.job_id] = "failed"
            return
        if task is None:
            return
        await self._download(row, task)

    async def _over_budget(self, row: Row, error: BudgetExceededError) -> None:
        """Creating ``row`` would have gone over the budget: it stays pending (a
        resume with a larger budget creates it); the other jobs go on."""
        await self.journal.mark_queued(row.job_id)
        self._state[row.job_id] = "queued"
        if "budget" not in self.stops:
            self.stops["budget"] = error
            logger.warning("budget reached: %s; such jobs stay pending", error)

    async def _stopped(self, row: Row, error: KlingError) -> None:
        """``row`` could not be created because of ``error``: it stays pending."""
        if not isinstance(error, CreateOutcomeUnknownError):  # definitely not created
            await self.journal.mark_queued(row.job_id)
            if self._state[row.job_id] == "creating":
                self._state[row.job_id] = "queued"
        where = "*" if stops_all(error) else (row.pack or "*")
        if where not in self.stops:
            self.stops[where] = error
            logger.error("creates stopped (%s): %s", where, error)
        if where == "*":
            self._stop_all.set()

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
                model_name=FAMILIES[row.family].slot_model(row.params),
            )
        elif row.state == "creating":
            try:
                handle = await self.client.attach(
                    row.family,
                    external_task_id=row.external_task_id,
                    cost=row.cost,
                    model_name=FAMILIES[row.family].slot_model(row.params),
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
        async def landed(record: FileRecord) -> None:
            await self.journal.note_file(row.job_id, record)

        known = {record.name: record for record in row.file_records if record.size >= 0}
        try:
            names = await self.downloads.fetch_task(row.job_id, task, known=known, on_file=landed)
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


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
