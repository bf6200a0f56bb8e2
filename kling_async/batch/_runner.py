"""The batch runner: drives every journaled job to a final state, crash-safely.

A fresh run journals every job as ``queued``, then does exactly what a resume
does: for each row, by state (:class:`~kling_async.batch._states.JobState`), submit,
re-attach, or download. The runner makes its client itself, giving the scheduler
its hooks (:class:`~kling_async.SchedulerEvents`): ``before_create`` journals
``creating`` before each create leaves, so a kill at any moment leaves only states
that resume can settle without creating a task twice (a ``creating`` job is looked
up by its external id first); ``created`` journals the task id at once. When the
client closes early, jobs whose tasks run at Kling stay ``created`` (their handles
end detached) and a resume re-attaches them.

The run is driven by events, not by watching statistics: the scheduler says when a
pack stopped (``pack_stopped``) or Kling could not be reached for
``unreachable_timeout`` (``unreachable``); the runner then lets the creates in flight
come back, closes the client, and ends with :class:`BatchStoppedError`. What an error
that ended a job means (that job only, its pack, every create) is the scheduler's stop
rule (``scheduling._stops.scope_of``): such jobs stay pending and ``batch resume``
finishes them once the cause is fixed.

A job whose create would take the batch over its budget stays ``queued`` (the
others run on); the run then ends with :class:`BatchStoppedError` naming the budget,
and a resume with a larger budget creates those jobs.

Every job runs in the runner's task group (anyio): nothing is fired and forgotten,
and a failure of the runner itself ends the run visibly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

from kling_async._client import KlingClient
from kling_async._handle import TaskHandle
from kling_async.batch._downloads import (
    Downloader,
    DownloadError,
    FileRecord,
    ResultsExpiredError,
)
from kling_async.batch._journal import Journal, Row
from kling_async.batch._states import JobState, check_move
from kling_async.endpoints import FAMILIES, REQUEST_MODELS, SlotKey
from kling_async.errors import (
    BudgetExceededError,
    CreateOutcomeUnknownError,
    KlingError,
    TaskCancelledError,
    TaskDetachedError,
    TaskFailedError,
    TaskNotFoundError,
)
from kling_async.models import Task
from kling_async.scheduling._creator import PendingCreate
from kling_async.scheduling._events import SchedulerEvents
from kling_async.scheduling._stops import StopScope, scope_of

__all__ = ["BatchProgress", "BatchRunner", "BatchStoppedError", "ClientFactory"]

logger = logging.getLogger("kling_async.batch")

ClientFactory = Callable[[SchedulerEvents], KlingClient]
"""Makes the run's client with the runner's hooks (``events=``)."""

SETTLE_CREATES = 30.0
"""Seconds a stopping run waits for the creates in flight to come back."""

_S = JobState


class BatchStoppedError(KlingError):
    """The batch stopped before every job could run: Kling was unreachable, the
    credentials were refused, or an account error (balance, permissions) stopped a
    pack. The jobs concerned are still pending in the journal; fix the cause and
    ``kling-async batch resume <out>`` finishes them (nothing is created twice).

    Attributes:
        causes: the errors that stopped it (one per pack, or one for all).
        pending: how many jobs remain pending.
        report_error: set when ``report.json`` / ``report.html`` could not be
            written either (a :class:`~kling_async.batch.ReportWriteError`).
    """

    def __init__(self, causes: list[KlingError], pending: int) -> None:
        self.causes = causes
        self.pending = pending
        self.report_error: KlingError | None = None
        shown = "; ".join(f"{type(c).__name__}: {c}" for c in causes)
        super().__init__(f"the batch stopped with {pending} job(s) pending: {shown}")


@dataclass
class BatchProgress:
    """A snapshot for progress displays."""

    elapsed: float
    per_pack: dict[str, dict[str, int]] = field(default_factory=dict)
    slots: dict[str, tuple[int, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)


class BatchRunner:
    """Runs the jobs of one journal with the client it makes.

    Args:
        journal: the opened journal.
        downloads: where and how results are fetched.
        make_client: builds the run's client from the runner's hooks
            (``lambda events: KlingClient(..., events=events)``).
    """

    def __init__(self, journal: Journal, downloads: Downloader, make_client: ClientFactory) -> None:
        self.journal = journal
        self.downloads = downloads
        self.started = time.monotonic()
        self._rows = {row.job_id: row for row in journal.rows()}
        self._state = {row.job_id: row.state for row in self._rows.values()}
        self._by_ext = {row.external_task_id: row.job_id for row in self._rows.values()}
        self._created_writes: dict[str, anyio.Event] = {}
        self._tg: TaskGroup | None = None
        self.stops: dict[str, KlingError] = {}
        """Why creates stopped (``"*"``: all, ``"budget"``, else a pack name) this run."""
        self._stop_all = anyio.Event()
        self.peak_capacity: dict[str, int] = {}
        """Per pack, the highest capacity in force during this run (utilization)."""
        self.client = make_client(
            SchedulerEvents(
                before_create=self._before_create,
                created=self._on_created,
                pack_stopped=self._on_pack_stopped,
                unreachable=self._on_unreachable,
                reachable=self._on_reachable,
            )
        )
        """The client of the run (entered by the caller, closed by :meth:`run`'s end)."""

    # -- what the scheduler tells us ----------------------------------------------------

    async def _before_create(self, pending: PendingCreate) -> None:
        """Journal ``creating`` for the job before its create call leaves."""
        self._note_capacity()  # the capacity in force as this create takes its slots
        job_id = self._by_ext.get(pending.external_task_id)
        if job_id is not None:
            await self.journal.mark_creating(job_id)
            self._move(job_id, _S.CREATING)

    def _on_created(self, external_task_id: str, task: Task) -> None:
        """Kling made a job's task: journal its id now (a resume re-attaches it)."""
        job_id = self._by_ext.get(external_task_id)
        if job_id is None or self._state[job_id] not in (_S.QUEUED, _S.CREATING):
            return
        self._move(job_id, _S.CREATED)
        done = self._created_writes[job_id] = anyio.Event()
        assert self._tg is not None
        self._tg.start_soon(self._write_created, job_id, task.task_id, done)

    async def _write_created(self, job_id: str, task_id: str, done: anyio.Event) -> None:
        try:
            await self.journal.mark_created(job_id, task_id)
        finally:
            done.set()

    def _on_pack_stopped(self, pack: str, error: KlingError) -> None:
        if pack not in self.stops:
            self.stops[pack] = error
        if pack == "*":
            self._stop_all.set()

    def _on_unreachable(self, error: KlingError) -> None:
        self.stops.setdefault("*", error)
        logger.error(
            "Kling is unreachable (%s); stopping the run (running tasks stay resumable)", error
        )
        self._stop_all.set()

    def _on_reachable(self) -> None:
        logger.info("Kling answers again")

    # -- the run ----------------------------------------------------------------------------

    def progress(self) -> BatchProgress:
        """Counts per pack and state, slots in use, elapsed seconds."""
        snapshot = BatchProgress(elapsed=time.monotonic() - self.started)
        if not self.client.closed:
            for pack, info in self.client.stats().packs.items():
                snapshot.slots[pack] = (info.in_use, info.capacity)
        for job_id, state in self._state.items():
            pack = self._rows[job_id].pack or "none"
            per = snapshot.per_pack.setdefault(pack, {})
            per[state.label] = per.get(state.label, 0) + 1
            snapshot.totals[state.label] = snapshot.totals.get(state.label, 0) + 1
        return snapshot

    async def run(self) -> None:
        """Drive every job to a final state (or as far as Kling allows) with the
        runner's client (entered by the caller: ``async with runner.client``).

        Raises:
            BatchStoppedError: creates stopped (see the module docstring); the
                journal is resumable.
            JournalWriteError: the journal could not be written (disk full...).
        """
        await self.journal.set_meta("stopped", "")
        pending = [row for row in self._rows.values() if not row.state.is_final]
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._stop_when_told)
                async with anyio.create_task_group() as jobs:
                    for row in pending:
                        jobs.start_soon(self._drive, row)
                tg.cancel_scope.cancel()  # every job is settled: nothing left to stop
        except BaseExceptionGroup as group:  # a job's drive failed (a journal write...)
            failure = _first(group)
            raise failure from None
        finally:
            self._tg = None
        self._note_capacity()
        await self.journal.set_meta("capacity", repr(self._capacity()))
        await self.journal.set_meta("finished_at", repr(time.time()))
        if self.stops:
            causes = list(self.stops.values())
            text = "; ".join(f"{type(c).__name__}: {c}" for c in causes)
            await self.journal.set_meta("stopped", text)
            left = sum(state.is_pending for state in self._state.values())
            raise BatchStoppedError(causes, left)

    async def _stop_when_told(self) -> None:
        """Nothing more can be created: let the creates in flight come back (they fail
        the same way, or made their task), then close the client: queued jobs end
        cancelled (still ``queued``), running tasks detach (still ``created``) for
        the resume, and every job's drive returns."""
        await self._stop_all.wait()
        await self.client.aclose(settle_creates=SETTLE_CREATES)

    def _move(self, job_id: str, new: JobState) -> None:
        self._state[job_id] = check_move(job_id, self._state[job_id], new)

    def _note_capacity(self) -> None:
        if self.client.closed:
            return
        per_pack: dict[str, int] = {}
        for key, info in self.client.stats().packs.items():
            pack = SlotKey.parse(key).pack.value
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

    # -- one job ------------------------------------------------------------------------------

    async def _drive(self, row: Row) -> None:
        try:
            task = await self._settle(row)
        except (TaskCancelledError, TaskDetachedError):
            return  # the run is stopping; the journal already says where this job is
        except TaskFailedError as failed:
            reason = failed.task_status_msg or "failed"
            await self._end(row, succeeded=False, task=failed.task, reason=reason)
            return
        except BudgetExceededError as error:
            await self._over_budget(row, error)
            return
        except KlingError as error:
            scope = scope_of(error)
            if scope is not StopScope.NONE:
                await self._stopped(row, error, scope)
                return
            await self._end(row, succeeded=False, task=None, reason=str(error))
            return
        if task is None:
            return
        await self._download(row, task)

    async def _end(
        self, row: Row, *, succeeded: bool, task: Task | None, reason: str | None
    ) -> None:
        """The job's task ended (or its create was refused for good): journal it, after
        its ``created`` (if one is being written)."""
        written = self._created_writes.pop(row.job_id, None)
        if written is not None:
            await written.wait()
        new = _S.SUCCEEDED if succeeded else _S.FAILED
        check_move(row.job_id, self._state[row.job_id], new)
        await self.journal.mark_ended(
            row.job_id,
            succeeded=succeeded,
            task=None if task is None else task.model_dump(mode="json"),
            reason=reason,
        )
        self._move(row.job_id, new)

    async def _over_budget(self, row: Row, error: BudgetExceededError) -> None:
        """Creating ``row`` would have gone over the budget: it stays pending (a
        resume with a larger budget creates it); the other jobs go on."""
        await self.journal.mark_queued(row.job_id)
        self._move(row.job_id, _S.QUEUED)
        if "budget" not in self.stops:
            self.stops["budget"] = error
            logger.warning("budget reached: %s; such jobs stay pending", error)

    async def _stopped(self, row: Row, error: KlingError, scope: StopScope) -> None:
        """``row`` could not be created because of ``error`` (which stops ``scope``): it
        stays pending."""
        if not isinstance(error, CreateOutcomeUnknownError):  # definitely not created
            await self.journal.mark_queued(row.job_id)
            if self._state[row.job_id] is _S.CREATING:
                self._move(row.job_id, _S.QUEUED)
        where = "*" if scope is StopScope.ALL else (row.pack or "*")
        if where not in self.stops:
            self.stops[where] = error
            logger.error("creates stopped (%s): %s", where, error)
        if where == "*":
            self._stop_all.set()

    async def _settle(self, row: Row) -> Task | None:
        """Bring a row to a finished task (submitting or re-attaching as needed)."""
        if row.state is _S.SUCCEEDED:
            return Task.model_validate(row.task or {"task_id": row.task_id or "?"})
        fam = FAMILIES[row.family]
        handle: TaskHandle | None = None
        if row.state is _S.CREATED and row.task_id:
            # Both ids: a task id that now names another job's task is never adopted.
            handle = await self.client.attach(
                row.family,
                task_id=row.task_id,
                external_task_id=row.external_task_id,
                cost=row.cost,
                model_name=fam.slot_model(row.params),
            )
        elif row.state is _S.CREATING:
            try:
                handle = await self.client.attach(
                    row.family,
                    external_task_id=row.external_task_id,
                    cost=row.cost,
                    model_name=fam.slot_model(row.params),
                )
            except TaskNotFoundError:
                handle = None  # never created: submit again with the same id
            if handle is not None and handle.task_id:  # it was created: journal it
                await self.journal.mark_created(row.job_id, handle.task_id)
                self._move(row.job_id, _S.CREATED)
        if handle is None:
            request = REQUEST_MODELS[row.family].model_validate(row.params)
            handle = self.client.submit(
                request, external_task_id=row.external_task_id, priority=row.priority
            )
        task = await handle
        await self._end(row, succeeded=True, task=task, reason=None)
        return task

    async def _download(self, row: Row, task: Task) -> None:
        async def landed(record: FileRecord) -> None:
            await self.journal.note_file(row.job_id, record)

        known = {record.name: record for record in row.file_records if record.size >= 0}
        try:
            names = await self.downloads.fetch_task(row.job_id, task, known=known, on_file=landed)
        except ResultsExpiredError as expired:
            await self.journal.mark_expired(row.job_id, str(expired))
            self._move(row.job_id, _S.EXPIRED)
            return
        except DownloadError as error:
            await self.journal.note_download_error(row.job_id, str(error))
            logger.warning("download of %s failed: %s", row.job_id, error)
            return
        await self.journal.mark_downloaded(row.job_id, names)
        self._move(row.job_id, _S.DOWNLOADED)


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real failure in a task group's exception group (its own traceback
    kept): what ended the run, rather than the group that carried it."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
