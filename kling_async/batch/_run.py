"""Batch entry points: validate and journal a job file, or open a journal, then run it.

``run_batch`` / ``resume_batch`` open the journal (refusing what is not one), build the
:class:`~kling_async.batch.Downloader` (which hosts downloads may reach) and the
:class:`~kling_async.batch.BatchRunner`, make the client with the runner's
``before_create`` hook, and run. See ``_runner`` for what a run does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Collection
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from kling_async._client import KlingClient
from kling_async.batch._downloads import Downloader, is_ip_literal, is_public_host
from kling_async.batch._jobs import load_jobs
from kling_async.batch._journal import Journal
from kling_async.batch._runner import BatchRunner

__all__ = ["download_hosts", "resume_batch", "run_batch"]

logger = logging.getLogger("kling_async.batch")


def download_hosts(client_kwargs: dict[str, Any], extra: Collection[str] = ()) -> set[str]:
    """Hosts downloads may reach although they are loopback or private: the API
    host when it is itself local (a simulator, a test server), and ``extra``."""
    hosts = {h.lower() for h in extra}
    base = client_kwargs.get("base_url") or os.environ.get("KLING_BASE_URL") or ""
    host = (urlparse(base).hostname or "").lower()
    if host and (host == "localhost" or (is_ip_literal(host) and not is_public_host(host))):
        hosts.add(host)
    return hosts


async def _execute(
    journal: Journal,
    client_kwargs: dict[str, Any],
    *,
    download_concurrency: int,
    on_start: Callable[[BatchRunner], None] | None,
    allow_download_hosts: Collection[str] = (),
) -> None:
    downloads = Downloader(
        journal.folder / "files",
        concurrency=download_concurrency,
        allow_hosts=download_hosts(client_kwargs, allow_download_hosts),
    )
    await downloads.clean_partials()
    backoff = client_kwargs.get("backoff")
    runner = BatchRunner(
        journal,
        downloads,
        unreachable_timeout=getattr(backoff, "unreachable_timeout", 60.0),
    )
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
    force: bool = False,
    allow_download_hosts: Collection[str] = (),
    **client_kwargs: Any,
) -> Path:
    """Validate ``jobs_file``, journal it in ``out`` and run it to the end.

    ``client_kwargs`` configure the :class:`~kling_async.KlingClient`. ``force``
    uses an ``out`` that holds other files; ``allow_download_hosts`` lets result
    downloads reach those loopback/private hosts (the API host is allowed when it
    is itself local). Returns ``out``.

    Raises:
        JobFileError: bad rows (nothing is journaled or sent).
        JournalLockedError / FileExistsError: ``out`` is in use or holds a batch
            (:class:`FolderNotEmptyError`: files but no journal).
        JournalCorruptError: ``out`` holds a file that is not a valid journal.
        BatchStoppedError: creates stopped; resume once the cause is fixed.
        JournalWriteError: the journal could not be written (disk full...).
    """
    jobs = await asyncio.to_thread(load_jobs, jobs_file, family=family)
    journal = await asyncio.to_thread(partial(Journal.open, out, create=True, allow_nonempty=force))
    try:
        await asyncio.to_thread(journal.start_batch, jobs, source=str(jobs_file))
        await _execute(
            journal,
            client_kwargs,
            download_concurrency=download_concurrency,
            on_start=on_start,
            allow_download_hosts=allow_download_hosts,
        )
    finally:
        await asyncio.to_thread(journal.close)
    return Path(out)


async def resume_batch(
    out: str | Path,
    *,
    download_concurrency: int = 4,
    on_start: Callable[[BatchRunner], None] | None = None,
    retry_failed: bool = False,
    allow_download_hosts: Collection[str] = (),
    **client_kwargs: Any,
) -> Path:
    """Continue the batch journaled in ``out``: nothing is created twice.

    ``retry_failed`` first queues every failed job again with a new attempt id
    (a failed task's ``external_task_id`` is never reused).

    Raises:
        FileNotFoundError: ``out`` holds no journal.
        JournalLockedError: another run is using it.
        JournalCorruptError: the journal is not valid.
        BatchStoppedError: creates stopped again; resume once the cause is fixed.
    """
    journal = await asyncio.to_thread(Journal.open, out, create=False)
    try:
        if retry_failed:
            again = await asyncio.to_thread(journal.requeue_failed)
            logger.info("%d failed job(s) queued again with new ids", len(again))
        await _execute(
            journal,
            client_kwargs,
            download_concurrency=download_concurrency,
            on_start=on_start,
            allow_download_hosts=allow_download_hosts,
        )
    finally:
        await asyncio.to_thread(journal.close)
    return Path(out)
