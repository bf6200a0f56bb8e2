"""Client lifecycle: a closed client sends nothing; leaving early never leaves a
handle hanging; a dead scheduler says so on the next submit.

Against the simulator over real loopback HTTP; assertions are on the simulator's
ground truth (what was created) and on handle states, never on wall time (the
5 s bounds are "does not hang" guards).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kling_async import (
    ClientClosedError,
    HandleState,
    IdentifyFace,
    KlingClient,
    LocalSlotPool,
    SchedulerFailedError,
    TaskCancelledError,
    TaskDetachedError,
    TaskHandle,
    TextToVideo,
)
from kling_async._config import BackoffPolicy, PollPolicy
from kling_async.scheduling._slots import Adopter
from kling_async.simulator import Simulator
from kling_async.wire._transport import TransportState

SCALE = 0.004  # a "100 s" video runs 0.4 s
CAPACITY = {"video": 2}


def make_sim() -> Simulator:
    return Simulator(capacity=CAPACITY, time_scale=SCALE, durations={"text2video": 100}, seed=3)


def make_client(sim: Simulator, **kw: Any) -> KlingClient:
    kw.setdefault("poll", PollPolicy.scaled(SCALE * 0.4))
    kw.setdefault("backoff", BackoffPolicy(initial=0.02, max_delay=0.2, max_retry_after=0.2))
    kw.setdefault("capacity", CAPACITY)
    return sim.client(**kw)


# -- closed means closed ---------------------------------------------------------------


async def test_a_closed_client_refuses_every_call_and_sends_nothing() -> None:
    async with make_sim() as sim:
        client = make_client(sim)
        await client.create(TextToVideo(prompt="opens the session"))
        await client.aclose()
        await client.aclose()  # idempotent
        sent = sim.stats.total_requests
        assert client.closed and client.transport.state is TransportState.CLOSED
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: client.create(TextToVideo(prompt="p")),
            lambda: client.get_task("text2video", task_id="1"),
            lambda: client.list_page("text2video"),
            lambda: client.identify_face(IdentifyFace(video_url="https://example.com/v.mp4")),
            lambda: client.account_costs(),
            lambda: client.attach("text2video", external_task_id="e"),
            lambda: client.text_to_video(prompt="p"),
            lambda: client.run(TextToVideo(prompt="p")),
        ]
        for call in calls:
            with pytest.raises(ClientClosedError, match="closed"):
                await call()
        with pytest.raises(ClientClosedError):
            client.submit(TextToVideo(prompt="p"))
        with pytest.raises(ClientClosedError):
            async for _ in client.list_tasks("text2video"):
                pass  # pragma: no cover - never reached
        assert sim.stats.total_requests == sent  # nothing reached the network
        assert client.transport._session is None  # and no session was reopened


async def test_a_client_closed_before_first_use_never_opens_a_session() -> None:
    async with make_sim() as sim:
        client = make_client(sim)
        await client.aclose()
        with pytest.raises(ClientClosedError):
            await client.create(TextToVideo(prompt="p"))
        assert sim.stats.total_requests == 0 and client.transport._session is None


# -- leaving early ---------------------------------------------------------------------------


async def _leave_early(sim: Simulator, how: str) -> list[TaskHandle]:
    """40 submissions on capacity 2; leave the client once 3 tasks were created."""
    handles: list[TaskHandle] = []

    async def work() -> None:
        async with make_client(sim) as client:
            handles.extend(client.submit(TextToVideo(prompt=f"p{i}")) for i in range(40))
            while sim.stats.total_creates < 3:
                await asyncio.sleep(0.005)
            if how == "exception":
                raise RuntimeError("the app failed")
            if how == "keyboard":
                raise KeyboardInterrupt
            await asyncio.sleep(3600)  # cancelled from outside

    if how == "cancel":
        job = asyncio.ensure_future(work())
        while sim.stats.total_creates < 3:
            await asyncio.sleep(0.005)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    else:
        with pytest.raises((RuntimeError, KeyboardInterrupt)):
            await work()
    return handles


@pytest.mark.parametrize("how", ["exception", "keyboard", "cancel"])
async def test_leaving_early_cancels_the_queue_and_detaches_created_tasks(
    how: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kling_async.scheduler")
    async with make_sim() as sim:
        handles = await _leave_early(sim, how)
        # Every handle is decided at once, and awaiting never hangs.
        assert all(h.done() for h in handles)
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(h.wait() for h in handles), return_exceptions=True), 5
        )
        states = {h.state for h in handles}
        assert states <= {HandleState.SUCCEEDED, HandleState.CANCELLED, HandleState.DETACHED}
        created_ids = set(sim.stats.creates_by_external_id)
        cancelled = [h for h in handles if h.state is HandleState.CANCELLED]
        detached = [h for h in handles if h.state is HandleState.DETACHED]
        assert len(cancelled) >= 30 and detached
        for handle, outcome in zip(handles, outcomes, strict=True):
            if handle.state is HandleState.CANCELLED:
                assert isinstance(outcome, TaskCancelledError) and "nothing was spent" in str(
                    outcome
                )
            if handle.state is HandleState.DETACHED:
                assert isinstance(outcome, TaskDetachedError)
                assert outcome.external_task_id == handle.external_task_id
                assert outcome.task_id == handle.task_id
                assert "may still run and be billed" in str(outcome) or "may exist" in str(outcome)
                assert "client.attach(" in str(outcome)
        # One warning line lists the detached tasks with their ids.
        lines = [r.getMessage() for r in caplog.records if "still running at Kling" in r.message]
        assert len(lines) == 1
        assert all(h.external_task_id in lines[0] for h in detached)
        # Queued submissions are never created, not even later.
        await asyncio.sleep(0.05)
        assert not created_ids & {h.external_task_id for h in cancelled}
        assert not set(sim.stats.creates_by_external_id) & {h.external_task_id for h in cancelled}
        # A new client follows the detached tasks to their end.
        async with make_client(sim) as client:
            followed = []
            for handle in detached:
                error = handle.error
                assert isinstance(error, TaskDetachedError)
                if error.task_id is None and error.external_task_id not in created_ids:
                    continue  # its create never reached Kling: nothing to follow
                followed.append(
                    await client.attach(
                        error.family,
                        task_id=error.task_id,
                        external_task_id=error.external_task_id,
                    )
                )
            assert followed
            tasks = await asyncio.wait_for(asyncio.gather(*followed), 5)
        assert all(t.succeeded for t in tasks)
        assert sim.stats.duplicate_creates == {}
        assert sim.stats.max_in_use["video"] <= CAPACITY["video"]


async def test_a_normal_exit_with_undrained_work_detaches_too() -> None:
    async with make_sim() as sim:
        async with make_client(sim) as client:
            handle = client.submit(TextToVideo(prompt="p"))
            while handle.task_id is None:
                await asyncio.sleep(0.005)
        with pytest.raises(TaskDetachedError) as caught:
            await asyncio.wait_for(handle, 5)
        assert caught.value.task_id == handle.task_id
        assert handle.state is HandleState.DETACHED


# -- a dead scheduler -------------------------------------------------------------------------


class BrokenUpkeepPool(LocalSlotPool):
    """A slot pool that never has a free slot and whose upkeep dies soon after start."""

    async def try_acquire(self, pack: str, cost: int, key: str, family: str = "") -> bool:
        return False

    async def maintain(self, adopt: Adopter) -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("pool upkeep broke")


async def test_a_dead_scheduler_fails_its_handles_and_the_next_submit() -> None:
    async with make_sim() as sim:
        client = make_client(sim, slots=BrokenUpkeepPool())
        handle = client.submit(TextToVideo(prompt="p"))
        with pytest.raises(SchedulerFailedError, match="pool upkeep broke") as caught:
            await asyncio.wait_for(handle, 5)
        assert isinstance(caught.value.__cause__, RuntimeError)
        assert handle.state is HandleState.FAILED
        with pytest.raises(SchedulerFailedError, match="pool upkeep broke"):
            client.submit(TextToVideo(prompt="again"))
        await client.aclose()
        assert sim.stats.total_creates == 0


async def test_ctrl_c_in_a_real_program_decides_every_handle() -> None:
    """SIGINT to a program awaiting 40 handles: asyncio.run cancels it, the client
    closes, every handle is decided; the detached tasks are followed to the end."""
    async with make_sim() as sim:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.ctrl_c_worker",
            "--base-url",
            sim.base_url,
            "--access-key",
            sim.access_key,
            "--secret-key",
            sim.secret_key,
            "--scale",
            str(SCALE),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert proc.stdout is not None
        ready = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert ready.strip() == b"ready"
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode != 0  # interrupted, and says so
        assert b"KeyboardInterrupt" in err
        assert b"still running at Kling" in err  # the one warning line
        summary = json.loads(out.splitlines()[-1])
        assert len(summary) == 40 and all(h["done"] for h in summary)
        states = Counter(h["state"] for h in summary)
        assert set(states) <= {"succeeded", "cancelled", "detached"}, states
        cancelled = {h["external_task_id"] for h in summary if h["state"] == "cancelled"}
        detached = [h for h in summary if h["state"] == "detached"]
        assert len(cancelled) >= 30 and detached
        assert all(h["error"] == "TaskDetachedError" for h in detached)
        await asyncio.sleep(0.05)
        assert not cancelled & set(sim.stats.creates_by_external_id)  # never created
        async with make_client(sim) as client:
            followed = [
                await client.attach(
                    "text2video", task_id=h["task_id"], external_task_id=h["external_task_id"]
                )
                for h in detached
                if h["task_id"] or h["external_task_id"] in sim.stats.creates_by_external_id
            ]
            tasks = await asyncio.wait_for(asyncio.gather(*followed), 5)
        assert followed and all(t.succeeded for t in tasks)
        assert sim.stats.duplicate_creates == {}


async def test_the_closing_warning_stays_one_short_line_for_many_tasks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="kling_async.scheduler")
    wide = {"video": 30}
    async with Simulator(capacity=wide, time_scale=SCALE, durations={"text2video": 100}) as sim:
        async with make_client(sim, capacity=wide) as client:
            handles = [client.submit(TextToVideo(prompt=f"p{i}")) for i in range(30)]
            while sum(1 for h in handles if h.task_id) < 30:
                await asyncio.sleep(0.005)
        assert all(h.state is HandleState.DETACHED for h in handles)
    lines = [r.getMessage() for r in caplog.records if "still running at Kling" in r.message]
    assert len(lines) == 1 and "closed with 30 task(s)" in lines[0]
    assert lines[0].endswith("and 10 more") and lines[0].count("external_task_id=ka-") == 20
