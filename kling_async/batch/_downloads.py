"""Result downloads that stay inside the output folder and end in bounded time.

Data flow of one file::

    name = file_name(job_id, url, index)                  (see _names)
    files/<name> exists and matches the journal's size + sha256 -> kept
    else, at most ``attempts`` tries, each within ``deadline`` seconds:
      URL check: http(s) only; a literal address must be public unless its host
      is in ``allow_hosts``; host names resolve through a resolver that drops
      loopback, private, link-local and reserved addresses (same exception)
      GET, Accept-Encoding: identity, redirects followed by hand (at most
      ``max_redirects``, each target checked the same way)
      status, Content-Type (must match the result's kind: video/image/audio, or
      be generic), declared size <= ``max_bytes``
      stream into ``.<name>.<random>.part`` opened O_CREAT|O_EXCL|O_NOFOLLOW,
      counting bytes (<= max_bytes) and hashing; length checked against
      Content-Length unless the server encoded the body anyway
      fsync, refuse a destination that is a symlink, os.replace into place
    -> FileRecord(name, size, sha256)   (the runner journals it)

A file appears under its final name only complete; a killed process leaves at
most ``.part`` files, removed at the next start. Refusals (a symlink, an address
not allowed, a wrong content type, over the size cap) are not retried. Kling
clears results 30 days after generation: older tasks are reported as expired
rather than fetched.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import socket
import stat
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import aiohttp
import anyio
from aiohttp.abc import AbstractResolver, ResolveResult

from kling_async._files import move_into_place, open_new, part_path, remove_quietly
from kling_async.batch._names import file_names
from kling_async.errors import KlingError, UnsafeFileError
from kling_async.models import Task
from kling_async.wire._retry import backoff_delay

__all__ = [
    "DownloadError",
    "DownloadRefusedError",
    "Downloader",
    "FileRecord",
    "ResultsExpiredError",
    "file_names",
    "is_ip_literal",
    "is_public_host",
]

RETENTION_SECONDS = 30 * 86_400
CHUNK = 256 * 1024
DEFAULT_MAX_BYTES = 4 * 1024**3
DEFAULT_DEADLINE = 1800.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


class DownloadError(KlingError):
    """A result file could not be downloaded (after retries)."""


class DownloadRefusedError(DownloadError):
    """A download was refused for safety (not retried): a symlink in the way, an
    address that is not allowed, a content type of the wrong kind, a file over the
    size cap, too many redirects."""


class ResultsExpiredError(DownloadError):
    """The task's results are past Kling's 30-day retention."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One downloaded file as journaled: its name in ``files/``, size and SHA-256."""

    name: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the journal's ``files`` column)."""
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


def is_ip_literal(host: str) -> bool:
    """True when ``host`` is an IPv4/IPv6 address rather than a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_public_host(host: str) -> bool:
    """True when ``host`` is an IP address that is globally routable (not loopback,
    private, link-local, reserved, multicast or unspecified). Names are False."""
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class _PrivateAddressError(KlingError, OSError):
    """A host name resolved only to addresses downloads may not reach."""


class _GuardedResolver(AbstractResolver):
    """Resolves names, keeping only public addresses (unless the host is allowed):
    a result URL (or a redirect) cannot reach the metadata service or the LAN."""

    def __init__(self, allow_hosts: frozenset[str]) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allow = allow_hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if host.lower() in self._allow:
            return found
        public = [item for item in found if is_public_host(item["host"])]
        if not public:
            raise _PrivateAddressError(f"{host} resolves only to non-public addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


class Downloader:
    """Fetches result files into ``folder`` (see the module docstring).

    Args:
        folder: where files go (must not be a symlink).
        concurrency: downloads at once.
        attempts: tries per file.
        timeout: seconds without progress before a try is abandoned.
        initial_delay: first pause between tries.
        max_bytes: per-file size cap.
        deadline: seconds one try of one file may take in all.
        allow_hosts: host names or addresses that may be loopback or private (the
            simulator's, a test server's); every other host must be public.
        max_redirects: redirects followed per try.
    """

    def __init__(
        self,
        folder: Path,
        *,
        concurrency: int = 4,
        attempts: int = 4,
        timeout: float = 60.0,
        initial_delay: float = 0.5,
        max_bytes: int = DEFAULT_MAX_BYTES,
        deadline: float = DEFAULT_DEADLINE,
        allow_hosts: Collection[str] = (),
        max_redirects: int = 3,
    ) -> None:
        self.folder = folder
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.attempts = attempts
        self.timeout = timeout
        self.initial_delay = initial_delay
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.allow_hosts = frozenset(h.lower().strip("[]") for h in allow_hosts)
        self.max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None
        self.bytes = 0
        self.files = 0

    async def clean_partials(self) -> int:
        """Remove ``.*.part`` entries a killed process left behind (symlinks
        included: the link is removed, never its target); returns how many."""
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
            connector = aiohttp.TCPConnector(resolver=_GuardedResolver(self.allow_hosts))
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=self.timeout),
            )
        return self._session

    async def fetch_task(
        self,
        job_id: str,
        task: Task,
        *,
        known: Mapping[str, FileRecord] | None = None,
        on_file: Callable[[FileRecord], Awaitable[None]] | None = None,
    ) -> list[FileRecord]:
        """Download every result of ``task``; returns the files written (or kept).

        ``known``: files journaled earlier for this job; an existing file is kept
        only when its size and SHA-256 match its record (anything else in the way,
        e.g. from an earlier batch, is replaced). ``on_file`` is awaited after each
        file lands (the runner journals it).

        Raises:
            ResultsExpiredError: the task is older than the retention period.
            DownloadRefusedError: refused for safety (see the class).
            DownloadError: a file failed on every attempt.
        """
        if task.created_at is not None and time.time() - task.created_at / 1000 > RETENTION_SECONDS:
            raise ResultsExpiredError(
                f"task {task.task_id} was generated more than 30 days ago; Kling no longer "
                "keeps its results"
            )
        files = task.result_files()
        urls = [url for url, _kind in files]
        kinds = [kind for _url, kind in files]
        names = file_names(job_id, urls)
        await anyio.to_thread.run_sync(self._prepare_folder)
        records: list[FileRecord] = []
        for url, kind, name in zip(urls, kinds, names, strict=True):
            record = await anyio.to_thread.run_sync(self._existing, name, (known or {}).get(name))
            if record is None:
                record = await self._fetch(url, name, kind)
                if on_file is not None:
                    await on_file(record)
            records.append(record)
        return records

    def _prepare_folder(self) -> None:
        if self.folder.is_symlink():
            raise DownloadRefusedError(f"{self.folder} is a symlink; refusing to write through it")
        self.folder.mkdir(parents=True, exist_ok=True)

    def _existing(self, name: str, known: FileRecord | None) -> FileRecord | None:
        """``name`` when it is on disk exactly as journaled, else None."""
        path = self.folder / name
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            raise DownloadRefusedError(f"{name}: the destination is a symlink; refusing it")
        if known is None or not stat.S_ISREG(info.st_mode) or info.st_size != known.size:
            return None
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
        return known if digest.hexdigest() == known.sha256 else None

    async def _fetch(self, url: str, name: str, kind: str) -> FileRecord:
        last: BaseException | None = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(backoff_delay(attempt, initial=self.initial_delay, cap=10.0))
            try:
                async with self.limiter:
                    async with asyncio.timeout(self.deadline):
                        return await self._fetch_once(url, name, kind)
            except DownloadRefusedError:
                raise
            except TimeoutError:
                last = TimeoutError(f"not done within the {self.deadline:g} s deadline")
            except aiohttp.ClientConnectorError as error:
                if isinstance(error.os_error, _PrivateAddressError):
                    raise DownloadRefusedError(f"{name}: {error.os_error}") from None
                last = error
            except (aiohttp.ClientError, OSError, DownloadError) as error:
                last = error
        raise DownloadError(f"{name}: {type(last).__name__}: {last}")

    def _check_url(self, url: str, name: str) -> None:
        parts = urlparse(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise DownloadRefusedError(f"{name}: refusing to fetch a non-http(s) URL")
        if host in self.allow_hosts or not is_ip_literal(host):
            return  # allowed, or a name: the resolver keeps only public addresses
        if not is_public_host(host):
            raise DownloadRefusedError(
                f"{name}: refusing {host}: loopback, private and link-local addresses are "
                "not downloaded from (allow the host explicitly for a local simulator)"
            )

    async def _open(self, url: str, name: str) -> aiohttp.ClientResponse:
        """GET ``url``, following at most ``max_redirects`` checked redirects."""
        session = self._get_session()
        for _hop in range(self.max_redirects + 1):
            self._check_url(url, name)
            response = await session.get(
                url, allow_redirects=False, headers={"Accept-Encoding": "identity"}
            )
            if response.status not in _REDIRECTS:
                return response
            location = response.headers.get("Location")
            response.release()
            if not location:
                raise DownloadError(f"HTTP {response.status} without a Location")
            url = urljoin(url, location)
        raise DownloadRefusedError(f"{name}: more than {self.max_redirects} redirects")

    async def _fetch_once(self, url: str, name: str, kind: str) -> FileRecord:
        response = await self._open(url, name)
        async with response:
            if response.status in (403, 404, 410):
                raise DownloadError(f"HTTP {response.status} (the link may have expired)")
            response.raise_for_status()
            sent_type = "Content-Type" in response.headers
            content_type = response.content_type.lower() if sent_type else ""
            if (
                kind
                and content_type not in _GENERIC_TYPES
                and not content_type.startswith(f"{kind}/")
            ):
                raise DownloadRefusedError(
                    f"{name}: the server sent {content_type}, not a {kind} file"
                )
            declared = response.content_length
            if declared is not None and declared > self.max_bytes:
                raise DownloadRefusedError(
                    f"{name}: {declared} bytes is over the {self.max_bytes}-byte cap"
                )
            encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
            return await self._store(response, name, None if encoded else declared)

    async def _store(
        self, response: aiohttp.ClientResponse, name: str, expected: int | None
    ) -> FileRecord:
        part = part_path(self.folder / name)
        fd = await anyio.to_thread.run_sync(_open_new, part)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as raw:
                out = anyio.wrap_file(raw)
                async for chunk in response.content.iter_chunked(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise DownloadRefusedError(
                            f"{name}: more than the {self.max_bytes}-byte cap"
                        )
                    digest.update(chunk)
                    await out.write(chunk)
                await out.flush()
                await anyio.to_thread.run_sync(os.fsync, raw.fileno())
            if expected is not None and size != expected:
                raise DownloadError(f"got {size} of {expected} bytes")
            if size == 0:
                raise DownloadError("empty file")
            await anyio.to_thread.run_sync(_move, part, self.folder / name)
        finally:
            await anyio.to_thread.run_sync(remove_quietly, part)
        self.bytes += size
        self.files += 1
        return FileRecord(name, size, digest.hexdigest())


def _open_new(path: Path) -> int:
    try:
        return open_new(path)
    except UnsafeFileError as exc:
        raise DownloadRefusedError(str(exc)) from None


def _move(part: Path, target: Path) -> None:
    try:
        move_into_place(part, target)
    except UnsafeFileError:
        raise DownloadRefusedError(
            f"{target.name}: the destination is a symlink; refusing it"
        ) from None
