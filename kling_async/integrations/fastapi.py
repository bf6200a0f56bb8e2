"""FastAPI glue: a lifespan that owns one client, a dependency, the callback router.

Example::

    from fastapi import FastAPI
    from kling_async import CallbackRoute, TextToVideo
    from kling_async.integrations.fastapi import Kling, callback_router, kling_lifespan

    app = FastAPI(lifespan=kling_lifespan(
        callback_route=CallbackRoute(
            "https://svc.example.com/kling/callbacks", webhook_secrets=["whsec_..."]),
        capacity={"video": 5}))
    app.include_router(callback_router())

    @app.post("/videos")
    async def create(prompt: str, kling: Kling) -> dict[str, str]:
        handle = kling.submit(TextToVideo(prompt=prompt))
        return {"id": handle.external_task_id}
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from kling_async._client import KlingClient

__all__ = ["Kling", "callback_router", "get_kling", "kling_lifespan"]

DEFAULT_PATH = "/kling/callbacks"


def kling_lifespan(
    **client_kwargs: Any,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A FastAPI ``lifespan`` that opens one client for the app (``app.state.kling``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with KlingClient(**client_kwargs) as client:
            app.state.kling = client
            yield

    return lifespan


def get_kling(request: Request) -> KlingClient:
    """Dependency: the app's client."""
    client: KlingClient = request.app.state.kling
    return client


Kling = Annotated[KlingClient, Depends(get_kling)]
"""Annotate an endpoint parameter with this to receive the client."""


async def _read_limited(request: Request, limit: int) -> bytes | None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def callback_router(path: str = DEFAULT_PATH) -> APIRouter:
    """An ``APIRouter`` with ``POST {path}/{token}``, the callback route."""
    router = APIRouter()

    @router.post(path.rstrip("/") + "/{token}", include_in_schema=False)
    async def kling_callback(token: str, request: Request) -> Response:
        receiver = get_kling(request).callbacks
        if receiver is None:
            return JSONResponse({"status": "not found"}, status_code=404)
        body = await _read_limited(request, receiver.max_body_bytes)
        if body is None:
            return JSONResponse({"status": "too large"}, status_code=413)
        result = await receiver.handle(token, body, request.headers)
        return JSONResponse(result.body, status_code=result.status)

    return router
