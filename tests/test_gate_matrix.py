"""Every public create path x every promise of the create gate, against the simulator.

Paths: ``submit``, ``run``, the family coroutine, the low-level ``create``, the
aiohttp service example (``POST /videos``, ``POST /videos/turbo``), a batch job.
Promises: over the budget (also through ``extra_body``) -> refused, nothing sent;
unpriced ``extra_body`` under a budget -> refused; a bad request -> refused, nothing
sent; a 2026 request without an API key -> refused, nothing sent; a closed client ->
refused, nothing sent; a lost create answer -> exactly one task. A new path that
skips a step of the gate fails here.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from kling_async import (
    APIKeyRequiredError,
    BudgetExceededError,
    ClientClosedError,
    CostPolicy,
    CreateOutcomeUnknownError,
    KlingClient,
    KlingRequest,
    PollPolicy,
    TextToVideo,
    TextToVideo2026,
    UnpricedRequestError,
    UsageError,
    VideoSettings,
)
from kling_async.batch import run_batch
from kling_async.batch._costs import BudgetRefusedError
from kling_async.batch._run import CostOptions
from kling_async.endpoints import family
from kling_async.simulator import Simulator
from tests._batchkit import sim_kwargs, write_jobs
from tests.test_services import load_example

SCALE = 0.002

Path_ = Callable[[KlingClient, KlingRequest, str | None], Awaitable[Any]]


async def _submit(client: KlingClient, request: KlingRequest, ext: str | None) -> Any:
    return await client.submit(request, external_task_id=ext)


async def _run(client: KlingClient, request: KlingRequest, ext: str | None) -> Any:
    return await client.run(request, external_task_id=ext)


async def _method(client: KlingClient, request: KlingRequest, ext: str | None) -> Any:
    method = getattr(client, family(request.family).method or "")
    return await method(request, external_task_id=ext)


async def _create(client: KlingClient, request: KlingRequest, ext: str | None) -> Any:
    return await client.create(request, external_task_id=ext)


CLIENT_PATHS: dict[str, Path_] = {
    "submit": _submit,
    "run": _run,
    "family method": _method,
    "create": _create,
}


def _sim(**kwargs: Any) -> Simulator:
    return Simulator(time_scale=SCALE, live_shapes=False, **kwargs)


def _client(sim: Simulator, **changes: Any) -> KlingClient:
    kwargs: dict[str, Any] = {
        "base_url": sim.base_url,
        "api_key": sim.api_key,
        "capacity": {"video": 3, "image": 4},
        "poll": PollPolicy.scaled(SCALE),
    }
    kwargs.update(changes)
    return KlingClient(**kwargs)


def _creates_sent(sim: Simulator) -> int:
    """Create calls that reached the simulator (any family, either design)."""
    return sum(
        n
        for key, n in sim.stats.requests_by_endpoint.items()
        if key.startswith("POST ") and key != "POST /tasks"
    )


TURBO = {"model": "kling-3.0-turbo", "prompt": "a fox", "settings": VideoSettings(duration=3)}
OVERRIDE = {"settings": {"duration": 15, "resolution": "1080p"}}
"""Typed: 3 s 720p Turbo (2.4 units); sent: 15 s 1080p (15 units)."""


@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_over_the_budget_nothing_is_sent(path: str) -> None:
    async with _sim() as sim:
        async with _client(sim, costs=CostPolicy(budget="video=5")) as client:
            with pytest.raises(BudgetExceededError):
                await CLIENT_PATHS[path](
                    client, TextToVideo(prompt="x", duration="10", mode="pro"), None
                )
            assert client.budget is not None
            assert client.budget.committed == {} and client.budget.spent == {}
        assert _creates_sent(sim) == 0 and sim.ledger() == []


@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_extra_body_is_priced_as_sent(path: str) -> None:
    """The estimate reads the wire body: an extra_body that raises the duration and the
    resolution is 15 units, not the typed 2.4, and a 5-unit budget refuses it."""
    request = TextToVideo2026(**TURBO, extra_body=OVERRIDE)
    async with _sim() as sim:
        async with _client(sim, costs=CostPolicy(budget="video=5")) as client:
            assert client.estimate(request).units == pytest.approx(15.0)
            with pytest.raises(BudgetExceededError, match="needs 15 video units"):
                await CLIENT_PATHS[path](client, request, None)
        assert _creates_sent(sim) == 0 and sim.ledger() == []


async def test_extra_body_estimate_matches_what_kling_bills() -> None:
    request = TextToVideo2026(**TURBO, extra_body=OVERRIDE)
    async with _sim() as sim:
        async with _client(sim, costs=CostPolicy(budget="video=20")) as client:
            task = await client.run(request)
            assert client.budget is not None
            assert client.budget.spent == {"video": pytest.approx(15.0)}
        assert float(task.final_unit_deduction or 0) == pytest.approx(15.0)
        assert [row["deduction_amount"] for row in sim.ledger()] == [15.0]


@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_unpriced_extra_body_is_refused_under_a_budget(path: str) -> None:
    request = TextToVideo(prompt="x", extra_body={"new_knob": 2})
    async with _sim() as sim:
        async with _client(sim, costs=CostPolicy(budget="video=50")) as client:
            est = client.estimate(request)
            assert est.uncertain and est.unpriced == ("new_knob",)
            with pytest.raises(UnpricedRequestError, match="new_knob"):
                await CLIENT_PATHS[path](client, request, None)
        async with _client(sim) as free:  # without a budget it is only flagged
            assert free.estimate(request).unpriced == ("new_knob",)
        assert _creates_sent(sim) == 0


@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_a_bad_request_is_refused_before_sending(path: str) -> None:
    async with _sim() as sim:
        async with _client(sim) as client:
            named = TextToVideo(prompt="x", external_task_id="on-the-model")
            with pytest.raises(UsageError, match="external_task_id given twice"):
                await CLIENT_PATHS[path](client, named, "another")
            if path in ("submit", "run", "create"):
                with pytest.raises(UsageError, match="request model"):
                    await CLIENT_PATHS[path](client, {"prompt": "x"}, None)  # type: ignore[arg-type]
        assert _creates_sent(sim) == 0


@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_a_2026_request_needs_an_api_key(path: str) -> None:
    async with _sim() as sim:
        jwt_only = _client(sim, api_key=None, access_key=sim.access_key, secret_key=sim.secret_key)
        async with jwt_only as client:
            with pytest.raises(APIKeyRequiredError, match="API key"):
                await CLIENT_PATHS[path](client, TextToVideo2026(**TURBO), None)
        assert _creates_sent(sim) == 0


@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_a_closed_client_sends_nothing(path: str) -> None:
    async with _sim() as sim:
        client = _client(sim, costs=CostPolicy(budget="video=50"))
        await client.aclose()
        with pytest.raises(ClientClosedError):
            await CLIENT_PATHS[path](client, TextToVideo(prompt="x"), None)
        assert client.budget is not None and client.budget.committed == {}
        assert _creates_sent(sim) == 0


@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_a_lost_create_answer_makes_one_task(path: str) -> None:
    """The answer to the create is lost after Kling made the task: the scheduled paths
    find it by external id; ``create`` says the outcome is unknown and keeps its
    estimate committed; a second ``create`` with the id is refused by Kling. One task."""
    async with _sim() as sim:
        sim.set_faults(drop_after_create_rate=1.0)
        async with _client(sim, costs=CostPolicy(budget="video=50")) as client:
            if path == "create":
                with pytest.raises(CreateOutcomeUnknownError):
                    await _create(client, TextToVideo(prompt="x"), "lost-1")
                assert client.budget is not None and client.budget.committed["video"] > 0
                sim.set_faults(drop_after_create_rate=0.0)
                task = await client.get_task("text2video", external_task_id="lost-1")
                assert task.external_task_id == "lost-1"
            else:
                result = CLIENT_PATHS[path](client, TextToVideo(prompt="x"), "lost-1")
                sim.set_faults(drop_after_create_rate=0.0)
                task = await result
                assert task.external_task_id == "lost-1"
        assert sim.stats.creates_by_external_id["lost-1"] == 1
        assert sim.stats.duplicate_creates == {}


async def test_a_recreate_after_a_confirmed_lost_create_sends_the_same_body_once() -> None:
    """The connection drops before Kling creates anything: the lookup confirms no task,
    the same CreateCall is sent again (same id, same body), the budget counts it once."""
    request = TextToVideo2026(**TURBO, extra_body=OVERRIDE)
    async with _sim() as sim:
        sim.set_faults(drop_before_create_rate=1.0)
        async with _client(sim, costs=CostPolicy(budget="video=20")) as client:
            handle = client.submit(request, external_task_id="again")
            while sim.stats.dropped_before_create < 1:
                await _tick()
            sim.set_faults(drop_before_create_rate=0.0)
            task = await handle
            assert client.budget is not None
            assert client.budget.spent == {"video": pytest.approx(15.0)}
        assert task.external_task_id == "again"
        assert sim.stats.creates_by_external_id["again"] == 1
        assert [row["duration"] for row in sim.ledger()] == ["15"]


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.005)


# -- the service example ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _service(sim: Simulator, **client: Any) -> tuple[web.AppRunner, str]:
    example = load_example("aiohttp_service")
    port = _free_port()
    kwargs: dict[str, Any] = {"base_url": sim.base_url, "poll": PollPolicy.scaled(SCALE)}
    kwargs.update(client)
    runner = web.AppRunner(example.create_app(**kwargs), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("case", "settings", "route", "body", "status"),
    [
        ("over budget", {"costs": CostPolicy(budget="video=0.5")}, "/videos", {"prompt": "x"}, 402),
        ("bad request", {}, "/videos", {"prompt": "x", "duration": 7}, 422),
        ("no API key", {"api_key": None}, "/videos/turbo", {"prompt": "x"}, 503),
    ],
)
async def test_the_service_example_answers_a_refusal_and_sends_nothing(
    case: str, settings: dict[str, Any], route: str, body: dict[str, Any], status: int
) -> None:
    async with _sim() as sim:
        client = {"api_key": sim.api_key, **settings}
        if client["api_key"] is None:
            client.update(access_key=sim.access_key, secret_key=sim.secret_key)
        runner, url = await _service(sim, **client)
        try:
            async with aiohttp.ClientSession() as http, http.post(url + route, json=body) as r:
                assert r.status == status, await r.text()
                assert (await r.json())["detail"]
        finally:
            await runner.cleanup()
        assert _creates_sent(sim) == 0


# -- a batch job --------------------------------------------------------------------------------


async def test_a_batch_job_with_extra_body_is_priced_as_sent(tmp_path: Path) -> None:
    """The job file's extra_body reaches the estimate: 15 units against a budget of 5
    is refused before the journal exists; nothing is created."""
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        [
            {
                "id": "turbo",
                "family": "text_to_video_2026",
                "params": {
                    "model": "kling-3.0-turbo",
                    "prompt": "a fox",
                    "settings": {"duration": 3},
                    "extra_body": OVERRIDE,
                },
            }
        ],
    )
    async with _sim() as sim:
        kwargs = sim_kwargs(sim, api_key=sim.api_key)
        with pytest.raises(BudgetRefusedError, match="video: 15 > budget 5"):
            await run_batch(jobs, tmp_path / "out", costs=CostOptions(budget="video=5"), **kwargs)
        assert _creates_sent(sim) == 0


async def test_a_batch_job_with_unpriced_extra_body_is_refused(tmp_path: Path) -> None:
    jobs = write_jobs(
        tmp_path / "jobs.jsonl",
        [
            {
                "id": "knob",
                "family": "text2video",
                "params": {"prompt": "a", "extra_body": {"new_knob": 1}},
            }
        ],
    )
    async with _sim() as sim:
        with pytest.raises((BudgetRefusedError, UnpricedRequestError), match="new_knob"):
            await run_batch(
                jobs, tmp_path / "out", costs=CostOptions(budget="video=50"), **sim_kwargs(sim)
            )
        assert _creates_sent(sim) == 0
