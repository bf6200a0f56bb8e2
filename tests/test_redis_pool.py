"""The Redis slot pool: Lua scripts against a real Redis, then real worker processes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kling_async import KlingClient, PollPolicy, TextToVideo
from kling_async.scheduling import LeaseClaim, SlotPoolUnavailableError
from kling_async.scheduling._redis import RedisSlotPool
from kling_async.simulator import Simulator
from tests._redis import RedisServer, free_port
from tests.conftest import ACCESS_KEY, SECRET_KEY


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    await server.start()
    yield server
    await server.stop()


def pool(server: RedisServer, **kw: Any) -> RedisSlotPool:
    kw.setdefault("account", "t")
    return RedisSlotPool(server.url, **kw)


async def test_acquire_respects_capacity_and_release_is_idempotent(
    redis_server: RedisServer,
) -> None:
    """n-weighted acquire never exceeds the capacity; a second release frees nothing."""
    p = pool(redis_server)
    await p.set_capacity("image", 3)
    assert await p.try_acquire("image", 2, "a", "image_generation")
    assert not await p.try_acquire("image", 2, "b", "image_generation")
    # b now holds the ticket: a smaller request of another holder must wait its turn
    other = pool(redis_server)
    assert not await other.try_acquire("image", 1, "c", "image_generation")
    assert await p.try_acquire("image", 1, "b", "image_generation")
    assert await p.in_use("image") == 3
    assert await p.release("image", "a") == 2
    assert await p.release("image", "a") == 0
    assert await p.in_use("image") == 1
    await p.aclose()
    await other.aclose()


async def test_an_acquire_whose_reply_was_lost_is_counted_once_when_asked_again(
    redis_server: RedisServer,
) -> None:
    """The script ran but the answer never came back (connection cut, Redis restarted
    from its append-only file): asking again for the same key takes nothing more and
    does not fail the submission; another holder asking for that key still cannot."""
    p = pool(redis_server)
    await p.set_capacity("video", 2)
    assert await p.try_acquire("video", 1, "lost", "text2video")
    p._leases.clear()  # as if the reply had been lost: this process never learned it
    assert await p.try_acquire("video", 1, "lost", "text2video")
    assert await p.in_use("video") == 1
    assert "lost" in p._leases  # kept alive by this holder's heartbeats from now on
    other = pool(redis_server)
    with pytest.raises(ValueError, match="already holds a lease"):
        await other.try_acquire("video", 1, "lost", "text2video")
    assert await p.release("video", "lost") == 1
    assert await p.in_use("video") == 0
    await p.aclose()
    await other.aclose()


async def test_waiters_are_served_in_arrival_order(redis_server: RedisServer) -> None:
    """A holder that asked first gets the next free slot; a silent waiter loses its place."""
    a, b = pool(redis_server, ticket_ttl=0.3), pool(redis_server, ticket_ttl=0.3)
    await a.set_capacity("video", 1)
    assert await a.try_acquire("video", 1, "a1")
    assert not await b.try_acquire("video", 1, "b1")  # b queues
    assert await a.release("video", "a1") == 1
    assert not await a.try_acquire("video", 1, "a2")  # b is ahead of a
    assert await b.try_acquire("video", 1, "b1")
    assert await b.release("video", "b1") == 1
    assert not await b.try_acquire("video", 1, "b2")  # a's ticket is ahead now
    await asyncio.sleep(0.4)  # a stops asking: its ticket expires
    assert await b.try_acquire("video", 1, "b2")
    await a.aclose()
    await b.aclose()


async def test_expired_leases_are_adopted_not_freed(redis_server: RedisServer) -> None:
    """A dead holder's lease keeps its slots; a survivor claims it with its task id."""
    dead = pool(redis_server, lease_ttl=0.2)
    await dead.set_capacity("video", 2)
    assert await dead.try_acquire("video", 1, "k1", "text2video")
    await dead.note_task_id("video", "k1", "task-9")
    survivor = pool(redis_server, lease_ttl=5)
    claims: list[LeaseClaim] = []

    async def adopt(claim: LeaseClaim) -> None:
        claims.append(claim)

    await asyncio.sleep(0.3)
    await survivor._upkeep(adopt)
    assert claims == [LeaseClaim("k1", "video", 1, "text2video", "task-9")]
    assert await survivor.in_use("video") == 1  # still counted
    snapshot = await survivor.snapshot()
    assert snapshot["adopted"] == 1 and survivor.holder in snapshot["holders"]
    account = survivor.stats().account
    assert account is not None and account.packs["video"].in_use == 1
    assert await survivor.release("video", "k1") == 1
    assert await survivor.in_use("video") == 0
    await dead.aclose()
    await survivor.aclose()


async def test_heartbeat_restores_leases_after_redis_lost_its_data(
    redis_server: RedisServer,
) -> None:
    """If Redis comes back empty, holders re-assert what they hold: no over-admission."""
    p = pool(redis_server)
    await p.set_capacity("video", 2)
    assert await p.try_acquire("video", 2, "k", "text2video")
    await p._redis.flushdb()
    await p._upkeep(lambda claim: asyncio.sleep(0))
    assert await p.in_use("video") == 2 and await p.capacity("video") == 2
    other = pool(redis_server)
    assert not await other.try_acquire("video", 1, "other")
    await other.aclose()
    await p.aclose()


async def test_a_released_lease_is_not_brought_back_by_a_heartbeat(
    redis_server: RedisServer,
) -> None:
    """B's lease is adopted by A while B lives; B's task ends and B releases it: A's next
    heartbeat must drop the lease, not re-create it (that would leak its slots)."""
    a, b = pool(redis_server, lease_ttl=5), pool(redis_server, lease_ttl=0.2)
    await b.set_capacity("try_on", 1)
    assert await b.try_acquire("try_on", 1, "k", "kolors-virtual-try-on")
    await b.note_task_id("try_on", "k", "task-1")
    await asyncio.sleep(0.3)  # b missed its heartbeat (Redis was away, say)
    claims: list[LeaseClaim] = []

    async def adopt(claim: LeaseClaim) -> None:
        claims.append(claim)

    await a._upkeep(adopt)
    assert [c.external_task_id for c in claims] == ["k"]
    await b._upkeep(adopt)  # b learns the lease is a's now
    assert "k" not in b._leases
    assert await b.release("try_on", "k") == 1  # b saw its task end first
    await a._upkeep(adopt)
    assert "k" not in a._leases
    assert await a.in_use("try_on") == 0
    assert await a.try_acquire("try_on", 1, "next")  # the pack is usable again
    await a.aclose()
    await b.aclose()


async def test_release_racing_a_heartbeat_or_claim_frees_the_slots(
    redis_server: RedisServer,
) -> None:
    """A release in flight while the heartbeat renews or claims the same (expired) lease
    ends with the slots free and the lease gone: nothing renews a released lease."""
    p = pool(redis_server, lease_ttl=0.05)
    await p.set_capacity("video", 1)
    real = dict(p._scripts)

    def slowed(name: str) -> Any:
        async def call(**kw: Any) -> Any:
            await asyncio.sleep(0.05)  # the other call gets in between
            return await real[name](**kw)

        return call

    async def adopt(claim: LeaseClaim) -> None:  # the lease bounced back: still ours
        pass

    for i, slow in enumerate(["renew", "release"] * 3):
        key = f"k{i}"
        assert await p.try_acquire("video", 1, key, "text2video")
        await asyncio.sleep(0.06)  # expired: a claim would see it
        p._scripts = {**real, slow: slowed(slow)}
        if slow == "renew":  # heartbeat first (its arguments name the key), then release
            first, second = p._upkeep(adopt), p.release("video", key)
        else:  # release first (slow in Redis), the heartbeat's claim meanwhile
            first, second = p.release("video", key), p._upkeep(adopt)
        one = asyncio.ensure_future(first)
        await asyncio.sleep(0.01)
        await asyncio.gather(one, second)
        p._scripts = real
        await p._upkeep(adopt)
        assert key not in p._leases, slow
        assert await p.in_use("video") == 0, slow
    await p.aclose()


async def test_two_clients_through_a_redis_outage_give_every_slot_back(
    redis_server: RedisServer,
) -> None:
    """Two clients in one process, Redis down longer than a lease: each one's leases are
    claimed by the other meanwhile. At the end every task resolved, and both the local
    counts and Redis's count are back to zero (no slot leaked either way)."""
    from tests._workload import mixed_requests

    async with Simulator(
        capacity=CAPACITY, time_scale=0.002, seed=7, access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as sim:
        pools = [
            pool(redis_server, lease_ttl=0.3, heartbeat=0.05, ticket_ttl=0.3, retry_interval=0.01)
            for _ in range(2)
        ]
        clients = [
            KlingClient(
                base_url=sim.base_url,
                access_key=ACCESS_KEY,
                secret_key=SECRET_KEY,
                capacity=CAPACITY,
                slots=p,
                poll=PollPolicy.scaled(0.002),
            )
            for p in pools
        ]
        async with clients[0], clients[1]:
            handles = [
                c.submit(r, external_task_id=f"c{n}-{i}")
                for n, c in enumerate(clients)
                for i, r in enumerate(mixed_requests(30, n, max_n=3))
            ]
            while sim.stats.total_creates < 10:
                await asyncio.sleep(0.01)
            await redis_server.stop()
            await asyncio.sleep(0.6)  # every lease expires (Redis server clock)
            await redis_server.start()
            results = await asyncio.wait_for(asyncio.gather(*handles, return_exceptions=True), 90)
            for c in clients:
                await asyncio.wait_for(c.drain(), 30)
            assert [r for r in results if isinstance(r, BaseException)] == []
            for c in clients:
                assert {p: s.in_use for p, s in c.stats().packs.items()} == {
                    "video": 0,
                    "image": 0,
                    "try_on": 0,
                }
            for _ in range(100):  # adopted leases are released on the next poll or two
                if [await pools[0].in_use(p) for p in CAPACITY] == [0, 0, 0]:
                    break
                await asyncio.sleep(0.05)
            assert [await pools[0].in_use(p) for p in CAPACITY] == [0, 0, 0]
        for p in pools:
            await p.aclose()
    assert sim.stats.count_1303 == 0
    assert set(sim.stats.creates_by_external_id.values()) == {1}


async def test_a_release_queued_during_an_outage_does_not_block_reacquiring(
    redis_server: RedisServer,
) -> None:
    """A create refused while Redis was away is requeued under the same key: acquiring it
    again first sends the queued release, instead of failing on the old lease."""
    p = pool(redis_server)
    await p.set_capacity("video", 1)
    assert await p.try_acquire("video", 1, "k", "text2video")
    await redis_server.stop()
    assert await p.release("video", "k") == 1  # queued: Redis is away
    await redis_server.start()
    assert await p.try_acquire("video", 1, "k", "text2video")
    assert await p.in_use("video") == 1
    await p.aclose()


async def test_a_failed_adoption_is_retried_not_held_for_ever(redis_server: RedisServer) -> None:
    """If following an adopted task fails (the adopter cannot look it up and forgets
    the lease, as the scheduler's follower does), the lease is not renewed: it
    expires and is claimed again (nothing keeps its slots without tracking the task)."""
    dead = pool(redis_server, lease_ttl=0.1)
    await dead.set_capacity("video", 2)
    assert await dead.try_acquire("video", 1, "k", "text2video")
    survivor = pool(redis_server, lease_ttl=0.1)
    seen: list[str] = []

    async def broken(claim: LeaseClaim) -> None:
        seen.append(claim.external_task_id)
        survivor.forget(claim.external_task_id)  # the lookup failed: let it expire

    await asyncio.sleep(0.15)
    await survivor._upkeep(broken)
    assert seen == ["k"] and "k" not in survivor._leases
    await asyncio.sleep(0.15)
    await survivor._upkeep(broken)
    assert seen == ["k", "k"]  # claimed again
    await dead.aclose()
    await survivor.aclose()


async def test_an_id_leased_by_another_process_fails_only_its_handle(
    redis_server: RedisServer,
) -> None:
    """A submission whose external id another process already holds fails with a clear
    error; the dispatcher goes on with the rest."""
    other = pool(redis_server)
    await other.set_capacity("video", 3)
    assert await other.try_acquire("video", 1, "dup", "text2video")
    async with Simulator(
        capacity=CAPACITY, time_scale=0.002, access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as sim:
        mine = pool(redis_server, retry_interval=0.01)
        async with KlingClient(
            base_url=sim.base_url,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            capacity=CAPACITY,
            slots=mine,
            poll=PollPolicy.scaled(0.002),
        ) as client:
            dup = client.submit(TextToVideo(prompt="a"), external_task_id="dup")
            fine = client.submit(TextToVideo(prompt="b"), external_task_id="fine")
            with pytest.raises(ValueError, match="'dup' already holds a lease"):
                await asyncio.wait_for(dup, 30)
            assert (await asyncio.wait_for(fine, 30)).succeeded
        await mine.aclose()
    assert "dup" not in sim.stats.creates_by_external_id
    await other.aclose()


async def test_an_adopted_task_keeps_its_slot_until_the_simulator_ends_it(
    redis_server: RedisServer,
) -> None:
    """A dead holder's running task: the survivor adopts it and its slot stays counted in
    Redis for as long as the simulator runs the task; it is freed only after the end."""
    async with Simulator(
        capacity=CAPACITY,
        time_scale=0.002,
        durations={"text2video": 500},  # about 1 s
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    ) as sim:
        dead = pool(redis_server, lease_ttl=0.2)
        await dead.set_capacity("video", CAPACITY["video"])
        assert await dead.try_acquire("video", 1, "orphan", "text2video")
        async with sim.client() as direct:
            task = await direct.create(TextToVideo(prompt="x"), external_task_id="orphan")
        await dead.note_task_id("video", "orphan", task.task_id)
        await dead.aclose()  # the holder dies: no release, no more heartbeats
        survivor = pool(redis_server, lease_ttl=0.2, heartbeat=0.05)
        samples: list[tuple[bool, int]] = []  # (simulator says running, slots counted)
        async with KlingClient(
            base_url=sim.base_url,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            capacity=CAPACITY,
            slots=survivor,
            poll=PollPolicy.scaled(0.002),
        ):
            sim_task = sim.core.tasks[task.task_id]
            for _ in range(1000):
                running = sim.core.now() < sim_task.ends_at
                samples.append((running, await survivor.in_use("video")))
                if not running and samples[-1][1] == 0:
                    break
                await asyncio.sleep(0.01)
            adopted = survivor.adopted_here
        await survivor.aclose()
    assert adopted == 1
    assert any(running for running, _ in samples) and samples[-1] == (False, 0)
    assert all(used == 1 for running, used in samples if running)  # never freed early


async def test_a_silent_redis_counts_as_unreachable() -> None:
    """A Redis that accepts connections but never answers (a partition) is reported
    unreachable after ``timeout``: acquire refuses, a release is queued, nothing hangs."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)  # never answers
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    p = RedisSlotPool(f"redis://127.0.0.1:{port}/0", account="t", timeout=0.2)
    p._leases["k"] = ("video", 1, "text2video", "")
    with pytest.raises(SlotPoolUnavailableError):
        await p.try_acquire("video", 1, "other", "text2video")
    assert await p.release("video", "k") == 1 and "k" in p._pending_release
    assert not p.available
    await p.aclose()
    server.close()
    await server.wait_closed()


async def test_unreachable_redis_is_a_clear_error_at_start() -> None:
    """A client whose Redis pool cannot be reached fails at start with a clear message."""
    p = RedisSlotPool(f"redis://127.0.0.1:{free_port()}/0", account="t")
    client = KlingClient(
        access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url="http://127.0.0.1:9", slots=p
    )
    with pytest.raises(SlotPoolUnavailableError, match="cannot reach Redis"):
        async with client:
            pass
    await client.aclose()
    await p.aclose()


async def _worker(
    sim: Simulator, redis: RedisServer, name: str, count: int, linger: float = 0.0
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.redis_worker",
        "--base-url",
        sim.base_url,
        "--access-key",
        ACCESS_KEY,
        "--secret-key",
        SECRET_KEY,
        "--redis",
        redis.url,
        "--worker",
        name,
        "--count",
        str(count),
        "--linger",
        str(linger),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _summaries(
    procs: list[asyncio.subprocess.Process], patience: float = 80
) -> list[dict[str, Any]]:
    """Each worker's summary line. A worker still running after ``patience`` seconds prints its
    stats (SIGUSR1), is killed, and the test fails with what it printed."""
    readers = [asyncio.ensure_future(p.communicate()) for p in procs]
    await asyncio.wait(readers, timeout=patience)
    hung = [p for p, r in zip(procs, readers, strict=True) if not r.done()]
    for p in hung:
        p.send_signal(signal.SIGUSR1)
    if hung:
        await asyncio.sleep(1.0)
        for p in hung:
            p.kill()
    summaries: list[dict[str, Any]] = []
    for p, r in zip(procs, readers, strict=True):
        out, err = await r
        assert p not in hung, f"worker hung; it printed:\n{err.decode()[-4000:]}"
        assert p.returncode == 0, err.decode()[-2000:]
        summaries.append(dict(json.loads(out.decode().strip().splitlines()[-1])))
    return summaries


CAPACITY = {"video": 3, "image": 6, "try_on": 1}


async def test_four_processes_share_the_capacity_without_1303(
    redis_server: RedisServer,
) -> None:
    """Four real processes, 400 tasks: never over capacity, zero 1303, all resolved."""
    async with Simulator(
        capacity=CAPACITY, time_scale=0.001, seed=3, access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as sim:
        procs = [await _worker(sim, redis_server, f"w{i}", 100) for i in range(4)]
        results = await _summaries(procs)
    assert [r["ok"] for r in results] == [100] * 4, results
    assert sim.stats.total_creates == 400 and sim.stats.count_1303 == 0
    assert all(sim.stats.max_in_use[p] <= c for p, c in CAPACITY.items())
    assert sim.stats.max_in_use["video"] == 3  # the pool kept the pack full, too
    assert set(sim.stats.creates_by_external_id.values()) == {1}


async def test_a_killed_process_tasks_are_adopted_by_the_others(
    redis_server: RedisServer,
) -> None:
    """SIGKILL one of four: its running tasks are adopted; capacity holds; no 1303."""
    async with Simulator(
        capacity=CAPACITY, time_scale=0.003, seed=4, access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as sim:
        procs = [await _worker(sim, redis_server, f"w{i}", 60, linger=3.0) for i in range(4)]
        victim = procs[3]

        def victim_running() -> bool:  # a task of the victim that Kling is still running
            now = sim.core.now()
            return any(
                (t.external_task_id or "").startswith("w3-") and t.ends_at > now + 0.3
                for t in sim.core.tasks.values()
            )

        while not victim_running():
            await asyncio.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        survivors = await _summaries(procs[:3])
        reader = pool(redis_server, account="test")
        snapshot = await reader._redis.get("kling:test:adopted")
        await reader.aclose()
    assert [r["ok"] for r in survivors] == [60] * 3, survivors
    assert int(snapshot or 0) >= 1 and sum(r["adopted"] for r in survivors) >= 1
    assert sim.stats.count_1303 == 0
    assert all(sim.stats.max_in_use[p] <= c for p, c in CAPACITY.items())
    check = pool(redis_server, account="test")
    assert [await check.in_use(p) for p in CAPACITY] == [0, 0, 0]  # every slot came back
    await check.aclose()


async def test_redis_restart_mid_run_loses_nothing(redis_server: RedisServer) -> None:
    """Redis stopped and restarted mid-run: no over-admission, everything completes."""
    async with Simulator(
        capacity=CAPACITY, time_scale=0.002, seed=5, access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as sim:
        procs = [await _worker(sim, redis_server, f"w{i}", 50) for i in range(2)]
        while sim.stats.total_creates < 20:
            await asyncio.sleep(0.05)
        await redis_server.stop()
        await asyncio.sleep(1.0)
        creates_during_outage = sim.stats.total_creates
        await asyncio.sleep(0.5)
        assert sim.stats.total_creates == creates_during_outage  # nothing created without Redis
        await redis_server.start()
        results = await _summaries(procs)
    assert [r["ok"] for r in results] == [50, 50], results
    assert sim.stats.count_1303 == 0
    assert all(sim.stats.max_in_use[p] <= c for p, c in CAPACITY.items())
    check = pool(redis_server, account="test")
    assert [await check.in_use(p) for p in CAPACITY] == [0, 0, 0]  # no slot leaked
    await check.aclose()


async def test_redis_losing_its_data_mid_run_never_exceeds_the_shared_capacity(
    redis_server: RedisServer,
) -> None:
    """FLUSHALL while four processes run: the holders re-announce their live leases
    before any new acquire is admitted, so the tasks running at Kling never exceed
    the shared capacity (the simulator's own capacity is larger, so it would let an
    over-admission through and count it)."""
    import redis.asyncio as redis_asyncio

    roomy = {"video": 12, "image": 24, "try_on": 4}
    async with Simulator(
        capacity=roomy, time_scale=0.004, seed=5, access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as sim:
        procs = [await _worker(sim, redis_server, f"f{i}", 24) for i in range(4)]
        deadline = asyncio.get_running_loop().time() + 60
        while sim.stats.total_creates < 10:
            assert asyncio.get_running_loop().time() < deadline, "no creates"
            await asyncio.sleep(0.01)
        wipe = redis_asyncio.from_url(redis_server.url)
        await wipe.flushall()
        await wipe.aclose()
        results = await _summaries(procs)
    assert [r["ok"] for r in results] == [24] * 4, results
    assert all(sim.stats.max_in_use.get(p, 0) <= c for p, c in CAPACITY.items()), (
        sim.stats.max_in_use
    )
    assert set(sim.stats.creates_by_external_id.values()) == {1}
