"""Output file names that cannot collide or overflow.

A job's file is named ``<readable>_<hash><index><ext>``:

* ``hash`` is 12 lowercase hex digits of SHA-256 of the exact job id, so two
  different ids get different names even where the filesystem folds case or
  normalises Unicode (the hash part holds neither letters of both cases nor
  anything to normalise);
* ``index`` is ``-0``, ``-1``... when a task has several outputs, else empty;
* ``ext`` comes from the result URL (lowercase letters and digits, at most 8), else
  ``.bin``;
* ``readable`` is the job id in NFC with spaces, control and format characters and
  ``<>:"/\\|?*`` (refused by some filesystems) replaced by ``_``, no leading dot,
  cut to at most ``READABLE_BYTES`` UTF-8 bytes (emoji and other scripts are kept).

Reading a name from its end gives back ``(hash, index)`` unambiguously (the hash
never contains ``-``, the index is the digits after the last ``-``), so two names
are equal only when job and index are: ids ``a`` (2 outputs) and ``a-0`` give
``a_<h1>-0.png``, ``a_<h1>-1.png`` and ``a-0_<h2>.png``. Every name fits in 255
bytes whatever the id (a 128-emoji id included).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import urlparse

__all__ = ["MAX_NAME_BYTES", "file_name", "file_names"]

MAX_NAME_BYTES = 255
READABLE_BYTES = 120
HASH_DIGITS = 12
_EXT = re.compile(r"^\.[a-z0-9]{1,8}$")


_UNSAFE = frozenset('<>:"/\\|?*')
_ZWJ = "\u200d"


def _unsafe(char: str) -> bool:
    if char in _UNSAFE:
        return True
    category = unicodedata.category(char)
    return category[0] == "Z" or (category[0] == "C" and char != _ZWJ)


def _readable(job_id: str) -> str:
    text = unicodedata.normalize("NFC", job_id)
    kept = "".join("_" if _unsafe(c) else c for c in text).lstrip(".")
    out = ""
    used = 0
    for char in kept:
        size = len(char.encode("utf-8"))
        if used + size > READABLE_BYTES:
            break
        out += char
        used += size
    return out or "job"


def _extension(url: str) -> str:
    suffix = PurePosixPath(urlparse(url).path).suffix.lower()
    return suffix if _EXT.match(suffix) else ".bin"


def file_name(job_id: str, url: str, index: int | None) -> str:
    """The name of output ``index`` (None when the task has one output) of ``job_id``."""
    digest = hashlib.sha256(job_id.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_DIGITS]
    part = "" if index is None else f"-{index}"
    name = f"{_readable(job_id)}_{digest}{part}{_extension(url)}"
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    return name


def file_names(job_id: str, urls: list[str]) -> list[str]:
    """Output names for a job's result URLs (see the module docstring)."""
    if len(urls) == 1:
        return [file_name(job_id, urls[0], None)]
    return [file_name(job_id, url, index) for index, url in enumerate(urls)]
