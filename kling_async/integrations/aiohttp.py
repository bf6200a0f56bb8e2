"""aiohttp glue: a client owned by the app's lifecycle and the callback route.

Example::

    from aiohttp import web
    from kling_async import CallbackRoute
    from kling_async.integrations.aiohttp import KLING, setup_kling

    app = web.Application()
    setup_kling(app, callback_route=CallbackRoute(
        "https://svc.example.com/kling/callbacks", webhook_secrets=["whsec_..."]),
        capacity={"video": 5})

    async def generate(request: web.Request) -> web.Response:
        task = await request.app[KLING].text_to_video(prompt="a fox")
        return web.json_response({"urls": task.result_urls()})
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from kling_async._client import KlingClient

__all__ = ["KLING", "callback_handler", "kling_context", "read_limited", "setup_kling"]

KLING: web.AppKey[KlingClient] = web.AppKey("kling_client", KlingClient)
"""Where the client lives: ``request.app[KLING]``."""

DEFAULT_PATH = "/kling/callbacks"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def kling_context(
    key: web.AppKey[KlingClient] = KLING, **client_kwargs: Any
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` entry that opens the client at start-up and closes it at shut-down.

    Example:
        >>> app.cleanup_ctx.append(kling_context(capacity={"video": 5}))  # doctest: +SKIP
    """

    async def context(app: web.Application) -> AsyncIterator[None]:
        async with KlingClient(**client_kwargs) as client:
            app[key] = client
            yield

    return context


async def read_limited(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def callback_handler(key: web.AppKey[KlingClient] = KLING) -> Handler:
    """The handler of ``POST {path}/{token}``: verify and apply one delivery."""

    async def handle(request: web.Request) -> web.StreamResponse:
        receiver = request.app[key].callbacks
        if receiver is None:
            raise web.HTTPNotFound()
        body = await read_limited(request, receiver.max_body_bytes)
        if body is None:
            return web.json_response({"status": "too large"}, status=413)
        result = await receiver.handle(request.match_info["token"], body, request.headers)
        return web.json_response(result.body, status=result.status)

    return handle


def setup_kling(
    app: web.Application,
    *,
    path: str = DEFAULT_PATH,
    key: web.AppKey[KlingClient] = KLING,
    **client_kwargs: Any,
) -> web.AppKey[KlingClient]:
    """Own a client for ``app``'s lifetime and mount the callback route at ``path``.

    ``client_kwargs`` go to :class:`~kling_async.KlingClient` (the URL of its
    ``callback_route`` must be the public URL of ``path``). Returns the key to reach
    the client.
    """
    app.cleanup_ctx.append(kling_context(key, **client_kwargs))
    app.router.add_post(path.rstrip("/") + "/{token}", callback_handler(key))
    return key
