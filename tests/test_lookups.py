"""Task lookups as live Kling answers them: the path form, not-found, identity checks.

Request building and answer parsing use aioresponses; behaviour against a server uses
the simulator over loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import aioresponses

from kling_async import (
    InvalidRequestError,
    KlingClient,
    RetryPolicy,
    TaskMismatchError,
    TaskNotFoundError,
    TextToVideo,
)
from kling_async.simulator import Simulator
from tests.conftest import ACCESS_KEY, SECRET_KEY

BASE = "http://kling.test"
T2V = f"{BASE}/v1/videos/text2video"


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": "r", "data": data}


def task(task_id: str = "42", ext: str | None = "job-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"task_id": task_id, "task_status": "processing", **extra}
    body["task_info"] = {"external_task_id": ext} if ext is not None else {}
    return body


@pytest.fixture
async def client() -> AsyncIterator[KlingClient]:
    c = KlingClient(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        base_url=BASE,
        retry=RetryPolicy.disabled(),
    )
    yield c
    await c.aclose()


async def test_both_ids_use_the_documented_path_form(client: KlingClient) -> None:
    """By task id and by external id alike: GET {path}/{id}, never ?external_task_id=."""
    with aioresponses() as mock:
        mock.get(f"{T2V}/42", payload=ok(task()))
        mock.get(f"{T2V}/job-1", payload=ok(task()))
        a = await client.get_task("text2video", task_id="42")
        b = await client.get_task("text2video", external_task_id="job-1")
        urls = [str(url) for (_, url) in mock.requests]
    assert a.task_id == b.task_id == "42"
    assert urls == [f"{T2V}/42", f"{T2V}/job-1"]


async def test_external_ids_are_quoted_into_one_path_segment(client: KlingClient) -> None:
    """An external id with '/', '?', '#' or spaces stays one segment of the path."""
    odd = "batch/7?x#y z"
    with aioresponses() as mock:
        mock.get(f"{T2V}/batch%2F7%3Fx%23y%20z", payload=ok(task(ext=odd)))
        found = await client.get_task("text2video", external_task_id=odd)
    assert found.external_task_id == odd


NOT_FOUND_ANSWERS = [
    (400, {"code": 1201, "message": "Task not found by id/external id: x", "request_id": "r"}),
    (400, {"code": 1201, "message": "TASK NOT FOUND"}),  # case-insensitive, no request_id
    (404, {"code": 1203, "message": "requested resource does not exist", "request_id": "r"}),
    (200, {"code": 1203, "message": "resource does not exist"}),
    (404, "<html>404 Not Found</html>"),
]


@pytest.mark.parametrize(("status", "body"), NOT_FOUND_ANSWERS)
async def test_not_found_answers_become_task_not_found(
    client: KlingClient, status: int, body: Any
) -> None:
    """1201 'Task not found…', 1203 and HTTP 404 all mean: no such task."""
    with aioresponses() as mock:
        if isinstance(body, dict):
            mock.get(f"{T2V}/x", status=status, payload=body)
        else:
            mock.get(f"{T2V}/x", status=status, body=body)
        with pytest.raises(TaskNotFoundError, match="external_task_id='x'"):
            await client.get_task("text2video", external_task_id="x")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"code": 1201, "message": "invalid parameter: task_id", "request_id": "r"}),
        (400, {"code": 1201, "message": "External_task_id x already exists"}),
        (404, {"code": 1202, "message": "invalid request method"}),
    ],
)
async def test_other_1201_and_1202_stay_bad_requests(
    client: KlingClient, status: int, body: dict[str, Any]
) -> None:
    """Any 1201 that is not 'Task not found' (and a wrong method) is a real error."""
    with aioresponses() as mock:
        mock.get(f"{T2V}/x", status=status, payload=body)
        with pytest.raises(InvalidRequestError) as caught:
            await client.get_task("text2video", task_id="x")
    assert not isinstance(caught.value, TaskNotFoundError)


MISMATCHES: list[tuple[dict[str, str], Any]] = [
    ({"task_id": "42"}, task(task_id="43")),
    ({"external_task_id": "job-1"}, task(ext="job-2")),
    ({"external_task_id": "job-1"}, task(ext=None)),
    ({"external_task_id": "job-1"}, {"task_id": "42", "task_status": "succeed"}),
    ({"task_id": "42", "external_task_id": "job-1"}, task(ext="job-2")),
    ({"task_id": "42", "external_task_id": "job-1"}, task(task_id="43")),
    # What a list endpoint that ignores ?external_task_id= answers: other tasks.
    ({"external_task_id": "job-1"}, [task("7", "other-a"), task("8", "other-b")]),
    ({"external_task_id": "job-1"}, []),
]


@pytest.mark.parametrize(("asked", "answer"), MISMATCHES)
async def test_an_answer_naming_another_task_is_never_adopted(
    client: KlingClient, asked: dict[str, str], answer: Any
) -> None:
    """Every lookup answer is checked against what was asked; a mismatch raises."""
    segment = asked.get("task_id") or asked["external_task_id"]
    with aioresponses() as mock:
        mock.get(f"{T2V}/{segment}", payload=ok(answer))
        with pytest.raises(TaskMismatchError, match="not adopted"):
            await client.get_task("text2video", **asked)


async def test_task_id_lookup_accepts_an_answer_without_task_info(client: KlingClient) -> None:
    """Asked by task id (and external id), an answer without task_info is taken on its id."""
    with aioresponses() as mock:
        mock.get(f"{T2V}/42", payload=ok({"task_id": "42", "task_status": "submitted"}))
        mock.get(f"{T2V}/42", payload=ok({"task_id": 42, "task_status": "submitted"}))
        a = await client.get_task("text2video", task_id="42", external_task_id="job-1")
        b = await client.get_task("text2video", task_id="42")
    assert a.task_id == b.task_id == "42"


async def test_a_list_answer_yields_only_the_task_asked_for(client: KlingClient) -> None:
    """If a list comes back anyway, only the item that names our id is taken."""
    page = [task("7", "other"), task("42", "job-1"), task("9", "job-11")]
    with aioresponses() as mock:
        mock.get(f"{T2V}/job-1", payload=ok(page))
        found = await client.get_task("text2video", external_task_id="job-1")
    assert (found.task_id, found.external_task_id) == ("42", "job-1")


# -- against the simulator (live-like by default) ----------------------------------------


async def test_simulator_lookups_by_task_id_and_external_id() -> None:
    """Live behaviour: the path form finds by either id; unknown ids are 400/1201."""
    async with (
        Simulator(access_key=ACCESS_KEY, secret_key=SECRET_KEY, time_scale=100) as sim,
        sim.client() as client,
    ):
        created = await client.create(TextToVideo(prompt="fox"), external_task_id="job-7")
        by_id = await client.get_task("text2video", task_id=created.task_id)
        by_ext = await client.get_task("text2video", external_task_id="job-7")
        odd = await client.create(TextToVideo(prompt="fox"), external_task_id="b/7?x#y z%2F")
        by_odd = await client.get_task("text2video", external_task_id="b/7?x#y z%2F")
        with pytest.raises(TaskNotFoundError) as missing:
            await client.get_task("text2video", external_task_id="never-made")
        with pytest.raises(TaskNotFoundError):
            await client.get_task("text2video", task_id="860000000000099999")
        with pytest.raises(TaskNotFoundError):  # another family's task on the wrong path
            await client.get_task("image2video", external_task_id="job-7")
    assert by_id.task_id == by_ext.task_id == created.task_id
    assert by_ext.external_task_id == "job-7"
    assert by_odd.task_id == odd.task_id and by_odd.external_task_id == "b/7?x#y z%2F"
    assert (missing.value.http_status, missing.value.code) == (400, 1201)
    assert "Task not found by id/external id: never-made" in missing.value.message


async def test_simulator_1203_style_is_read_as_not_found_too() -> None:
    """The older 404/1203 reading still means not found (defensive)."""
    async with (
        Simulator(access_key=ACCESS_KEY, secret_key=SECRET_KEY, not_found="1203") as sim,
        sim.client() as client,
    ):
        with pytest.raises(TaskNotFoundError) as missing:
            await client.get_task("text2video", external_task_id="nope")
    assert (missing.value.http_status, missing.value.code) == (404, 1203)
