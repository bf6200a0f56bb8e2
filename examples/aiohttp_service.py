"""An aiohttp service that generates videos with Kling, callbacks included.

Run it against the embedded simulator (one command):

    python examples/aiohttp_service.py

then:

    curl -s -X POST localhost:8001/videos -H 'content-type: application/json' \\
         -d '{"prompt": "a red fox in snow"}'
    curl -s 'localhost:8001/videos/<id>?wait=60'
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections import OrderedDict
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from kling_async import (
    KlingError,
    PollPolicy,
    TaskFailedError,
    TaskHandle,
    TaskTimeoutError,
    TextToVideo,
)
from kling_async.integrations.aiohttp import KLING, setup_kling
from kling_async.simulator import Simulator

HANDLES: web.AppKey[OrderedDict[str, TaskHandle]] = web.AppKey("handles", OrderedDict)
KEEP = 10_000


async def create_video(request: web.Request) -> web.Response:
    """``POST /videos`` with ``{"prompt": ..., "duration": 5}``: submit, answer the id."""
    body = await request.json()
    try:
        video = TextToVideo(prompt=body.get("prompt"), duration=body.get("duration", 5))
    except ValidationError as exc:
        return web.json_response(
            {"detail": exc.errors(include_url=False, include_context=False)}, status=422
        )
    handle = request.app[KLING].submit(video)
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
    app.router.add_get("/videos/{video_id}", get_video)
    return app


async def main() -> None:
    """Start the simulator and the service; serve until Ctrl-C."""
    port = int(os.environ.get("PORT", "8001"))
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    scale = 0.02
    async with Simulator(time_scale=scale, webhook_secret=secret, seed=1) as sim:
        app = create_app(
            base_url=sim.base_url,
            access_key=sim.access_key,
            secret_key=sim.secret_key,
            callback_url=f"http://127.0.0.1:{port}/kling/callbacks",
            webhook_secrets=[secret],
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
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
