"""A real loopback HTTP server that answers from a script, for transport tests."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Step:
    """One scripted answer."""

    status: int = 200
    body: Any = None  # dict -> JSON; str/bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


def envelope(data: Any = None, code: int = 0, message: str = "SUCCEED") -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": "req-1", "data": data}


class ScriptedServer:
    """Answers each request with the next :class:`Step`; the last step repeats."""

    def __init__(self, *steps: Step) -> None:
        self.steps: deque[Step] = deque(steps)
        self.seen: list[Seen] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def script(self, *steps: Step) -> None:
        self.steps = deque(steps)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self.seen.append(
            Seen(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        step = self.steps.popleft() if len(self.steps) > 1 else self.steps[0]
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.drop:
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        if isinstance(step.body, dict | list):
            return web.json_response(step.body, status=step.status, headers=step.headers)
        payload = step.body.encode() if isinstance(step.body, str) else (step.body or b"")
        return web.Response(body=payload, status=step.status, headers=step.headers)

    async def __aenter__(self) -> ScriptedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
