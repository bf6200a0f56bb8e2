"""The promises hold against a simulator that answers like live Kling (its defaults):
unknown ids are 400/1201 "Task not found…", lookups use the path form, a list path
ignores ``?external_task_id=``, duplicate external ids are refused, and answers take
every shape live Kling was seen to send.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from kling_async import (
    BackoffPolicy,
    ExternalIdInUseError,
    InvalidRequestError,
    KlingClient,
    PollPolicy,
    RetryPolicy,
    TaskHandle,
    TextToVideo,
    UnknownModelWarning,
)
from kling_async.batch import Journal, load_jobs, resume_batch
from kling_async.batch._journal import external_id
from kling_async.simulator import Faults, Simulator
from tests._workload import mixed_requests

SCALE = 0.0005
DURATIONS = {"text2video": 100, "image_generation": 60, "virtual_try_on": 40}
T2V = "/v1/videos/text2video"


def make_sim(**kw: Any) -> Simulator:
    kw.setdefault("durations", DURATIONS)
    kw.setdefault("capacity", {"video": 4, "image": 6, "try_on": 1})
    return Simulator(time_scale=SCALE, seed=kw.pop("seed", 3), **kw)


def make_client(sim: Simulator, **kw: Any) -> KlingClient:
    kw.setdefault("capacity", {"video": 4, "image": 6, "try_on": 1})
    kw.setdefault("poll", PollPolicy.scaled(SCALE * 0.4))
    kw.setdefault("backoff", BackoffPolicy(initial=0.02, max_delay=0.2, max_retry_after=0.2))
    kw.setdefault("retry", RetryPolicy(max_attempts=5, initial_delay=0.005, max_delay=0.05))
    return sim.client(**kw)


def assert_each_handle_has_its_own_task(sim: Simulator, handles: list[TaskHandle]) -> None:
    """Ground truth: the task a handle resolved with is the one the simulator made for
    that handle's external id, and no external id was created twice."""
    for handle in handles:
        truth = sim.core.external[handle.external_task_id]
        assert handle.task_id == truth.task_id, handle
        assert handle.task is not None and handle.task.task_id == truth.task_id
    assert sim.stats.duplicate_creates == {}


async def test_lost_answers_of_tasks_never_created_are_created_once_and_resolve() -> None:
    """A create dropped before Kling made the task: the lookup answers 400/1201 'Task not
    found', which is read as not found (not a bad request), and the task is created once."""
    faults = Faults(drop_before_create_rate=1.0)
    async with make_sim(faults=faults) as sim, make_client(sim) as client:
        handles = [client.submit(TextToVideo(prompt=f"p{i}")) for i in range(6)]
        while sim.stats.dropped_before_create < 4:
            await asyncio.sleep(0.001)
        sim.set_faults(drop_before_create_rate=0.0)
        results = await asyncio.wait_for(asyncio.gather(*handles), 30)
    assert all(task.succeeded for task in results)
    assert sim.stats.dropped_before_create >= 4
    assert set(sim.stats.creates_by_external_id.values()) == {1}
    assert sim.stats.total_creates == 6
    assert_each_handle_has_its_own_task(sim, handles)


async def test_lost_answers_of_created_tasks_are_adopted_never_created_twice() -> None:
    """Dropped create answers (task made) among other clients' tasks: each handle adopts
    exactly its own task, checked against the simulator's ground truth."""
    faults = Faults(drop_after_create_rate=0.5, server_error_rate=0.05, latency=0.002)
    room = {"video": 30, "image": 6, "try_on": 1}  # the others' tasks take 20 video slots
    async with make_sim(faults=faults, capacity=room) as sim, make_client(sim) as client:
        for i in range(20):  # other tasks on the same paths, with other external ids
            sim.inject_task(T2V, {"prompt": "theirs", "external_task_id": f"theirs-{i}"})
            await asyncio.sleep(0.002)
        handles = [client.submit(r) for r in mixed_requests(80, seed=7)]
        results = await asyncio.wait_for(asyncio.gather(*handles), 60)
    assert [type(r).__name__ for r in results] == ["Task"] * 80
    assert sim.stats.dropped_connections > 10
    assert_each_handle_has_its_own_task(sim, handles)


async def test_query_parameter_lookups_would_adopt_others_so_none_are_made() -> None:
    """The list path ignores ?external_task_id= (it answers other tasks); the client never
    sends that form, so nothing but the path form reaches the simulator."""
    faults = Faults(drop_after_create_rate=1.0)
    async with make_sim(faults=faults) as sim, make_client(sim) as client:
        sim.inject_task(T2V, {"prompt": "theirs", "external_task_id": "theirs"})
        handle = client.submit(TextToVideo(prompt="mine"), external_task_id="mine")
        while sim.stats.dropped_connections < 1:
            await asyncio.sleep(0.001)
        sim.set_faults(drop_after_create_rate=0.0)
        await asyncio.wait_for(handle, 30)
    assert_each_handle_has_its_own_task(sim, [handle])
    endpoints = sim.stats.requests_by_endpoint
    assert endpoints[f"GET {T2V}/{{task_id}}"] >= 1  # the lookup of the lost answer


async def test_duplicate_external_id_refusal_adopts_the_existing_task() -> None:
    """400/1201 'External_task_id … already exists': the earlier task is looked up and
    adopted, nothing is created again."""
    async with make_sim() as sim, make_client(sim) as client:
        earlier = sim.inject_task(T2V, {"prompt": "p", "external_task_id": "job-1"})
        task = await asyncio.wait_for(
            client.text_to_video(prompt="p", external_task_id="job-1"), 30
        )
    assert task.task_id == earlier.task_id
    assert sim.stats.creates_by_external_id["job-1"] == 1


async def test_duplicate_of_another_family_fails_clearly_and_creates_nothing() -> None:
    """The id namespace is account-wide: an id taken by a video task refuses an image
    create; the lookup on the image path finds nothing, so the handle fails (never
    re-created, never stuck) with ExternalIdInUseError quoting Kling's message."""
    async with make_sim() as sim, make_client(sim) as client:
        sim.inject_task(T2V, {"prompt": "p", "external_task_id": "shared-id"})
        with pytest.raises(ExternalIdInUseError, match="already exists"):
            await asyncio.wait_for(
                client.image_generation(prompt="p", external_task_id="shared-id"), 30
            )
        stats = client.stats()
    assert sim.stats.creates_by_external_id["shared-id"] == 1
    assert stats.packs["image"].in_use == 0


async def test_resume_against_a_fresh_server_never_adopts_another_jobs_task(
    tmp_path: Path,
) -> None:
    """Journal rows from an earlier server; a fresh one reuses their task ids for other
    tasks. 'created' rows whose id now names another task are failed, not adopted;
    'creating' rows are looked up by external id and created."""
    out = tmp_path / "out"
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        "".join(
            json.dumps({"id": f"j{i}", "family": "text2video", "params": {"prompt": f"p{i}"}})
            + "\n"
            for i in range(4)
        )
    )
    journal = Journal.open(out, create=True)
    batch_id = journal.start_batch(load_jobs(jobs), source="test")
    async with make_sim(durations={"text2video": 200}) as fresh:
        others = [
            fresh.inject_task(T2V, {"prompt": "other", "external_task_id": f"other-{i}"})
            for i in range(2)
        ]
        # As the earlier server numbered them: the same ids the fresh one gave others.
        await journal.mark_creating("j0")
        await journal.mark_created("j0", others[0].task_id)
        await journal.mark_creating("j1")
        await journal.mark_created("j1", others[1].task_id)
        await journal.mark_creating("j2")
        journal.close()
        await resume_batch(
            out,
            base_url=fresh.base_url,
            access_key=fresh.access_key,
            secret_key=fresh.secret_key,
            capacity={"video": 4},
            poll=PollPolicy.scaled(SCALE),
            retry=RetryPolicy(initial_delay=0.005, max_delay=0.05),
        )
    check = Journal.open(out, create=False, read_only=True)
    rows = {r.job_id: r for r in check.rows()}
    check.close()
    for job in ("j0", "j1"):
        assert rows[job].state == "failed" and "not adopted" in (rows[job].reason or "")
    for job in ("j2", "j3"):
        assert rows[job].state == "downloaded"
        truth = fresh.core.external[external_id(batch_id, job)]
        assert rows[job].task_id == truth.task_id
    theirs = {t.task_id for t in others}
    assert all(r.task_id not in theirs for r in rows.values() if r.state == "downloaded")
    assert fresh.stats.duplicate_creates == {}


async def test_an_unknown_model_is_sent_and_the_server_has_the_last_word() -> None:
    """A model name the client does not know: warned, sent as given; the simulator (like
    Kling) refuses it with 1201, which fails the handle at once and frees the slot."""
    async with make_sim() as sim, make_client(sim) as client:
        with pytest.warns(UnknownModelWarning, match="kling-v7-preview"):
            request = TextToVideo(model_name="kling-v7-preview", prompt="fox", duration=12)
        with pytest.raises(InvalidRequestError, match="kling-v7-preview"):
            await asyncio.wait_for(client.run(request), 30)
        stats = client.stats()
    assert sim.stats.requests_by_endpoint[f"POST {T2V}"] == 1
    assert sim.stats.total_creates == 0 and stats.packs["video"].in_use == 0


async def test_api_key_and_jwt_both_work_on_v1(monkeypatch: pytest.MonkeyPatch) -> None:
    """A console API key (argument or KLING_API_KEY) and AK/SK JWTs both run /v1 tasks."""
    key = "console-api-key-0123456789abcdefghijklmnop"
    async with make_sim(api_key=key) as sim:
        async with KlingClient(
            api_key=key, base_url=sim.base_url, poll=PollPolicy.scaled(SCALE)
        ) as by_key:
            a = await asyncio.wait_for(by_key.text_to_video(prompt="a"), 30)
        monkeypatch.setenv("KLING_API_KEY", key)
        async with KlingClient(base_url=sim.base_url, poll=PollPolicy.scaled(SCALE)) as by_env:
            b = await asyncio.wait_for(by_env.image_generation(prompt="b", n=2), 30)
        async with make_client(sim) as by_jwt:
            c = await asyncio.wait_for(by_jwt.text_to_video(prompt="c"), 30)
    assert a.succeeded and b.succeeded and c.succeeded
    assert "api_key" in repr(by_env) and key not in repr(by_env)


async def test_job_files_refuse_misspelled_fields_and_send_extra_body(tmp_path: Path) -> None:
    """A misspelled field in a job file is refused before anything is sent, naming the
    closest field; extra_body in params reaches Kling as given."""
    from kling_async.batch import JobFileError, run_batch

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"id": "a", "family": "text2video", "params": {"prompt": "p", "duraton": 10}})
        + "\n"
    )
    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps(
            {
                "id": "a",
                "family": "text2video",
                "params": {"prompt": "p", "extra_body": {"new_knob": "x"}},
            }
        )
        + "\n"
    )
    kwargs: dict[str, Any] = {"poll": PollPolicy.scaled(SCALE), "capacity": {"video": 2}}
    async with make_sim() as sim:
        kwargs.update(base_url=sim.base_url, access_key=sim.access_key, secret_key=sim.secret_key)
        with pytest.raises(JobFileError, match="did you mean 'duration'"):
            await run_batch(bad, tmp_path / "out-bad", **kwargs)
        assert sim.stats.total_requests == 0
        await run_batch(good, tmp_path / "out", **kwargs)
    (task,) = sim.core.tasks.values()
    assert task.params["new_knob"] == "x" and "extra_body" not in task.params
