"""Concurrency per pack (default) or per pack and model version (opt-in), against a
simulator that can count either way (``kling_api_2026.md`` A7)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kling_async import BackoffPolicy, KlingClient, PollPolicy, RetryPolicy, TextToVideo
from kling_async.scheduling._scheduler import Scheduler
from kling_async.simulator import Simulator

SCALE = 0.0005


def make_sim(scope: str) -> Simulator:
    return Simulator(
        capacity={"video": 2},
        time_scale=SCALE,
        seed=2,
        durations={"text2video": 100},
        concurrency_scope=scope,
    )


def make_client(sim: Simulator, **kw: Any) -> KlingClient:
    kw.setdefault("poll", PollPolicy.scaled(SCALE * 0.4))
    kw.setdefault("backoff", BackoffPolicy(initial=0.02, max_delay=0.2, max_retry_after=0.2))
    kw.setdefault("retry", RetryPolicy(max_attempts=5, initial_delay=0.005, max_delay=0.05))
    return sim.client(**kw)


def peak(sim: Simulator) -> int:
    """Most video slots held at once, all models together (simulator ground truth)."""
    events = []
    for _family, _pack, cost, start, end in sim.stats.task_times.values():
        events += [(start, cost), (end, -cost)]
    level = best = 0
    for _, change in sorted(events, key=lambda e: (e[0], e[1])):
        level += change
        best = max(best, level)
    return best


def two_models(n: int) -> list[TextToVideo]:
    return [
        TextToVideo(model_name=model, prompt=f"p{i}")
        for i in range(n)
        for model in ("kling-v3", "kling-v2-6")
    ]


async def test_per_model_scope_uses_each_models_slots_without_1303() -> None:
    """Account counted per model: two models run 2 + 2 at once, never 3 of one."""
    async with (
        make_sim("pack_model") as sim,
        make_client(sim, capacity={"video": 2}, concurrency_scope="pack_model") as client,
    ):
        results = await asyncio.wait_for(
            asyncio.gather(*(client.submit(r) for r in two_models(6))), 60
        )
        stats = client.stats()
    assert all(t.succeeded for t in results)
    assert sim.stats.count_1303 == 0
    assert sim.snapshot()["max_in_use_by_model"] == {"video/kling-v3": 2, "video/kling-v2-6": 2}
    assert peak(sim) == 4
    assert set(stats.packs) == {"video/kling-v3", "video/kling-v2-6"}


async def test_default_pack_scope_is_safe_on_a_per_model_account() -> None:
    """The default (per pack) never exceeds a per-model account: it only under-uses."""
    async with make_sim("pack_model") as sim, make_client(sim, capacity={"video": 2}) as client:
        await asyncio.wait_for(asyncio.gather(*(client.submit(r) for r in two_models(4))), 60)
    assert sim.stats.count_1303 == 0 and peak(sim) == 2


async def test_per_model_scope_on_a_per_pack_account_costs_1303s_not_tasks() -> None:
    """The wrong opt-in over-admits: Kling refuses with 1303 (free), the client backs
    off, nothing is lost and the server's limit holds."""
    async with (
        make_sim("pack") as sim,
        make_client(sim, capacity={"video": 2}, concurrency_scope="pack_model") as client,
    ):
        results = await asyncio.wait_for(
            asyncio.gather(*(client.submit(r) for r in two_models(4))), 60
        )
    assert all(t.succeeded for t in results)
    assert sim.stats.count_1303 > 0 and peak(sim) == 2
    assert sim.stats.duplicate_creates == {}


async def test_one_models_capacity_can_be_set_apart() -> None:
    """capacity={"video": 2, "video/kling-v3": 1}: kling-v3 never holds more than one."""
    async with (
        make_sim("pack_model") as sim,
        make_client(
            sim, capacity={"video": 2, "video/kling-v3": 1}, concurrency_scope="pack_model"
        ) as client,
    ):
        await asyncio.wait_for(asyncio.gather(*(client.submit(r) for r in two_models(4))), 60)
    assert sim.snapshot()["max_in_use_by_model"] == {"video/kling-v3": 1, "video/kling-v2-6": 2}


def test_per_model_capacity_needs_the_per_model_scope() -> None:
    """A per-model figure with the per-pack scope is a configuration error."""
    with pytest.raises(ValueError, match="pack_model"):
        Scheduler(object(), capacity={"video/kling-v3": 2})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown pack"):
        Scheduler(object(), capacity={"audio/x": 2}, scope="pack_model")  # type: ignore[arg-type]
