"""Bulk batch generation: job files, crash-safe journal, resume, downloads, report.

Library use::

    from kling_async.batch import run_batch, resume_batch, build_report, Journal

    await run_batch("jobs.jsonl", "out", capacity={"video": 5})     # KlingClient kwargs
    await resume_batch("out")                                       # after a crash

From the shell: ``kling-async batch run jobs.jsonl --out out [--simulate]``.
"""

from kling_async.batch._costs import BudgetRefusedError
from kling_async.batch._downloads import (
    Downloader,
    DownloadError,
    DownloadRefusedError,
    FileRecord,
    ResultsExpiredError,
)
from kling_async.batch._jobs import Job, JobFileError, load_jobs
from kling_async.batch._journal import Journal, external_id
from kling_async.batch._names import file_names
from kling_async.batch._report import BatchReport, ReportWriteError, build_report, write_report
from kling_async.batch._run import CostOptions, resume_batch, run_batch
from kling_async.batch._runner import BatchProgress, BatchRunner, BatchStoppedError
from kling_async.batch._schema import (
    BatchExistsError,
    FolderNotEmptyError,
    JournalCorruptError,
    JournalLockedError,
    JournalNotFoundError,
    JournalWriteError,
)

__all__ = [
    "BatchExistsError",
    "BatchProgress",
    "BatchReport",
    "BatchRunner",
    "BatchStoppedError",
    "BudgetRefusedError",
    "CostOptions",
    "DownloadError",
    "DownloadRefusedError",
    "Downloader",
    "FileRecord",
    "FolderNotEmptyError",
    "Job",
    "JobFileError",
    "Journal",
    "JournalCorruptError",
    "JournalLockedError",
    "JournalNotFoundError",
    "JournalWriteError",
    "ReportWriteError",
    "ResultsExpiredError",
    "build_report",
    "external_id",
    "file_names",
    "load_jobs",
    "resume_batch",
    "run_batch",
    "write_report",
]
