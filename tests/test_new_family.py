"""Adding a task family is one table entry plus its request model.

A family Kling might add tomorrow (``POST /v1/videos/sketch``) is registered in the
family table, with its own request model, against a tiny aiohttp server that answers
like Kling (create, path lookup, list). Nothing else in kling_async is touched: the
scheduler counts its slots, the tracker polls it, ``attach`` and ``get_task`` look it
up, a batch job file takes it and downloads its result.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp import web

from kling_async import KlingClient, KlingRequest, Pack, PollPolicy, TaskStatus
from kling_async.batch import run_batch
from kling_async.endpoints import FAMILIES, REQUEST_MODELS, Family, register, unregister

from .conftest import ACCESS_KEY, SECRET_KEY

PATH = "/v1/videos/sketch"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


class SketchVideo(KlingRequest):
    """The new family's request model: a prompt and a number of strokes."""

    family: ClassVar[str] = "sketch_video"

    prompt: str
    strokes: int = 3


class SketchServer:
    """Answers the sketch family like Kling: creates, ``GET {path}/{id}``, lists.

    A task ends after ``polls_to_finish`` lookups or list reads that saw it.
    """

    def __init__(self, polls_to_finish: int = 2) -> None:
        self.polls_to_finish = polls_to_finish
        self.tasks: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, int] = {}
        self.bodies: list[dict[str, Any]] = []
        self.max_running = 0
        self.base_url = ""
        self._ids: Iterator[int] = itertools.count(9_000_001)

    def _running(self) -> int:
        return sum(t["task_status"] in ("submitted", "processing") for t in self.tasks.values())

    def _advance(self, task: dict[str, Any]) -> dict[str, Any]:
        task_id = task["task_id"]
        self.seen[task_id] = self.seen.get(task_id, 0) + 1
        if task["task_status"] == "submitted":
            task["task_status"] = "processing"
        elif self.seen[task_id] >= self.polls_to_finish and task["task_status"] == "processing":
            task["task_status"] = "succeed"
            task["task_result"] = {
                "videos": [{"id": "v1", "url": f"{self.base_url}/files/{task_id}.mp4"}]
            }
        return task

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        if self._running() >= 1:  # the account's video pack holds one task
            return web.json_response(
                {"code": 1303, "message": "parallel task over resource pack limit"}, status=429
            )
        task_id = str(next(self._ids))
        self.tasks[task_id] = {
            "task_id": task_id,
            "task_status": "submitted",
            "task_info": {"external_task_id": body["external_task_id"]},
            "created_at": int(time.time() * 1000),
            "updated_at": int(time.time() * 1000),
        }
        self.max_running = max(self.max_running, self._running())
        return web.json_response({"code": 0, "message": "SUCCEED", "data": self.tasks[task_id]})

    async def lookup(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        for task in self.tasks.values():
            if key in (task["task_id"], task["task_info"]["external_task_id"]):
                return web.json_response({"code": 0, "data": self._advance(task)})
        return web.json_response(
            {"code": 1201, "message": f"Task not found by id/external id: {key}"}, status=400
        )

    async def listing(self, request: web.Request) -> web.Response:
        page = [self._advance(t) for t in reversed(list(self.tasks.values()))]
        return web.json_response({"code": 0, "data": page})

    async def file(self, request: web.Request) -> web.Response:
        return web.Response(body=MP4, content_type="video/mp4")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(PATH, self.create)
        app.router.add_get(PATH, self.listing)
        app.router.add_get(PATH + "/{key}", self.lookup)
        app.router.add_get("/files/{name}", self.file)
        return app


@pytest.fixture
async def sketch_server() -> AsyncIterator[SketchServer]:
    server = SketchServer()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base_url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
def sketch_family() -> Iterator[Family]:
    fam = register(
        Family(
            "sketch_video",
            PATH,
            Pack.VIDEO,
            lambda fields: 1,
            request=SketchVideo,
            typical_seconds=2.0,
            min_seconds=0.2,
        )
    )
    try:
        yield fam
    finally:
        unregister("sketch_video")


def client_for(server: SketchServer, **kwargs: Any) -> KlingClient:
    return KlingClient(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        base_url=server.base_url,
        poll=PollPolicy.scaled(0.01),
        **kwargs,
    )


async def test_a_registered_family_runs_end_to_end(
    sketch_server: SketchServer, sketch_family: Family
) -> None:
    """submit -> one slot at a time -> polled to the end -> results; attach and
    get_task look it up by its path; the table's derived views list it."""
    assert FAMILIES["sketch_video"] is sketch_family
    assert REQUEST_MODELS["sketch_video"] is SketchVideo
    async with client_for(sketch_server, capacity={"video": 1}) as client:
        handles = [client.submit(SketchVideo(prompt=f"cat {i}", strokes=i)) for i in range(4)]
        tasks = [await handle for handle in handles]
        assert all(t.task_status is TaskStatus.SUCCEED and t.result_urls() for t in tasks)
        assert sketch_server.max_running == 1  # never over the capacity it was given
        assert [b["strokes"] for b in sketch_server.bodies] == [0, 1, 2, 3]
        assert all(b["external_task_id"].startswith("ka-") for b in sketch_server.bodies)
        found = await client.get_task("sketch_video", external_task_id=handles[2].external_task_id)
        assert found.task_id == tasks[2].task_id
        again = await client.attach("sketch_video", task_id=tasks[0].task_id)
        assert (await again).task_id == tasks[0].task_id
    assert "sketch_video" not in client.stats().tracker.tracked


async def test_a_registered_family_runs_as_a_batch_job(
    sketch_server: SketchServer, sketch_family: Family, tmp_path: Path
) -> None:
    """A job file names the new family; the batch creates it once and downloads it."""
    jobs = tmp_path / "jobs.jsonl"
    rows = [
        {"id": f"s{i}", "family": "SketchVideo", "params": {"prompt": f"dog {i}"}} for i in range(3)
    ]
    jobs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = await run_batch(
        jobs,
        tmp_path / "out",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        base_url=sketch_server.base_url,
        capacity={"video": 1},
        poll=PollPolicy.scaled(0.01),
    )
    files = sorted(p.name for p in (out / "files").iterdir())
    assert len(files) == 3 and all(name.endswith(".mp4") for name in files)
    assert len(sketch_server.bodies) == 3  # each job created once


def test_registering_checks_the_entry() -> None:
    """A taken name, a model naming another family, a bad name: refused, table unchanged."""
    with pytest.raises(ValueError, match="already exists"):
        register(Family("text2video", PATH, Pack.VIDEO, lambda f: 1))
    with pytest.raises(ValueError, match="must be 'sketch2'"):
        register(Family("sketch2", PATH, Pack.VIDEO, lambda f: 1, request=SketchVideo))
    with pytest.raises(ValueError, match="identifier"):
        register(Family("sketch video", PATH, Pack.VIDEO, lambda f: 1))
    with pytest.raises(ValueError, match="built-in"):
        unregister("text2video")
    assert "sketch2" not in FAMILIES and "text2video" in FAMILIES
