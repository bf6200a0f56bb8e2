"""The simulator answers like live Kling by default (``kling_api_2026.md`` A2-A5),
checked with plain aiohttp requests (not the client)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from kling_async import Task
from kling_async.simulator import Faults
from tests.test_simulator import IMG, T2V, Raw, sim_for


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_unknown_ids_answer_400_1201_without_data(session: aiohttp.ClientSession) -> None:
    """Unknown task id or external id on the path form: HTTP 400, code 1201, Kling's text."""
    async with sim_for() as sim:
        raw = Raw(sim, session)
        answers = [
            await raw.call("GET", f"{path}/{key}")
            for path in (T2V, IMG)
            for key in ("860000000000000777", "my-job")
        ]
    for (status, body), key in zip(answers, ["860000000000000777", "my-job"] * 2, strict=True):
        assert (status, body["code"]) == (400, 1201)
        assert body["message"] == f"Task not found by id/external id: {key}"
        assert "data" not in body


async def test_path_form_finds_a_task_by_external_id(session: aiohttp.ClientSession) -> None:
    """GET {path}/{external_task_id} returns that task; another family's path does not."""
    async with sim_for(time_scale=100) as sim:
        raw = Raw(sim, session)
        _, created = await raw.create(external_task_id="job-42")
        s1, found = await raw.call("GET", f"{T2V}/job-42")
        s2, other = await raw.call("GET", "/v1/videos/image2video/job-42")
    assert s1 == 200 and found["data"]["task_id"] == created["data"]["task_id"]
    assert found["data"]["task_info"] == {"external_task_id": "job-42"}
    assert (s2, other["code"]) == (400, 1201)


async def test_query_parameter_form_is_the_plain_list(session: aiohttp.ClientSession) -> None:
    """GET {path}?external_task_id=x is the list endpoint: the parameter is ignored."""
    async with sim_for(time_scale=100) as sim:
        raw = Raw(sim, session)
        for i in range(3):
            await raw.create(external_task_id=f"job-{i}")
        status, page = await raw.call("GET", T2V, params={"external_task_id": "job-0"})
        _, missing = await raw.call("GET", T2V, params={"external_task_id": "never"})
    assert status == 200 and isinstance(page["data"], list) and len(page["data"]) == 3
    assert page["data"][0]["task_info"]["external_task_id"] == "job-2"  # newest first
    assert len(missing["data"]) == 3


async def test_duplicate_external_ids_are_refused_account_wide(
    session: aiohttp.ClientSession,
) -> None:
    """A video task's external id refuses an image create too; nothing is created."""
    async with sim_for(time_scale=100) as sim:
        raw = Raw(sim, session)
        await raw.create(external_task_id="shared")
        status, body = await raw.create(IMG, external_task_id="shared")
    assert (status, body["code"]) == (400, 1201)
    assert body["message"] == "External_task_id shared already exists"
    assert sim.stats.total_creates == 1


async def test_task_result_is_empty_while_running_and_on_failure(
    session: aiohttp.ClientSession,
) -> None:
    """Create answers have no task_result; running and failed tasks show {}."""
    async with sim_for(time_scale=0.001, duration_spread=0, faults=Faults(failure_rate=1.0)) as sim:
        raw = Raw(sim, session)
        _, created = await raw.create()
        task_id = created["data"]["task_id"]
        _, running = await raw.call("GET", f"{T2V}/{task_id}")
        await asyncio.sleep(0.4)
        _, failed = await raw.call("GET", f"{T2V}/{task_id}")
    assert "task_result" not in created["data"]
    assert running["data"]["task_status"] in ("submitted", "processing")
    assert running["data"]["task_result"] == {}
    assert failed["data"]["task_status"] == "failed" and failed["data"]["task_result"] == {}


async def _succeed_bodies(live_shapes: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    creates: list[dict[str, Any]] = []
    async with (
        sim_for(
            capacity={"video": 50},
            time_scale=0.0001,
            duration_spread=0,
            live_shapes=live_shapes,
            seed=4,
        ) as sim,
        aiohttp.ClientSession() as session,
    ):
        raw = Raw(sim, session)
        for i in range(40):
            _, body = await raw.create(external_task_id=f"j{i}", watermark_info={"enabled": True})
            creates.append(body["data"])
        await asyncio.sleep(0.1)
        _, page = await raw.call("GET", T2V, params={"pageSize": "100"})
    return creates, page["data"]


async def test_live_shapes_vary_like_live_kling_and_all_parse() -> None:
    """Across tasks: create answers without task_info, succeed results with null or []
    sibling lists, missing deductions and watermark echo; every one parses into Task."""
    creates, done = await _succeed_bodies(live_shapes=True)
    assert any("task_info" not in c for c in creates)
    assert any("task_info" in c for c in creates)
    results = [t["task_result"] for t in done]
    assert any(r.get("images", 0) is None for r in results)
    assert any(r.get("images") == [] and r.get("audios") == [] for r in results)
    assert any("images" not in r for r in results)
    assert any("final_unit_deduction" not in t for t in done)
    assert any("final_unit_deduction" in t for t in done)
    for body in [*creates, *done]:
        task = Task.model_validate(body)
        assert task.task_id == body["task_id"]
    assert all(Task.model_validate(t).result_urls() for t in done)


async def test_plain_shapes_when_asked() -> None:
    """live_shapes=False gives the documented shape every time."""
    creates, done = await _succeed_bodies(live_shapes=False)
    assert all(c["task_info"]["external_task_id"] for c in creates)
    assert all(set(t["task_result"]) == {"videos"} for t in done)
    assert all("final_unit_deduction" in t for t in done)


@pytest.mark.parametrize(
    ("path", "body", "ok"),
    [
        (T2V, {"model_name": "kling-v3", "mode": "4k", "duration": "15"}, True),
        (T2V, {"model_name": "kling-v2-6", "mode": "4k"}, False),
        (T2V, {"model_name": "kling-v2-6", "sound": "on", "mode": "std"}, False),
        (T2V, {"model_name": "kling-v2-master", "mode": "std"}, False),
        (T2V, {"model_name": "kling-v9-unknown"}, False),
        (
            "/v1/videos/image2video",
            {
                "model_name": "kling-v3",
                "image": "https://x.example/a.png",
                "image_tail": "https://x.example/b.png",
                "multi_shot": True,
                "shot_type": "intelligence",
            },
            True,
        ),
        ("/v1/videos/image2video", {"image_tail": "https://x.example/b.png"}, False),
        (
            "/v1/videos/omni-video",
            {
                "model_name": "kling-v3-omni",
                "mode": "4k",
                "duration": "15",
                "aspect_ratio": "16:9",
                "video_list": [{"video_url": "https://x.example/v.mp4", "refer_type": "feature"}],
            },
            True,
        ),
        ("/v1/videos/omni-video", {"mode": "4k", "aspect_ratio": "1:1"}, False),
    ],
)
async def test_model_rules_follow_the_2026_matrix(
    session: aiohttp.ClientSession, path: str, body: dict[str, Any], ok: bool
) -> None:
    """The simulator's own validation follows section B: 4k, durations, multi-shot with
    frames, reference videos; models it does not serve are refused with 1201."""
    async with sim_for(time_scale=100, capacity={"video": 50}) as sim:
        status, answer = await Raw(sim, session).create(path, **body)
    assert (status == 200) is ok, answer
    if not ok:
        assert (status, answer["code"]) == (400, 1201)


async def test_retired_model_is_refused_with_the_live_message(
    session: aiohttp.ClientSession,
) -> None:
    """kling-v1 is answered with the message live Kling used when it retired it."""
    async with sim_for(time_scale=100) as sim:
        status, answer = await Raw(sim, session).create(model_name="kling-v1")
    assert (status, answer["code"]) == (400, 1201)
    assert "The model 'kling-v1' has been discontinued" in answer["message"]
    assert sim.stats.total_creates == 0


async def test_a_pack_the_account_lacks_answers_429_1102(session: aiohttp.ClientSession) -> None:
    """Live (kling_api_2026.md): an image create on a video-only account is HTTP 429,
    code 1102 "Account balance not enough"; the video pack still creates; nothing is
    created for the refused request. `simulate --without-pack` sets the same."""
    async with sim_for() as sim:
        sim.set_pack("image", available=False)
        raw = Raw(sim, session)
        status, body = await raw.create(IMG)
        assert (status, body["code"], body["message"]) == (429, 1102, "Account balance not enough")
        assert "data" not in body
        assert (await raw.create(T2V))[0] == 200
        assert sim.stats.total_creates == 1
        sim.set_pack("image", available=True)
        assert (await raw.create(IMG))[0] == 200
