"""The 2026 design end to end, against the simulator over loopback HTTP: one account,
one scheduler for both designs, ``/tasks`` lookups and polling, callbacks in the new
shape, API key only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kling_async import (
    APIKeyRequiredError,
    Design,
    FirstFrame,
    ImageGeneration,
    ImageToVideo2026,
    KlingClient,
    PollPolicy,
    RetryPolicy,
    TaskNotFoundError,
    TaskStatus,
    TextToVideo,
    TextToVideo2026,
    VideoSettings,
)
from kling_async.batch import run_batch
from kling_async.simulator import Faults, Simulator
from tests._batchkit import job_states, sim_kwargs, write_jobs
from tests.test_callbacks import SECRET, service, settle

SCALE = 0.002
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01)


def turbo(i: int, **changes: Any) -> TextToVideo2026:
    return TextToVideo2026(
        model="kling-3.0-turbo", prompt=f"a fox {i}", settings=VideoSettings(duration=3), **changes
    )


async def raw(sim: Simulator, method: str, path: str, token: str, **kw: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, sim.base_url + path, headers={"Authorization": f"Bearer {token}"}, **kw
        ) as response,
    ):
        return response.status, await response.json()


def jwt_of(sim: Simulator) -> str:
    client = sim.client()
    token = client.transport.credentials.primary.bearer()
    return token


# -- credentials --------------------------------------------------------------------


async def test_a_jwt_on_2026_paths_gets_the_documented_refusal() -> None:
    """Live (C1): an AK/SK JWT on a 2026 path -> HTTP 401, 1002, the documented text;
    the same JWT still works on /v1."""
    async with Simulator(time_scale=SCALE) as sim:
        token = jwt_of(sim)
        body = {"prompt": "x", "options": {"external_task_id": "e1"}}
        status, answer = await raw(sim, "POST", "/text-to-video/kling-3.0", token, json=body)
        assert status == 401 and answer["code"] == 1002
        assert answer["message"] == (
            "Authentication error. The current API does not support AK/SK; please go to the "
            "console (https://kling.ai/dev/api-key) to create API key."
        )
        status, answer = await raw(sim, "GET", "/tasks?task_ids=1", token)
        assert (status, answer["code"]) == (401, 1002)
        status, answer = await raw(sim, "GET", "/v1/videos/text2video?pageNum=1", token)
        assert (status, answer["code"]) == (200, 0)
        assert sim.stats.total_creates == 0


async def test_an_ak_sk_only_client_is_refused_before_any_request() -> None:
    """Every 2026-design call with only an AK/SK pair raises APIKeyRequiredError and
    nothing reaches the network; /v1 calls still work."""
    async with Simulator(time_scale=SCALE) as sim, sim.client() as client:
        request = turbo(1)
        with pytest.raises(APIKeyRequiredError, match="KLING_API_KEY") as info:
            client.submit(request)
        assert sim.access_key not in str(info.value) and sim.secret_key not in str(info.value)
        with pytest.raises(APIKeyRequiredError):
            await client.text_to_video_2026(request)
        with pytest.raises(APIKeyRequiredError):
            await client.create(request)
        with pytest.raises(APIKeyRequiredError):
            await client.get_task("text_to_video_2026", task_id="1")
        with pytest.raises(APIKeyRequiredError):
            await client.attach("omni_video_2026", external_task_id="e")
        with pytest.raises(APIKeyRequiredError):
            await client.query_tasks(task_ids=["1"])
        with pytest.raises(APIKeyRequiredError):
            await client.tasks_page()
        assert client.transport.request_count == 0
        assert sim.stats.total_requests == 0
        video = client.stats().packs.get("video")
        assert video is None or video.queued == 0


async def test_ak_sk_for_v1_and_kling_api_key_for_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    """With an AK/SK pair and KLING_API_KEY, /v1 is signed with the JWT and the 2026
    paths send the key: both run on one client."""
    async with Simulator(time_scale=SCALE) as sim:
        monkeypatch.setenv("KLING_API_KEY", sim.api_key)
        async with sim.client(poll=PollPolicy.scaled(SCALE), retry=FAST) as client:
            a, b = await asyncio.gather(
                client.submit(turbo(1)), client.submit(TextToVideo(prompt="cat"))
            )
        assert a.succeeded and a.design == "2026" and b.succeeded and b.design is Design.V1


# -- GET /tasks -----------------------------------------------------------------------


async def test_get_tasks_cap_unknown_ids_and_v1_tasks() -> None:
    """Live (C5): 21 ids -> 400/1201 with the live message; unknown ids -> data [];
    /v1 tasks are answered as records too."""
    async with Simulator(time_scale=SCALE) as sim:
        ids = ",".join(str(i) for i in range(21))
        status, answer = await raw(sim, "GET", f"/tasks?task_ids={ids}", sim.api_key)
        assert (status, answer["code"]) == (400, 1201)
        assert answer["message"] == "task_ids and external_task_ids cannot exceed 20 in total"
        half = ",".join(str(i) for i in range(11))
        status, answer = await raw(
            sim, "GET", f"/tasks?task_ids={half}&external_task_ids={half}", sim.api_key
        )
        assert (status, answer["code"]) == (400, 1201)
        status, answer = await raw(sim, "GET", "/tasks?task_ids=nope,1", sim.api_key)
        assert (status, answer["code"], answer["data"]) == (200, 0, [])
        async with sim.client(auth="api_key", poll=PollPolicy.scaled(SCALE)) as client:
            v1 = await client.submit(TextToVideo(prompt="cat"), external_task_id="old-1")
            found = await client.query_tasks(external_task_ids=["old-1", "nobody"])
        assert [t.task_id for t in found] == [v1.task_id]
        assert found[0].task_status is TaskStatus.SUCCEED and found[0].design == "2026"
        assert found[0].result_urls() == v1.result_urls()


async def test_query_tasks_splits_into_twenties_and_checks_before_the_network() -> None:
    async with (
        Simulator(time_scale=SCALE) as sim,
        sim.client(auth="api_key", poll=PollPolicy.scaled(SCALE)) as client,
    ):
        with pytest.raises(ValueError, match="at least one id"):
            await client.query_tasks()
        with pytest.raises(ValueError, match="without commas"):
            await client.query_tasks(task_ids=["a,b"])
        from kling_async.wire._tasks_query import TasksQuery

        with pytest.raises(ValueError, match="at most 20"):
            await TasksQuery(client.transport).query(task_ids=[str(i) for i in range(21)])
        with pytest.raises(ValueError, match="not both"):
            await TasksQuery(client.transport).query(task_ids=["1"], external_task_ids=["2"])
        assert sim.stats.total_requests == 0
        found = await client.query_tasks(task_ids=[str(i) for i in range(45)])
        assert found == []
        assert sim.stats.requests_by_endpoint["GET /tasks"] == 3


async def test_lookups_of_2026_tasks_go_through_tasks_and_check_ids() -> None:
    async with (
        Simulator(time_scale=SCALE) as sim,
        sim.client(auth="api_key", poll=PollPolicy.scaled(SCALE)) as client,
    ):
        created = await client.create(turbo(1), external_task_id="job-1")
        assert created.task_status is TaskStatus.SUBMITTED and created.external_task_id == "job-1"
        by_ext = await client.get_task("text_to_video_2026", external_task_id="job-1")
        by_id = await client.get_task("text_to_video_2026", task_id=created.task_id)
        assert by_ext.task_id == by_id.task_id == created.task_id
        with pytest.raises(TaskNotFoundError, match="nobody"):
            await client.get_task("text_to_video_2026", external_task_id="nobody")
        handle = await client.attach("text_to_video_2026", external_task_id="job-1")
        task = await handle
        assert task.succeeded and task.task_id == created.task_id
        with pytest.raises(ValueError, match="no list endpoint"):
            await client.list_page("text_to_video_2026")


# -- one scheduler for both designs -------------------------------------------------


async def test_a_mixed_workload_with_lost_answers_never_exceeds_capacity_or_repeats() -> None:
    """/v1 and 2026 tasks share the video pack; creates whose answers are lost are
    resolved by external id through GET /tasks (2026) or the path form (/v1); every
    external id is created once and the pack never holds more than its capacity."""
    faults = Faults(drop_after_create_rate=0.25, server_error_rate=0.05)
    capacity = {"video": 3, "image": 4}
    async with (
        Simulator(time_scale=SCALE, capacity=capacity, faults=faults, seed=3) as sim,
        sim.client(
            auth="api_key", capacity=capacity, poll=PollPolicy.scaled(SCALE), retry=FAST
        ) as client,
    ):
        handles = [client.submit(turbo(i)) for i in range(10)]
        handles += [client.submit(TextToVideo(prompt=f"cat {i}")) for i in range(6)]
        handles += [
            client.submit(
                ImageToVideo2026(
                    model="kling-3.0",
                    prompt=f"smile {i}",
                    contents=[FirstFrame(url="https://example.com/a.png")],
                    settings=VideoSettings(multi_shot=False),
                )
            )
            for i in range(4)
        ]
        handles += [client.submit(ImageGeneration(prompt=f"img {i}", n=2)) for i in range(3)]
        tasks = await asyncio.wait_for(asyncio.gather(*handles), 60)
        stats = client.stats()
    assert all(t.succeeded for t in tasks)
    assert sim.stats.dropped_connections > 0, "the fault must have fired"
    assert sim.stats.duplicate_creates == {}
    assert sim.stats.max_in_use["video"] <= 3 and sim.stats.max_in_use["image"] <= 4
    ext_ids = [h.external_task_id for h in handles]
    assert len(set(ext_ids)) == len(tasks)
    assert all(sim.stats.creates_by_external_id[e] == 1 for e in ext_ids)
    assert sim.stats.requests_by_endpoint["GET /tasks"] >= stats.tracker.tasks_requests > 0
    assert {t.design for t in tasks[:10]} == {"2026"}


async def test_a_lost_create_answer_is_resolved_by_external_id_through_tasks() -> None:
    """Every create answer is lost: the client asks GET /tasks?external_task_ids=
    (never POSTs again) and follows the task it finds to the end."""
    async with (
        Simulator(time_scale=SCALE, faults=Faults(drop_after_create_rate=1.0)) as sim,
        sim.client(auth="api_key", poll=PollPolicy.scaled(SCALE), retry=FAST) as client,
    ):
        tasks = await asyncio.wait_for(
            asyncio.gather(*(client.submit(turbo(i), external_task_id=f"job-{i}")
                             for i in range(3))), 20)  # fmt: skip
        polled = client.stats().tracker.tasks_requests
        lookups = sim.stats.requests_by_endpoint["GET /tasks"] - polled
    assert [t.external_task_id for t in tasks] == ["job-0", "job-1", "job-2"]
    assert all(t.succeeded for t in tasks)
    assert sim.stats.requests_by_endpoint["POST /text-to-video/{model}"] == 3
    assert dict(sim.stats.creates_by_external_id) == {"job-0": 1, "job-1": 1, "job-2": 1}
    assert lookups >= 3, "each lost answer was resolved by one external-id lookup"


async def test_more_than_twenty_2026_tasks_in_flight_are_polled_twenty_ids_a_request() -> None:
    """25 tasks in flight: every poll asks GET /tasks with at most 20 ids (the
    simulator refuses 21 with 1201, which would fail the poll); no other query."""
    async with (
        Simulator(time_scale=SCALE, capacity={"video": 30}, duration_spread=0.0) as sim,
        sim.client(auth="api_key", capacity={"video": 30}, poll=PollPolicy.scaled(SCALE)) as client,
    ):  # fmt: skip
        tasks = await asyncio.gather(*(client.submit(turbo(i)) for i in range(25)))
        stats = client.stats().tracker
    assert all(t.succeeded for t in tasks)
    assert stats.failed_polls == 0 and stats.single_requests == 0 and stats.list_requests == 0
    asked = sim.stats.requests_by_endpoint["GET /tasks"]
    assert asked == stats.tasks_requests and asked >= 2
    assert asked % 2 == 0, "25 tasks take two requests per poll while more than 20 run"
    assert sim.stats.max_in_use["video"] == 25


async def test_v1_tasks_are_polled_through_tasks_when_an_api_key_is_there() -> None:
    """Tasks no list page covers (here: lists turned off) go 20 to a GET /tasks
    instead of one query each; /v1's 'succeed' read through /tasks."""
    poll = PollPolicy.scaled(SCALE, list_threshold=1000)
    async with Simulator(time_scale=SCALE, duration_spread=0.0) as sim:
        async with sim.client(auth="api_key", poll=poll) as client:
            with_key = await asyncio.gather(*(client.submit(TextToVideo(prompt=f"{i}"))
                                              for i in range(4)))  # fmt: skip
            keyed = client.stats().tracker
        async with sim.client(poll=poll) as client:
            await asyncio.gather(*(client.submit(TextToVideo(prompt=f"{i}")) for i in range(4)))
            jwt = client.stats().tracker
    assert all(t.succeeded for t in with_key)
    assert keyed.single_requests == 0 and keyed.tasks_requests > 0
    assert jwt.tasks_requests == 0 and jwt.single_requests >= 4
    assert keyed.tasks_requests < jwt.single_requests


# -- POST /tasks -------------------------------------------------------------------------


async def test_post_tasks_pages_with_a_cursor_and_filters() -> None:
    async with (
        Simulator(time_scale=SCALE) as sim,
        sim.client(auth="api_key", poll=PollPolicy.scaled(SCALE)) as client,
    ):
        await asyncio.gather(*(client.submit(turbo(i)) for i in range(4)))
        await asyncio.gather(*(client.submit(ImageGeneration(prompt=f"{i}")) for i in range(3)))
        first = await client.tasks_page(limit=3)
        assert len(first.tasks) == 3 and first.has_more and first.next_cursor
        seen = [t.task_id async for page in client.iter_tasks_pages(limit=3) for t in page.tasks]
        assert len(seen) == len(set(seen)) == 7
        images = await client.tasks_page(product_type=["image"])
        assert len(images.tasks) == 3 and not images.has_more
        done = await client.tasks_page(status=["succeeded"], product_type=["video"])
        assert len(done.tasks) == 4 and all(t.succeeded for t in done.tasks)
        empty = await client.tasks_page(start_time=0, end_time=1)
        assert empty.tasks == [] and empty.has_more is False
        before = sim.stats.total_requests
        for bad in ({"limit": 501}, {"product_type": ["try-on"]}, {"status": ["succeed"]},
                    {"start_time": 5, "end_time": 1}):  # fmt: skip
            with pytest.raises(ValueError):
                await client.tasks_page(**bad)
        assert sim.stats.total_requests == before


# -- the simulator's own validation --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/omni-video/kling-3.0-omni", {"prompt": "x", "model_name": "kling-v3-omni"},
         "contents cannot be empty"),
        ("/omni-video/kling-o1", {"contents": [{"type": "prompt", "text": "x"}],
                                  "settings": {"aspect_ratio": "1:1", "duration": 7}},
         "Duration only supports 5 or 10 seconds when no refer_image is provided"),
        ("/text-to-video/kling-3.0", {"prompt": "x", "settings": {"duration": "5"}},
         "duration must be an integer"),
        ("/text-to-video/kling-3.0-turbo", {"prompt": "x", "settings": {"audio": "native"}},
         "audio is not supported by this model"),
        ("/text-to-video/kling-2.6", {"prompt": "x", "settings": {"audio": "native"}},
         "native audio requires resolution 1080p"),
        ("/image-to-video/kling-3.0", {"contents": [{"type": "prompt", "text": "x"}]},
         "first_frame is required"),
        ("/motion-control/kling-3.0", {"contents": [{"type": "image", "url": "https://e/a.png"},
                                                    {"type": "video", "url": "https://e/v.mp4"}]},
         "character_orientation is required"),
        ("/text-to-video/kling-9", {"prompt": "x"}, "model kling-9 is not supported"),
        ("/text-to-video/kling-3.0", {"prompt": "x", "negative_prompt": "y"},
         "negative_prompt is not supported"),
    ],
)  # fmt: skip
async def test_the_simulator_validates_2026_bodies_on_its_own(
    path: str, body: dict[str, Any], message: str
) -> None:
    async with Simulator(time_scale=SCALE) as sim:
        status, answer = await raw(sim, "POST", path, sim.api_key, json=body)
    assert (status, answer["code"]) == (400, 1201)
    assert message in answer["message"]
    assert sim.stats.total_creates == 0


async def test_one_external_id_namespace_across_designs() -> None:
    """An external id used on /v1 is refused on a 2026 path (1201, free), and the
    client resolves it to the existing task instead of failing or creating again."""
    async with Simulator(time_scale=SCALE) as sim:
        status, answer = await raw(
            sim, "POST", "/v1/videos/text2video", sim.api_key,
            json={"prompt": "x", "external_task_id": "shared"},
        )  # fmt: skip
        assert answer["code"] == 0
        status, answer = await raw(
            sim, "POST", "/text-to-video/kling-3.0", sim.api_key,
            json={"prompt": "x", "options": {"external_task_id": "shared"}},
        )  # fmt: skip
        assert (status, answer["code"]) == (400, 1201) and "already exists" in answer["message"]
        assert sim.stats.creates_by_external_id["shared"] == 1


# -- callbacks ---------------------------------------------------------------------------------


async def test_callbacks_in_the_2026_shape_resolve_tasks_without_polling() -> None:
    """Signed deliveries of task records (``id``, ``status: succeeded``, outputs)
    resolve 2026 handles; no query is sent."""
    async with (
        Simulator(time_scale=SCALE, webhook_secret=SECRET) as sim,
        service(sim, api_key=sim.api_key) as (client, _route),
    ):
        tasks = await asyncio.wait_for(asyncio.gather(*(client.submit(turbo(i))
                                                        for i in range(5))), 10)  # fmt: skip
        stats = client.stats().tracker
        await settle(lambda: sim.stats.callbacks_sent >= 15)
    assert all(t.succeeded and t.design == "2026" and t.result_urls() for t in tasks)
    assert stats.tasks_requests == 0 and stats.single_requests == 0


async def test_the_receiver_reads_both_callback_shapes() -> None:
    from kling_async._callbacks import CallbackReceiver

    seen: list[Any] = []

    async def apply(task: Any, *, signed: bool, trusted: bool) -> bool:
        seen.append(task)
        return True

    receiver = CallbackReceiver(apply, public_url="https://example.com/cb", token="t" * 24)
    legacy = {"task_id": "1", "task_status": "succeed", "task_info": {},
              "task_result": {"videos": [{"id": "v", "url": "https://x/v.mp4"}]}}  # fmt: skip
    record = {"id": "2", "status": "succeeded", "external_id": "e2",
              "outputs": [{"type": "video", "url": "https://x/w.mp4"}], "billing": []}  # fmt: skip
    console_test = {"id": "3", "status": "submitted", "outputs": [], "message": ""}
    for body in (legacy, record, console_test):
        result = await receiver.handle("t" * 24, json.dumps(body).encode(), {})
        assert result.status == 200
    assert [t.task_id for t in seen] == ["1", "2", "3"]
    assert seen[1].external_task_id == "e2" and seen[1].result_urls() == ["https://x/w.mp4"]
    assert seen[2].task_status is TaskStatus.SUBMITTED


# -- batch -------------------------------------------------------------------------------


async def test_a_batch_of_both_designs_runs_and_needs_a_key(tmp_path: Path) -> None:
    rows = [
        {"id": "t1", "family": "text_to_video_2026",
         "params": {"model": "kling-3.0-turbo", "prompt": "fox", "settings": {"duration": 3}}},
        {"id": "i1", "family": "ImageToVideo2026",
         "params": {"model": "kling-3.0", "contents": [{"type": "first_frame",
                    "url": "https://example.com/a.png"}], "settings": {"multi_shot": False}}},
        {"id": "v1", "family": "text2video", "params": {"prompt": "cat"}},
    ]  # fmt: skip
    jobs = write_jobs(tmp_path / "jobs.jsonl", rows)
    async with Simulator(time_scale=SCALE) as sim:
        with pytest.raises(APIKeyRequiredError, match="image_to_video_2026, text_to_video_2026"):
            await run_batch(jobs, tmp_path / "refused", **sim_kwargs(sim))
        assert not (tmp_path / "refused").exists() and sim.stats.total_requests == 0
        kwargs = sim_kwargs(sim, api_key=sim.api_key)
        del kwargs["access_key"], kwargs["secret_key"]
        out = await run_batch(jobs, tmp_path / "out", **kwargs)
    assert job_states(out) == {"t1": "downloaded", "i1": "downloaded", "v1": "downloaded"}
    assert sim.stats.duplicate_creates == {}
    report = json.loads((out / "report.json").read_text())
    by_family = {row["family"]: row for row in report["cost_families"]}
    turbo_row = by_family["text_to_video_2026"]
    assert turbo_row["estimated"] == pytest.approx(2.4) == turbo_row["deducted"]


def test_client_repr_and_errors_never_show_the_key() -> None:
    key = "sk-live-0123456789abcdef0123456789abcdef"
    client = KlingClient(api_key=key, base_url="http://127.0.0.1:9")
    assert key not in repr(client) and key not in repr(client.transport)


def test_the_cli_refuses_a_2026_batch_without_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kling-async batch run` with only an AK/SK pair: exit 2, the families and the
    way out named, no output folder, nothing sent (the base URL is a closed port)."""
    from kling_async.cli import main
    from tests._batchkit import closed_port_url
    from tests.conftest import ACCESS_KEY, SECRET_KEY

    examples = Path(__file__).parent.parent / "examples" / "jobs-2026.jsonl"
    code = main(
        [
            "batch", "run", str(examples), "--out", str(tmp_path / "o"), "--no-progress",
            "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
            "--base-url", closed_port_url(),
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "text_to_video_2026" in err and "--api-key" in err and "KLING_API_KEY" in err
    assert SECRET_KEY not in err and not (tmp_path / "o").exists()
