"""Identity includes what the task is: a task is adopted only when its ids match and
its answer does not show another family (its outputs' kinds, its billing pack);
Kling's external ids are one namespace across families and designs, so an id held
by another family's task fails the submission clearly, on both designs and in both
orders; two answers naming one external id are a conflict, not a choice."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aioresponses import aioresponses

from kling_async import (
    ExternalIdInUseError,
    ImageGeneration,
    KlingClient,
    PollPolicy,
    RetryPolicy,
    Task,
    TaskMismatchError,
    TextToVideo,
    TextToVideo2026,
    VideoSettings,
)
from kling_async.simulator import Simulator
from kling_async.wire._lookup import find_in_list

SCALE = 0.002
BASE = "http://kling.test"
API_KEY = "ak-test-0123456789abcdef0123456789abcdef"


def _client(sim: Simulator) -> KlingClient:
    return KlingClient(
        base_url=sim.base_url,
        api_key=sim.api_key,
        capacity={"video": 3, "image": 4},
        poll=PollPolicy.scaled(SCALE),
    )


TURBO = TextToVideo2026(model="kling-3.0-turbo", prompt="fox", settings=VideoSettings(duration=3))


async def test_a_2026_submission_never_adopts_a_v1_image_task_holding_its_id() -> None:
    async with Simulator(time_scale=SCALE, live_shapes=False) as sim:
        async with _client(sim) as client:
            image = await client.run(ImageGeneration(prompt="a lighthouse"), external_task_id="x")
            assert image.result_files()[0][1] == "image"
            with pytest.raises(TaskMismatchError) as info:
                await client.submit(TURBO, external_task_id="x")
        message = str(info.value)
        assert image.task_id in message and "not a text_to_video_2026 task" in message
        assert "image" in message and "use another external_task_id" in message
        assert sim.stats.creates_by_external_id["x"] == 1  # the image task only
        assert "POST /text-to-video/{model}" in sim.stats.requests_by_endpoint  # refused 1201


async def test_a_v1_image_submission_never_adopts_a_2026_video_task_holding_its_id() -> None:
    async with Simulator(time_scale=SCALE, live_shapes=False) as sim:
        async with _client(sim) as client:
            video = await client.run(TURBO, external_task_id="y")
            with pytest.raises(ExternalIdInUseError) as info:
                await client.submit(ImageGeneration(prompt="a lighthouse"), external_task_id="y")
            assert "'y' is held by a task" in str(info.value)
            assert "nothing created, nothing adopted" in str(info.value)
        assert video.design.value == "2026"
        assert sim.stats.creates_by_external_id["y"] == 1
        assert sim.stats.total_creates == 1


async def test_the_same_family_is_still_adopted_after_a_lost_answer() -> None:
    """What the check must not break: a retrying caller's own task is found and adopted."""
    async with Simulator(time_scale=SCALE, live_shapes=False) as sim:
        async with _client(sim) as client:
            first = await client.run(TextToVideo(prompt="a"), external_task_id="mine")
            again = await client.run(TextToVideo(prompt="a"), external_task_id="mine")
        assert again.task_id == first.task_id
        assert sim.stats.creates_by_external_id["mine"] == 1


def _ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": "r", "data": data}


def _record(task_id: str, ext: str) -> dict[str, Any]:
    return {"id": task_id, "status": "succeeded", "external_id": ext, "outputs": []}


async def test_two_records_naming_one_external_id_are_a_conflict() -> None:
    client = KlingClient(api_key=API_KEY, base_url=BASE, retry=RetryPolicy.disabled())
    try:
        with aioresponses() as mock:
            mock.get(
                re.compile(rf"{re.escape(BASE)}/tasks\?.*"),
                payload=_ok([_record("1", "dup"), _record("2", "dup")]),
            )
            with pytest.raises(TaskMismatchError, match="2 tasks name external_task_id 'dup'"):
                await client.get_task("text_to_video_2026", external_task_id="dup")
    finally:
        await client.aclose()


def test_two_list_items_matching_one_id_are_a_conflict() -> None:
    items = [
        {"task_id": "1", "task_info": {"external_task_id": "dup"}},
        {"task_id": "2", "task_info": {"external_task_id": "dup"}},
    ]
    with pytest.raises(TaskMismatchError, match="a conflict, none is adopted"):
        find_in_list(items, task_id=None, external_task_id="dup")
    assert find_in_list(items[:1] * 2, task_id=None, external_task_id="dup") == items[0]


def test_what_an_answer_shows_about_its_pack() -> None:
    image = Task.model_validate(
        {"task_id": "1", "task_status": "succeed", "task_result": {"images": [{"url": "u"}]}}
    )
    video = Task.model_validate(
        {
            "id": "2",
            "status": "succeeded",
            "outputs": [{"type": "video", "url": "v"}],
            "billing": [{"charge_type": "unit", "amount": "1", "package_type": "video"}],
        }
    )
    billed = Task.model_validate(
        {"id": "3", "status": "submitted", "billing": [{"package_type": "try-on"}]}
    )
    running = Task.model_validate({"task_id": "4", "task_status": "processing"})
    assert image.packs_shown() == {"image", "try_on"}
    assert video.packs_shown() == {"video"}
    assert billed.packs_shown() == {"try_on"}
    assert running.packs_shown() is None
