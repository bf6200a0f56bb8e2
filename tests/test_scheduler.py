"""The scheduler against the simulator over real loopback HTTP.

Durations are scaled so a "100 s" video takes 50 ms; every assertion is on
behaviour and counts (the simulator's ground truth), never on wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

import pytest

from kling_async import (
    CapacityError,
    ImageGeneration,
    InvalidRequestError,
    KlingClient,
    RetryPolicy,
    TaskCancelledError,
    TaskExpiredError,
    TaskFailedError,
    TaskTimeoutError,
    TextToVideo,
)
from kling_async._config import BackoffPolicy, LearnPolicy, PollPolicy
from kling_async._handle import HandleState, TaskHandle
from kling_async.simulator import Faults, Simulator
from tests._workload import mixed_requests

SCALE = 0.0005
DURATIONS = {"text2video": 100, "image_generation": 60, "virtual_try_on": 40}
URL = "https://example.com/x.png"


def make_sim(capacity: dict[str, int], **kw: Any) -> Simulator:
    kw.setdefault("durations", DURATIONS)
    return Simulator(capacity=capacity, time_scale=SCALE, seed=kw.pop("seed", 1), **kw)


def make_client(sim: Simulator, **kw: Any) -> KlingClient:
    kw.setdefault("poll", PollPolicy.scaled(SCALE * 0.4))
    kw.setdefault("backoff", BackoffPolicy(initial=0.02, max_delay=0.2, max_retry_after=0.2))
    kw.setdefault("retry", RetryPolicy(max_attempts=5, initial_delay=0.005, max_delay=0.05))
    kw.setdefault("max_backfill_wait", 0.2)
    return sim.client(**kw)


async def test_500_mixed_tasks_stay_within_capacity_with_zero_1303() -> None:
    """Invariant 2: 500 tasks never exceed video=3, image=5 (n-weighted), try_on=1."""
    capacity = {"video": 3, "image": 5, "try_on": 1}
    async with make_sim(capacity) as sim, make_client(sim, capacity=capacity) as client:
        handles = [client.submit(r) for r in mixed_requests(500)]
        results = await asyncio.gather(*handles)
        stats = client.stats()
    assert all(t.succeeded for t in results) and len(results) == 500
    assert sim.stats.max_in_use == capacity
    assert sim.stats.count_1303 == 0 and sim.stats.total_creates == 500
    assert sim.stats.duplicate_creates == {}
    assert all(p.in_use == 0 and p.queued == 0 for p in stats.packs.values())


async def test_faults_never_cause_double_creation_or_lost_tasks() -> None:
    """Invariant 3: with 5xxx, latency, 1302 and dropped create answers, each id is created once."""
    faults = Faults(
        server_error_rate=0.08,
        latency=0.004,
        drop_after_create_rate=0.2,
        rate_limit_rate=0.01,
        rate_limit_burst=2,
    )
    capacity = {"video": 4, "image": 6, "try_on": 1}
    async with (
        make_sim(capacity, faults=faults, seed=5) as sim,
        make_client(sim, capacity=capacity) as client,
    ):
        handles = [client.submit(r) for r in mixed_requests(150, seed=3)]
        results = await asyncio.gather(*handles, return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["Task"] * 150
    ids = {h.external_task_id for h in handles}
    created = sim.stats.creates_by_external_id
    assert set(created) == ids and set(created.values()) == {1}
    assert sim.stats.total_creates == 150
    assert sim.stats.dropped_connections > 0 and sim.stats.count_5xxx > 0
    assert max(sim.stats.max_in_use["video"], 0) <= 4


async def test_another_client_on_the_account_causes_backoff_not_loss() -> None:
    """1303 caused by someone else: the pack backs off, retries the same entries, recovers."""
    capacity = {"video": 3}
    async with make_sim(capacity) as sim, make_client(sim, capacity=capacity) as client:
        for _ in range(3):
            sim.inject_task("/v1/videos/text2video", {"prompt": "theirs"})
        handles = [client.submit(TextToVideo(prompt=f"mine {i}")) for i in range(40)]

        async def intruder() -> None:
            for _ in range(30):
                await asyncio.sleep(0.03)
                with contextlib.suppress(ValueError):  # pack full at that moment
                    sim.inject_task("/v1/videos/text2video", {"prompt": "theirs"})

        intrusion = asyncio.create_task(intruder())
        results = await asyncio.gather(*handles)
        await intrusion
        stats = client.stats().packs["video"]
    assert all(t.succeeded for t in results)
    assert stats.count_1303 > 0 and stats.capacity == 3
    assert sim.stats.max_in_use["video"] == 3
    assert {h.external_task_id for h in handles} <= set(sim.stats.creates_by_external_id)
    assert sim.stats.duplicate_creates == {}


async def test_learned_capacity_converges_with_few_1303() -> None:
    """No capacity given, server limit 5: learned to 5 with 1303 under 2 % of creates."""
    learn = LearnPolicy(probe_interval=0.5)
    async with make_sim({"video": 5}) as sim, make_client(sim, learn=learn) as client:
        handles = [client.submit(TextToVideo(prompt=f"v{i}")) for i in range(300)]
        await asyncio.gather(*handles)
        video = client.stats().packs["video"]
    assert video.learned is True and video.capacity == 5
    assert sim.stats.total_creates == 300
    assert sim.stats.count_1303 / sim.stats.total_creates < 0.02


async def test_cancel_while_queued_is_never_created() -> None:
    """A queued submission that is cancelled never reaches Kling."""
    async with make_sim({"video": 1}) as sim, make_client(sim, capacity={"video": 1}) as client:
        first = client.submit(TextToVideo(prompt="first"))
        second = client.submit(TextToVideo(prompt="second"))
        assert second.state is HandleState.QUEUED
        assert second.cancel() and not second.cancel()
        with pytest.raises(TaskCancelledError):
            await second
        await first
        await client.drain()
    assert second.state is HandleState.CANCELLED
    assert second.external_task_id not in sim.stats.creates_by_external_id
    assert sim.stats.total_creates == 1


async def test_cancel_while_running_keeps_the_slot_until_the_server_ends_it() -> None:
    """Invariant 1: a cancelled running task holds its slot until Kling says it ended."""
    durations = {"text2video": 600}  # 0.3 s at this scale
    async with (
        make_sim({"video": 1}, durations=durations, duration_spread=0) as sim,
        make_client(sim, capacity={"video": 1}) as client,
    ):
        running = client.submit(TextToVideo(prompt="running"))
        while running.task_id is None:
            await asyncio.sleep(0.005)
        waiting = client.submit(TextToVideo(prompt="next"))
        running.cancel()
        with pytest.raises(TaskCancelledError):
            await running
        assert client.stats().packs["video"].in_use == 1
        await asyncio.sleep(0.05)
        assert waiting.task_id is None  # still waiting for the slot
        await waiting
    times = sim.stats.task_times
    assert running.task_id is not None and waiting.task_id is not None
    assert times[waiting.task_id][3] >= times[running.task_id][4]  # started after it ended
    assert sim.stats.max_in_use["video"] == 1


async def test_no_starvation_of_a_big_image_task() -> None:
    """One n=8 task among 200 n=1 tasks on capacity 8 finishes before the stream ends."""
    async with make_sim({"image": 8}) as sim, make_client(sim, capacity={"image": 8}) as client:
        small_a = [client.submit(ImageGeneration(prompt=f"a{i}", n=1)) for i in range(100)]
        big = client.submit(ImageGeneration(prompt="big", n=8))
        small_b = [client.submit(ImageGeneration(prompt=f"b{i}", n=1)) for i in range(100)]
        await asyncio.gather(big, *small_a, *small_b)
    times = sim.stats.task_times
    assert big.task_id is not None
    last_small_end = max(times[h.task_id][4] for h in small_b if h.task_id)
    assert times[big.task_id][4] < last_small_end
    assert sim.stats.max_in_use["image"] == 8


async def test_start_deadline_expires_without_spending() -> None:
    """A submission not created by its start_deadline expires and is never created."""
    async with (
        make_sim({"video": 1}, durations={"text2video": 600}) as sim,
        make_client(sim, capacity={"video": 1}) as client,
    ):
        blocker = client.submit(TextToVideo(prompt="blocker"))
        late = client.submit(TextToVideo(prompt="late"), start_deadline=time.time() + 0.05)
        with pytest.raises(TaskExpiredError):
            await late
        assert late.state is HandleState.EXPIRED
        await blocker
    assert late.external_task_id not in sim.stats.creates_by_external_id


async def test_wait_timeout_keeps_tracking() -> None:
    """wait(timeout) raises TaskTimeoutError; the task goes on and can be awaited again."""
    async with make_sim({"video": 2}) as sim, make_client(sim, capacity={"video": 2}) as client:
        handle = client.submit(TextToVideo(prompt="slow enough"))
        with pytest.raises(TaskTimeoutError):
            await handle.wait(timeout=0.001)
        task = await handle.wait(timeout=10)
    assert task.succeeded and handle.state is HandleState.SUCCEEDED


async def test_awaiting_caller_cancelled_does_not_cancel_the_task() -> None:
    """Cancelling the coroutine that awaits a handle leaves the submission running."""
    async with make_sim({"video": 2}) as sim, make_client(sim, capacity={"video": 2}) as client:
        handle = client.submit(TextToVideo(prompt="shielded"))
        waiter = asyncio.create_task(handle.wait())
        await asyncio.sleep(0.005)
        waiter.cancel()
        task = await handle
    assert task.succeeded


async def test_failed_tasks_raise_and_free_their_slots() -> None:
    """A task ending `failed` raises TaskFailedError with the reason; slots are released."""
    async with (
        make_sim({"video": 2}, faults=Faults(failure_rate=1.0)) as sim,
        make_client(sim, capacity={"video": 2}) as client,
    ):
        handles = [client.submit(TextToVideo(prompt=f"f{i}")) for i in range(4)]
        results = await asyncio.gather(*handles, return_exceptions=True)
        assert client.stats().packs["video"].in_use == 0
    assert all(isinstance(r, TaskFailedError) and r.task_status_msg for r in results)
    assert all(h.state is HandleState.FAILED for h in handles)


async def test_other_4xx_fail_at_once_and_release() -> None:
    """A create refused with 1201 fails its handle; the queue moves on."""
    async with make_sim({"video": 1}) as sim, make_client(sim, capacity={"video": 1}) as client:
        bad = client.submit(TextToVideo.model_construct(prompt="x" * 3000))
        good = client.submit(TextToVideo(prompt="fine"))
        with pytest.raises(InvalidRequestError) as info:
            await bad
        assert info.value.code == 1201
        assert (await good).succeeded
    assert bad.state is HandleState.FAILED and sim.stats.total_creates == 1


async def test_capacity_error_before_any_request() -> None:
    """A task that can never fit its pack fails at once with a clear error."""
    async with make_sim({"image": 5}) as sim, make_client(sim, capacity={"image": 5}) as client:
        with pytest.raises(CapacityError, match="capacity"):
            client.submit(ImageGeneration(prompt="p", n=9))
    assert sim.stats.total_requests == 0


async def test_attach_tracks_and_counts_an_existing_task() -> None:
    """attach() follows a task created elsewhere; its slot counts until it ends."""
    async with (
        make_sim({"video": 2}, durations={"text2video": 400}) as sim,
        make_client(sim, capacity={"video": 2}) as client,
    ):
        theirs = sim.inject_task("/v1/videos/text2video", {"prompt": "p", "external_task_id": "o1"})
        handle = await client.attach("text2video", external_task_id="o1")
        assert handle.task_id == theirs.task_id
        assert client.stats().packs["video"].in_use == 1
        task = await handle
        assert client.stats().packs["video"].in_use == 0
    assert task.succeeded and sim.stats.total_creates == 1


async def test_attach_while_the_slot_pool_is_down_leaves_nothing_behind() -> None:
    """If the slot pool cannot count an attached task, attach() raises and holds nothing:
    attaching again later works and counts the slot once."""
    from kling_async.scheduling import LocalSlotPool, SlotPoolUnavailableError

    class FlakyPool(LocalSlotPool):
        down = True

        async def adopt(self, *args: Any, **kwargs: Any) -> None:
            if self.down:
                raise SlotPoolUnavailableError("pool down")
            await super().adopt(*args, **kwargs)

    pool = FlakyPool()
    async with (
        make_sim({"video": 2}, durations={"text2video": 400}) as sim,
        make_client(sim, capacity={"video": 2}, slots=pool) as client,
    ):
        sim.inject_task("/v1/videos/text2video", {"prompt": "p", "external_task_id": "o1"})
        with pytest.raises(SlotPoolUnavailableError):
            await client.attach("text2video", external_task_id="o1")
        assert client.stats().packs["video"].in_use == 0
        pool.down = False
        handle = await client.attach("text2video", external_task_id="o1")
        assert client.stats().packs["video"].in_use == 1
        assert (await asyncio.wait_for(handle, 30)).succeeded
        assert client.stats().packs["video"].in_use == 0


async def test_states_changes_as_completed_and_drain() -> None:
    """Handles report each state; as_completed yields every handle; drain waits."""
    async with make_sim({"video": 2}) as sim, make_client(sim, capacity={"video": 2}) as client:
        first = client.submit(TextToVideo(prompt="watched"))
        seen: list[HandleState] = []

        async def watch() -> None:
            async for state in first.changes():
                seen.append(state)

        watcher = asyncio.create_task(watch())
        others = [client.submit(TextToVideo(prompt=f"o{i}")) for i in range(5)]
        order = [h async for h in client.as_completed([first, *others])]
        await watcher
        await client.drain()
        assert client.stats().packs["video"].in_use == 0
    assert set(order) == {first, *others} and len(order) == 6
    assert seen[0] is HandleState.QUEUED and seen[-1] is HandleState.SUCCEEDED
    assert HandleState.SUBMITTED in seen


async def test_live_external_id_cannot_be_reused() -> None:
    """Two live submissions may not share an external_task_id."""
    async with make_sim({"video": 1}) as sim, make_client(sim, capacity={"video": 1}) as client:
        client.submit(TextToVideo(prompt="a"), external_task_id="same")
        with pytest.raises(ValueError, match="same"):
            client.submit(TextToVideo(prompt="b"), external_task_id="same")
        await client.drain()


async def test_1302_bursts_slow_the_pack_and_lose_nothing() -> None:
    """Rate-limit bursts on creates pause the pack; every task still completes once."""
    faults = Faults(rate_limit_rate=0.05, rate_limit_burst=3)
    async with (
        make_sim({"video": 3}, faults=faults, seed=2) as sim,
        make_client(sim, capacity={"video": 3}) as client,
    ):
        handles = [client.submit(TextToVideo(prompt=f"r{i}")) for i in range(60)]
        await asyncio.gather(*handles)
        stats = client.stats().packs["video"]
    assert stats.count_1302 > 0
    assert sim.stats.total_creates == 60 and sim.stats.duplicate_creates == {}


async def test_family_methods_submit_and_await() -> None:
    """client.text_to_video(...) and friends return the finished Task."""
    capacity = {"video": 2, "image": 4, "try_on": 1}
    async with make_sim(capacity) as sim, make_client(sim, capacity=capacity) as client:
        video = await client.text_to_video(prompt="fox", duration=5, priority=3)
        image = await client.image_generation(ImageGeneration(prompt="p", n=2))
        try_on = await client.virtual_try_on(human_image=URL, cloth_image=URL)
        with pytest.raises(TypeError):
            await client.text_to_video(ImageGeneration(prompt="p"))
    assert video.succeeded and len(image.task_result.images) == 2 and try_on.succeeded
    counts = Counter(f for f, *_ in sim.stats.task_times.values())
    assert counts == {"text2video": 1, "image_generation": 1, "virtual_try_on": 1}


async def test_closing_the_client_cancels_queued_work() -> None:
    """aclose() cancels what is still queued; nothing more is created."""
    async with make_sim({"video": 1}, durations={"text2video": 400}) as sim:
        client = make_client(sim, capacity={"video": 1})
        handles = [client.submit(TextToVideo(prompt=f"c{i}")) for i in range(3)]
        while handles[0].task_id is None:
            await asyncio.sleep(0.005)
        await client.aclose()
        results = await asyncio.gather(*handles[1:], return_exceptions=True)
    assert all(isinstance(r, TaskCancelledError) for r in results)
    assert sim.stats.total_creates == 1
    assert isinstance(handles[0], TaskHandle)


async def test_local_counts_follow_handles_when_the_pool_frees_nothing() -> None:
    """With a shared pool another holder may already have released a lease (it adopted
    the task); the pool then frees 0 slots, yet this client's own count must still drop
    by exactly the task's cost, once."""
    from kling_async.scheduling import LocalSlotPool

    class ReleasedElsewhere(LocalSlotPool):
        async def release(self, pack: str, key: str) -> int:
            await super().release(pack, key)
            return 0  # somebody else deleted the lease first

    capacity = {"video": 2, "image": 4, "try_on": 1}
    async with (
        make_sim(capacity) as sim,
        make_client(sim, capacity=capacity, slots=ReleasedElsewhere()) as client,
    ):
        handles = [client.submit(r) for r in mixed_requests(30, 3)]
        results = await asyncio.wait_for(asyncio.gather(*handles), 60)
        await asyncio.wait_for(client.drain(), 10)
        packs = client.stats().packs
    assert all(t.succeeded for t in results)
    assert {p: s.in_use for p, s in packs.items()} == {"video": 0, "image": 0, "try_on": 0}
    assert sim.stats.max_in_use == capacity
