"""The simulator's short-circuit answer (an envelope with an error code)."""

from __future__ import annotations

__all__ = ["Answer"]


class Answer(Exception):
    """Short-circuit a handler with an envelope answer."""

    def __init__(self, http: int, code: int, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.http, self.code, self.message, self.retry_after = http, code, message, retry_after
