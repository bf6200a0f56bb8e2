"""The one writer of files under a batch's ``--out`` (and the simulator's state file).

Every file the package writes into a folder it does not own outright goes through
here, so a planted symlink anywhere is refused the same way:

* :func:`write_atomic` (``report.json``, ``report.html``): the bytes go into a new
  temporary file ``.<name>.<random>.part`` beside the target, opened with
  ``O_CREAT | O_EXCL | O_NOFOLLOW`` (never an existing file, never through a link),
  written, fsynced, and renamed over the target, which must not be a symlink. Any
  failure (a full disk, a refusal) removes the temporary file and leaves the target
  as it was: no stale ``.part``, no 0-byte or half-written file.
* :func:`open_new` (downloads stream through it, then :func:`move_into_place`).
* :func:`open_append` (the simulator's state file): appends, never through a link.
* :func:`refuse_link` (the journal database and its side files before SQLite opens
  them).

Data flow::

    write_atomic(target, data)
      refuse_link(target) -> open_new(.target.<rand>.part) -> write all -> fsync
      -> move_into_place(part, target)    (refuse_link again, os.replace)
      finally: remove the part (gone already when it was moved)
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import IO

from kling_async.errors import UnsafeFileError

__all__ = [
    "move_into_place",
    "open_append",
    "open_new",
    "part_path",
    "refuse_link",
    "remove_quietly",
    "write_atomic",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def refuse_link(path: Path) -> None:
    """Raise :class:`UnsafeFileError` when ``path`` is a symlink (absent is fine)."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISLNK(path.lstat().st_mode):
            raise UnsafeFileError(
                f"{path} is a symbolic link; refusing to write through it (remove it)"
            )


def part_path(target: Path) -> Path:
    """A fresh temporary name beside ``target``: ``.<name>.<random>.part``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")


def open_new(path: Path) -> int:
    """A new file opened for writing: never an existing one, never through a link."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
    except FileExistsError:
        raise UnsafeFileError(f"{path} exists already; refusing to write over it") from None


def open_append(path: Path) -> IO[str]:
    """``path`` opened to append text (created when absent), never through a link."""
    refuse_link(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link planted between the check and the open
            raise UnsafeFileError(
                f"{path} is a symbolic link; refusing to write through it"
            ) from None
        raise
    return os.fdopen(fd, "a", encoding="utf-8")


def move_into_place(part: Path, target: Path) -> None:
    """Rename the finished ``part`` over ``target`` (refused when ``target`` is a link)."""
    refuse_link(target)
    os.replace(part, target)


def remove_quietly(path: Path) -> None:
    """Remove ``path`` if it exists."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_atomic(target: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``target`` whole or not at all (see the module docstring); returns it.

    Raises:
        UnsafeFileError: ``target`` (or the temporary name) is a symlink.
        OSError: the disk is full, the folder is not writable... (the target is
            unchanged and no temporary file is left).
    """
    target = Path(target)
    refuse_link(target)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    part = part_path(target)
    fd = open_new(part)
    try:
        try:
            _write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        move_into_place(part, target)
    finally:
        remove_quietly(part)
    return target
