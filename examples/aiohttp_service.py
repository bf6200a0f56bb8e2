"""An aiohttp service that generates videos with Kling, callbacks included.

Run it against the embedded simulator (one command):

    python examples/aiohttp_service.py

then:

    curl -s -X POST localhost:8001/videos -H 'content-type: application/json' \\
         -d '{"prompt": "a red fox in snow"}'
    curl -s 'localhost:8001/videos/<id>?wait=60'
    curl -s -X POST localhost:8001/videos/turbo -H 'content-type: application/json' \\
         -d '{"prompt": "a red fox in snow", "resolution": "1080p"}'

``POST /videos/turbo`` is Kling 3.0 Turbo through the 2026 design (an API key is
needed there); it shares the client, the scheduler and the video slots with ``/videos``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
from collections import OrderedDict
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from kling_async import (
    CallbackRoute,
    KlingError,
    PollPolicy,
    TaskFailedError,
    TaskHandle,
    TaskTimeoutError,
    TextToVideo,
    TextToVideo2026,
    VideoSettings,
)
from kling_async.integrations import refusal_status
from kling_async.integrations.aiohttp import KLING, setup_kling
from kling_async.simulator import Simulator

HANDLES: web.AppKey[OrderedDict[str, TaskHandle]] = web.AppKey("handles", OrderedDict)
KEEP = 10_000


async def create_video(request: web.Request) -> web.Response:
    """``POST /videos`` with ``{"prompt": ..., "duration": 5}``: submit, answer the id."""
    body = await request.json()
    return _submit(
        request, lambda: TextToVideo(prompt=body.get("prompt"), duration=body.get("duration", 5))
    )


async def create_turbo_video(request: web.Request) -> web.Response:
    """``POST /videos/turbo`` with ``{"prompt": ..., "duration": 5, "resolution": "720p"}``:
    Kling 3.0 Turbo through the 2026 design (needs an API key)."""
    body = await request.json()
    return _submit(
        request,
        lambda: TextToVideo2026(
            model="kling-3.0-turbo",
            prompt=body.get("prompt"),
            settings=VideoSettings(
                duration=body.get("duration", 5), resolution=body.get("resolution", "720p")
            ),
        ),
    )


def _submit(request: web.Request, build: Any) -> web.Response:
    try:
        video = build()
    except ValidationError as exc:
        return web.json_response(
            {"detail": exc.errors(include_url=False, include_context=False)}, status=422
        )
    try:
        handle = request.app[KLING].submit(video)
    except KlingError as exc:  # refused by the create gate: nothing was queued or sent
        return web.json_response({"detail": str(exc)}, status=refusal_status(exc))
    handles = request.app[HANDLES]
    handles[handle.external_task_id] = handle
    while len(handles) > KEEP:
        handles.popitem(last=False)
    return web.json_response(
        {"id": handle.external_task_id, "state": handle.state.value}, status=202
    )


async def get_video(request: web.Request) -> web.Response:
    """``GET /videos/{id}?wait=seconds``: the state, and result URLs when done."""
    video_id = request.match_info["video_id"]
    handle = request.app[HANDLES].get(video_id)
    if handle is None:
        return web.json_response({"detail": "unknown video id"}, status=404)
    wait = float(request.query.get("wait", "0"))
    if wait > 0:
        with contextlib.suppress(TaskTimeoutError, TaskFailedError, KlingError):
            await handle.wait(timeout=min(wait, 600))
    answer: dict[str, Any] = {"id": video_id, "state": handle.state.value}
    if handle.done() and handle.error is None:
        answer["urls"] = handle.result().result_urls()
    elif handle.error is not None:
        answer["error"] = str(handle.error)
    return web.json_response(answer)


def create_app(**client_kwargs: Any) -> web.Application:
    """The service; ``client_kwargs`` configure its one KlingClient."""
    app = web.Application()
    app[HANDLES] = OrderedDict()
    setup_kling(app, **client_kwargs)
    app.router.add_post("/videos", create_video)
    app.router.add_post("/videos/turbo", create_turbo_video)
    app.router.add_get("/videos/{video_id}", get_video)
    return app


async def main() -> None:
    """Start the simulator and the service; serve until Ctrl-C or SIGTERM."""
    port = int(os.environ.get("PORT", "8001"))
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    scale = 0.02
    async with Simulator(time_scale=scale, webhook_secret=secret, seed=1) as sim:
        app = create_app(
            base_url=sim.base_url,
            api_key=sim.api_key,  # runs both designs (an AK/SK pair runs /v1 only)
            callback_route=CallbackRoute(
                f"http://127.0.0.1:{port}/kling/callbacks", webhook_secrets=[secret]
            ),
            capacity={"video": 5, "image": 9, "try_on": 1},
            poll=PollPolicy.scaled(scale),
        )
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print(f"Kling simulator at {sim.base_url}; service at http://127.0.0.1:{port}")
        print(
            f"  curl -s -X POST localhost:{port}/videos -H 'content-type: application/json' "
            '-d \'{"prompt": "a red fox"}\''
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):  # Ctrl-C: asyncio cancels main()
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            # Closes the client: tasks still running at Kling are detached and one
            # warning lists their ids (follow them later with client.attach).
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
