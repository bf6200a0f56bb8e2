"""The simulator's result files: small, valid media of the right kind (see ``_media``)."""

from __future__ import annotations

import hashlib

from kling_async.simulator import _media

__all__ = ["result_file"]

_CONTENT_TYPES = {
    "mp4": "video/mp4",
    "png": "image/png",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
}


def result_file(task_id: str, name: str, seconds: float = 5.0) -> tuple[str, bytes]:
    """Content type and bytes of result ``name`` of ``task_id``.

    The same bytes every time for the same task and name: a PNG that opens, an H.264
    MP4 of ``seconds`` that plays, a WAV or MP3 of ``seconds``. Other names get a few
    bytes of ``application/octet-stream``.
    """
    ext = name.rsplit(".", 1)[-1]
    tint = hashlib.sha256(f"{task_id}/{name}".encode()).digest()[0]
    seconds = min(max(seconds, 0.5), 60.0)
    if ext == "png":
        body = _media.png(tint)
    elif ext == "mp4":
        body = _media.mp4(seconds, tint)
    elif ext == "wav":
        body = _media.wav(seconds, tint)
    elif ext == "mp3":
        body = _media.mp3(seconds, tint)
    else:
        return "application/octet-stream", hashlib.sha256(name.encode()).digest()
    return _CONTENT_TYPES[ext], body
