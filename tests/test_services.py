"""The service examples under real servers: uvicorn (FastAPI) and aiohttp, on loopback."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import uvicorn
from aiohttp import web

from kling_async import (
    CallbackRoute,
    PollPolicy,
    RetryPolicy,
    Task,
    TaskHandle,
    TextToVideo,
)
from kling_async.scheduling._scheduler import Scheduler
from kling_async.simulator import Simulator

SECRET = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI="
SCALE = 0.001
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_kwargs(sim: Simulator, port: int) -> dict[str, Any]:
    return {
        "base_url": sim.base_url,
        "api_key": sim.api_key,  # both designs: /videos (/v1) and /videos/turbo (2026)
        "callback_route": CallbackRoute(
            f"http://127.0.0.1:{port}/kling/callbacks", webhook_secrets=[SECRET]
        ),
        "capacity": {"video": 5, "image": 9, "try_on": 1},
        "poll": PollPolicy.scaled(SCALE),
        "retry": RetryPolicy(initial_delay=0.005, max_delay=0.05),
    }


async def exercise(base: str, count: int, turbo_every: int = 4) -> list[dict[str, Any]]:
    """POST `count` videos concurrently (every ``turbo_every``-th to the 2026 route
    ``/videos/turbo``), then wait for each through the service."""
    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(i: int) -> dict[str, Any]:
            route = "/videos/turbo" if i % turbo_every == 0 else "/videos"
            async with http.post(f"{base}{route}", json={"prompt": f"fox {i}"}) as resp:
                assert resp.status == 202, await resp.text()
                video_id = (await resp.json())["id"]
            while True:
                async with http.get(f"{base}/videos/{video_id}", params={"wait": "5"}) as resp:
                    answer: dict[str, Any] = await resp.json()
                if answer["state"] in ("succeeded", "failed"):
                    return answer

        return await asyncio.gather(*(one(i) for i in range(count)))


async def test_fastapi_example_serves_200_concurrent_requests() -> None:
    """200 concurrent requests to the FastAPI example all complete within capacity."""
    example = load_example("fastapi_service")
    port = free_port()
    async with Simulator(time_scale=SCALE, webhook_secret=SECRET, seed=3) as sim:
        app = example.create_app(**client_kwargs(sim, port))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            answers = await asyncio.wait_for(exercise(f"http://127.0.0.1:{port}", 200), 120)
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"http://127.0.0.1:{port}/videos", json={"prompt": "x", "duration": 7}
                ) as bad,
            ):
                assert bad.status == 422
        finally:
            server.should_exit = True
            await serving
    assert [a["state"] for a in answers] == ["succeeded"] * 200
    assert all(a["urls"] for a in answers)
    assert sim.stats.max_in_use["video"] <= 5 and sim.stats.count_1303 == 0
    assert sim.stats.total_creates == 200 and sim.stats.callbacks_sent > 0
    designs = Counter(t.design for t in sim.core.tasks.values())
    assert designs == {"2026": 50, "v1": 150}


async def test_aiohttp_example_serves_requests_with_callbacks() -> None:
    """The aiohttp example resolves its requests from signed callbacks."""
    example = load_example("aiohttp_service")
    port = free_port()
    async with Simulator(time_scale=SCALE, webhook_secret=SECRET, seed=4) as sim:
        app = example.create_app(**client_kwargs(sim, port))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            answers = await asyncio.wait_for(exercise(f"http://127.0.0.1:{port}", 30), 60)
        finally:
            await runner.cleanup()
    assert [a["state"] for a in answers] == ["succeeded"] * 30
    assert sim.stats.max_in_use["video"] <= 5 and sim.stats.callbacks_sent > 0
    assert Counter(t.design for t in sim.core.tasks.values()) == {"2026": 8, "v1": 22}


class SlowCreate:
    """A backend whose create answer is held back until released."""

    has_api_key = False

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.queries = 0

    async def send(self, call: Any) -> Task:
        await self.release.wait()
        return Task.model_validate(
            {
                "task_id": "t9",
                "task_status": "submitted",
                "task_info": {"external_task_id": call.external_task_id},
            }
        )

    async def get_task(self, *a: Any, **k: Any) -> Task:
        self.queries += 1
        raise AssertionError("no query expected")

    async def list_page_raw(self, *a: Any, **k: Any) -> list[Any]:
        self.queries += 1
        raise AssertionError("no list expected")


async def test_terminal_callback_before_the_create_answer_is_kept() -> None:
    """A callback that beats the create's answer resolves the handle once it lands."""
    backend = SlowCreate()
    scheduler = Scheduler(
        backend,
        capacity={"video": 1},
        poll=PollPolicy(min_interval=60, max_interval=600),
        callbacks=True,
    )
    handle = TaskHandle(
        scheduler.submit(TextToVideo(prompt="p"), external_task_id="early"), scheduler.cancel
    )
    while handle.state.value != "submitting":
        await asyncio.sleep(0.001)
    done = Task.model_validate(
        {"task_id": "t9", "task_status": "succeed", "task_info": {"external_task_id": "early"}}
    )
    assert await scheduler.on_callback(done, signed=True, trusted=True)
    backend.release.set()
    task = await asyncio.wait_for(handle, 5)
    await scheduler.aclose()
    assert task.succeeded and backend.queries == 0
    assert not await scheduler.on_callback(done, signed=True, trusted=True)  # now unknown
