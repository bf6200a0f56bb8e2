"""KlingClient request building and answer parsing (aioresponses: no real network)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aioresponses import aioresponses
from pydantic import ValidationError

from kling_async import (
    IdentifyFace,
    ImageGeneration,
    KlingClient,
    MultiElementsInitSelection,
    MultiElementsSelection,
    MultiElementsSession,
    ResponseError,
    TextToSpeech,
    TextToVideo,
)
from kling_async.simulator import Simulator
from tests.conftest import ACCESS_KEY, SECRET_KEY

BASE = "http://kling.test"
TASK = {"task_id": "42", "task_status": "submitted", "task_info": {"external_task_id": "e"}}


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": "r", "data": data}


@pytest.fixture
async def client() -> Any:
    c = KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=BASE)
    yield c
    await c.aclose()


def _sent(mock: aioresponses, method: str, url_start: str) -> list[Any]:
    return [
        call
        for (m, url), calls in mock.requests.items()
        if m == method and str(url).startswith(url_start)
        for call in calls
    ]


async def test_create_posts_payload_with_generated_external_id(client: KlingClient) -> None:
    """A create without an id sends a generated `ka-…` external_task_id."""
    with aioresponses() as mock:
        mock.post(f"{BASE}/v1/videos/text2video", payload=ok(TASK))
        task = await client.create(
            TextToVideo(prompt="fox", duration=10), callback_url="https://me.example/cb"
        )
        body = _sent(mock, "POST", BASE)[0].kwargs["data"]
    import json

    sent = json.loads(body)
    assert sent["prompt"] == "fox" and sent["duration"] == "10"
    assert re.fullmatch(r"ka-[0-9a-f]{32}", sent["external_task_id"])
    assert sent["callback_url"] == "https://me.example/cb"
    assert task.task_id == "42"


async def test_explicit_external_id_is_used(client: KlingClient) -> None:
    """The external_task_id argument (or the model field) is what gets sent."""
    import json

    with aioresponses() as mock:
        mock.post(f"{BASE}/v1/images/generations", payload=ok(TASK), repeat=True)
        await client.create(ImageGeneration(prompt="p", n=3), external_task_id="job-9")
        await client.create(ImageGeneration(prompt="p", external_task_id="job-10"))
        bodies = [json.loads(c.kwargs["data"]) for c in _sent(mock, "POST", BASE)]
    assert [b["external_task_id"] for b in bodies] == ["job-9", "job-10"]
    assert bodies[0]["n"] == 3


async def test_list_tasks_pages_until_a_short_page(client: KlingClient) -> None:
    """list_tasks walks pageNum=1,2,… and stops after a page shorter than pageSize."""
    full = [dict(TASK, task_id=str(i)) for i in range(2)]
    with aioresponses() as mock:
        mock.get(f"{BASE}/v1/videos/text2video?pageNum=1&pageSize=2", payload=ok(full))
        mock.get(f"{BASE}/v1/videos/text2video?pageNum=2&pageSize=2", payload=ok(full[:1]))
        pages = [p async for p in client.list_tasks("text2video", page_size=2)]
    assert [len(p) for p in pages] == [2, 1]


async def test_list_answer_of_wrong_shape_is_response_error(client: KlingClient) -> None:
    """A list endpoint answering an object (or a list of non-objects) is reported clearly."""
    with aioresponses() as mock:
        mock.get(f"{BASE}/v1/videos/text2video?pageNum=1&pageSize=500", payload=ok({"x": 1}))
        mock.get(f"{BASE}/v1/videos/text2video?pageNum=2&pageSize=500", payload=ok([1, 2]))
        with pytest.raises(ResponseError, match="list"):
            await client.list_page("text2video")
        with pytest.raises(ResponseError, match="list"):
            await client.list_page_raw("text2video", page=2)


async def test_raw_list_page_returns_objects_unparsed(client: KlingClient) -> None:
    """list_page_raw hands back the JSON objects so callers parse only what they need."""
    items = [dict(TASK, task_id=str(i), extra={"big": "x" * 10}) for i in range(3)]
    with aioresponses() as mock:
        mock.get(f"{BASE}/v1/videos/text2video?pageNum=1&pageSize=3", payload=ok(items))
        raw = await client.list_page_raw("text2video", page_size=3)
    assert raw == items


async def test_sync_endpoints_post_to_their_paths(client: KlingClient) -> None:
    """identify-face, selection calls and TTS go to their documented paths."""
    with aioresponses() as mock:
        mock.post(
            f"{BASE}/v1/videos/identify-face",
            payload=ok({"session_id": "s", "face_data": [{"face_id": "0"}]}),
        )
        mock.post(
            f"{BASE}/v1/videos/multi-elements/init-selection",
            payload=ok({"status": 0, "session_id": "s"}),
        )
        mock.post(f"{BASE}/v1/videos/multi-elements/add-selection", payload=ok({"status": 0}))
        mock.post(f"{BASE}/v1/videos/multi-elements/delete-selection", payload=ok({"status": 0}))
        mock.post(f"{BASE}/v1/videos/multi-elements/clear-selection", payload=ok({"status": 0}))
        mock.post(f"{BASE}/v1/videos/multi-elements/preview-selection", payload=ok({"status": 0}))
        mock.post(f"{BASE}/v1/audio/tts", payload=ok(dict(TASK, task_status="succeed")))
        faces = await client.identify_face(IdentifyFace(video_id="1"))
        init = await client.multi_elements_init_selection(MultiElementsInitSelection(video_id="1"))
        sel = MultiElementsSelection(session_id="s", frame_index=1, points=[{"x": 0.1, "y": 0.2}])
        await client.multi_elements_add_selection(sel)
        await client.multi_elements_delete_selection(sel)
        await client.multi_elements_clear_selection(MultiElementsSession(session_id="s"))
        await client.multi_elements_preview_selection(MultiElementsSession(session_id="s"))
        speech = await client.text_to_speech(
            TextToSpeech(text="hi", voice_id="v", voice_language="en")
        )
    assert faces.face_data[0].face_id == "0" and init.session_id == "s"
    assert speech.succeeded


async def test_account_costs_sends_window_and_is_rate_limited(client: KlingClient) -> None:
    """/account/costs gets start/end in ms and shares a 1 request/s limiter."""
    with aioresponses() as mock:
        mock.get(
            re.compile(rf"{BASE}/account/costs\?.*"),
            payload=ok({"code": 0, "resource_pack_subscribe_infos": []}),
        )
        await client.account_costs(start_time=1, end_time=2)
        call = _sent(mock, "GET", f"{BASE}/account/costs")[0]
    assert call.kwargs["params"] == {"start_time": "1", "end_time": "2"}
    limiter = client._costs_limiter
    assert limiter.max_rate == 1 and limiter.time_period == 1


async def test_bad_input_never_reaches_the_network() -> None:
    """Invalid requests and arguments raise before I/O: the simulator sees 0 requests."""
    async with Simulator() as sim, sim.client() as client:
        with pytest.raises(ValidationError, match="prompt"):
            TextToVideo(prompt="x" * 2501)
        good = TextToVideo(prompt="ok")
        with pytest.raises(ValidationError, match="duration"):
            good.duration = "7"  # assignment is validated too
        with pytest.raises(ValueError, match="external_task_id"):
            await client.create(TextToVideo(prompt="a", external_task_id="a"), external_task_id="b")
        with pytest.raises(ValueError, match="task_id= or external_task_id="):
            await client.get_task("text2video")
        with pytest.raises(ValueError, match="unknown task family"):
            await client.get_task("text3video", task_id="1")
        with pytest.raises(ValueError, match="page_size"):
            await anext(client.list_tasks("text2video", page_size=501))
        with pytest.raises(ValueError, match="start_time"):
            await client.account_costs(start_time=10, end_time=1)
        with pytest.raises(ValueError, match="inline"):
            await client.get_task("tts", task_id="1")
        assert sim.stats.total_requests == 0
