"""Result downloads: streamed to a temporary file, size-checked, renamed into place.

A file appears in the output folder only complete: bytes go to ``.<name>.part``
first, the length is checked against ``Content-Length``, then ``os.replace`` moves
it into place (atomic on one filesystem). Failures are retried with backoff; an
interrupted download leaves no partial file under its final name. Downloads have
their own concurrency limit (an anyio ``CapacityLimiter``), separate from Kling's
slots. Kling clears results 30 days after generation: older tasks are reported as
expired rather than fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import aiohttp
import anyio

from kling_async._retry import backoff_delay
from kling_async.models import Task

__all__ = ["DownloadError", "Downloader", "ResultsExpiredError", "file_names"]

RETENTION_SECONDS = 30 * 86_400
CHUNK = 256 * 1024


class DownloadError(Exception):
    """A result file could not be downloaded (after retries)."""


class ResultsExpiredError(DownloadError):
    """The task's results are past Kling's 30-day retention."""


def file_names(job_id: str, urls: list[str]) -> list[str]:
    """Output names for a job's result URLs: ``<job_id>.<ext>``, or ``<job_id>-<n>.<ext>``."""
    names = []
    for index, url in enumerate(urls):
        suffix = Path(urlparse(url).path).suffix[:8] or ".bin"
        names.append(f"{job_id}{suffix}" if len(urls) == 1 else f"{job_id}-{index}{suffix}")
    return names


class Downloader:
    """Fetches result files into ``folder``.

    Args:
        folder: where files go.
        concurrency: downloads at once.
        attempts: tries per file.
        timeout: seconds without progress before a try is abandoned.
    """

    def __init__(
        self,
        folder: Path,
        *,
        concurrency: int = 4,
        attempts: int = 4,
        timeout: float = 60.0,
        initial_delay: float = 0.5,
    ) -> None:
        self.folder = folder
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.attempts = attempts
        self.timeout = timeout
        self.initial_delay = initial_delay
        self._session: aiohttp.ClientSession | None = None
        self.bytes = 0
        self.files = 0

    async def clean_partials(self) -> int:
        """Remove ``.*.part`` files a killed process left behind; returns how many."""
        folder = anyio.Path(self.folder)
        if not await folder.exists():
            return 0
        removed = 0
        async for path in folder.glob(".*.part"):
            await path.unlink(missing_ok=True)
            removed += 1
        return removed

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=self.timeout)
            )
        return self._session

    async def fetch_task(self, job_id: str, task: Task) -> list[str]:
        """Download every result of ``task``; returns the file names written.

        Raises:
            ResultsExpiredError: the task is older than the retention period.
            DownloadError: a file failed on every attempt.
        """
        if task.created_at is not None and time.time() - task.created_at / 1000 > RETENTION_SECONDS:
            raise ResultsExpiredError(
                f"task {task.task_id} was generated more than 30 days ago; Kling no longer "
                "keeps its results"
            )
        urls = task.result_urls()
        names = file_names(job_id, urls)
        await anyio.Path(self.folder).mkdir(parents=True, exist_ok=True)
        for url, name in zip(urls, names, strict=True):
            if not await anyio.Path(self.folder / name).exists():
                await self._fetch(url, name)
        return names

    async def _fetch(self, url: str, name: str) -> None:
        last: BaseException | None = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(backoff_delay(attempt, initial=self.initial_delay, cap=10.0))
            try:
                async with self.limiter:
                    await self._fetch_once(url, name)
                return
            except (aiohttp.ClientError, TimeoutError, OSError, DownloadError) as error:
                last = error
        raise DownloadError(f"{name}: {type(last).__name__}: {last}")

    async def _fetch_once(self, url: str, name: str) -> None:
        target = self.folder / name
        part = self.folder / f".{name}.part"
        try:
            async with self._get_session().get(url) as response:
                if response.status in (403, 404, 410):
                    raise DownloadError(f"HTTP {response.status} (the link may have expired)")
                response.raise_for_status()
                expected = response.content_length
                size = 0
                async with await anyio.open_file(part, "wb") as out:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        await out.write(chunk)
                        size += len(chunk)
                    await out.flush()
                    await anyio.to_thread.run_sync(os.fsync, out.wrapped.fileno())
                if expected is not None and size != expected:
                    raise DownloadError(f"got {size} of {expected} bytes")
                if size == 0:
                    raise DownloadError("empty file")
            await anyio.to_thread.run_sync(os.replace, part, target)
            self.bytes += size
            self.files += 1
        finally:
            await anyio.to_thread.run_sync(_remove, part)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
