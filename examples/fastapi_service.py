"""A FastAPI service that generates videos with Kling, callbacks included.

Run it against the embedded simulator (one command, nothing else needed):

    python examples/fastapi_service.py

then, in another shell:

    curl -s -X POST localhost:8000/videos -H 'content-type: application/json' \\
         -d '{"prompt": "a red fox in snow"}'
    curl -s 'localhost:8000/videos/<id>?wait=60'
    curl -s -X POST localhost:8000/videos/turbo -H 'content-type: application/json' \\
         -d '{"prompt": "a red fox in snow", "resolution": "1080p"}'

``POST /videos`` uses the ``/v1`` design (Kling 2.x/3.0 via ``model_name``);
``POST /videos/turbo`` uses the 2026 design for Kling 3.0 Turbo, which needs a console
API key (``api_key=`` or ``KLING_API_KEY``). Both share one client, one scheduler and
the account's video slots.

The simulator delivers signed callbacks to this service's callback route, so
``GET /videos/<id>?wait=..`` returns as soon as the task ends. Against real Kling,
build the app with ``create_app()`` and real credentials, a public ``callback_url``
and your console's webhook secret (see docs/services.md).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections import OrderedDict
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ValidationError

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
from kling_async.integrations.fastapi import Kling, callback_router, kling_lifespan
from kling_async.simulator import Simulator

KEEP = 10_000


class VideoRequest(BaseModel):
    """Body of ``POST /videos``."""

    prompt: str
    duration: int = 5


class TurboRequest(BaseModel):
    """Body of ``POST /videos/turbo`` (Kling 3.0 Turbo, the 2026 design)."""

    prompt: str
    duration: int = 5
    resolution: str = "720p"


def create_app(**client_kwargs: Any) -> FastAPI:
    """The service; ``client_kwargs`` configure its one KlingClient."""
    app = FastAPI(lifespan=kling_lifespan(**client_kwargs))
    app.include_router(callback_router())
    handles: OrderedDict[str, TaskHandle] = OrderedDict()

    def submit(kling: Kling, build: Any) -> dict[str, str]:
        try:
            request = build()
        except ValidationError as exc:
            raise HTTPException(
                422, detail=exc.errors(include_url=False, include_context=False)
            ) from None
        try:
            handle = kling.submit(request)
        except KlingError as exc:  # refused by the create gate: nothing queued or sent
            raise HTTPException(refusal_status(exc), detail=str(exc)) from None
        handles[handle.external_task_id] = handle
        while len(handles) > KEEP:
            handles.popitem(last=False)
        return {"id": handle.external_task_id, "state": handle.state.value}

    @app.post("/videos", status_code=202)
    async def create_video(body: VideoRequest, kling: Kling) -> dict[str, str]:
        return submit(kling, lambda: TextToVideo(prompt=body.prompt, duration=body.duration))

    @app.post("/videos/turbo", status_code=202)
    async def create_turbo_video(body: TurboRequest, kling: Kling) -> dict[str, str]:
        return submit(
            kling,
            lambda: TextToVideo2026(
                model="kling-3.0-turbo",
                prompt=body.prompt,
                settings=VideoSettings(duration=body.duration, resolution=body.resolution),
            ),
        )

    @app.get("/videos/{video_id}")
    async def get_video(video_id: str, wait: float = 0.0) -> dict[str, Any]:
        handle = handles.get(video_id)
        if handle is None:
            raise HTTPException(404, detail="unknown video id")
        if wait > 0:
            with contextlib.suppress(TaskTimeoutError, TaskFailedError, KlingError):
                await handle.wait(timeout=min(wait, 600))
        answer: dict[str, Any] = {"id": video_id, "state": handle.state.value}
        if handle.done() and handle.error is None:
            answer["urls"] = handle.result().result_urls()
        elif handle.error is not None:
            answer["error"] = str(handle.error)
        return answer

    return app


def _random_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


async def main() -> None:
    """Start the simulator and the service; serve until Ctrl-C or SIGTERM."""
    port = int(os.environ.get("PORT", "8000"))
    secret = _random_webhook_secret()
    scale = 0.02  # a 320 s video takes about 6 s
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
        print(f"Kling simulator at {sim.base_url}; service at http://127.0.0.1:{port}")
        print(
            f"  curl -s -X POST localhost:{port}/videos -H 'content-type: application/json' "
            '-d \'{"prompt": "a red fox"}\''
        )
        print(f"  curl -s 'localhost:{port}/videos/<id>?wait=60'")
        print(
            f"  curl -s -X POST localhost:{port}/videos/turbo -H 'content-type: application/json' "
            '-d \'{"prompt": "a red fox", "resolution": "1080p"}\''
        )
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info"))
        # uvicorn stops on Ctrl-C and SIGTERM; the lifespan then closes the client: tasks
        # still running at Kling are detached and one warning lists their ids.
        await server.serve()


if __name__ == "__main__":
    asyncio.run(main())
