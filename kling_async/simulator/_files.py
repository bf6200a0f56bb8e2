"""The simulator's result files: small, deterministic downloads of the right type."""

from __future__ import annotations

import hashlib

__all__ = ["result_file"]

_FILE_KINDS = {
    "mp4": ("video/mp4", b"\x00\x00\x00\x18ftypmp42"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "mp3": ("audio/mpeg", b"ID3\x03\x00"),
    "wav": ("audio/wav", b"RIFF\x00\x00\x00\x00WAVE"),
}


def result_file(task_id: str, name: str) -> tuple[str, bytes]:
    """Content type and bytes of result ``name`` of ``task_id`` (a few KiB, the same
    bytes every time, starting with the format's magic number)."""
    ext = name.rsplit(".", 1)[-1]
    content_type, magic = _FILE_KINDS.get(ext, ("application/octet-stream", b""))
    seed = hashlib.sha256(f"{task_id}/{name}".encode()).digest()
    size = 2048 + seed[0] * 16
    return content_type, magic + (seed * (size // len(seed) + 1))[: size - len(magic)]
