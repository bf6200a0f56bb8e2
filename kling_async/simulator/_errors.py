"""The simulator's short-circuit answer (an envelope with an error code) and the
reading of request bodies, shared by its route modules."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from kling_async.errors import KlingError

__all__ = ["Answer", "json_body"]


class Answer(KlingError):
    """Short-circuit a handler with an envelope answer."""

    def __init__(self, http: int, code: int, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.http, self.code, self.message, self.retry_after = http, code, message, retry_after


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (1200 when it is not one)."""
    raw = await request.read()
    try:
        body = json.loads(raw or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Answer(400, 1200, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Answer(400, 1200, "request body must be a JSON object")
    return body
