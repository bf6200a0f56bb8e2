"""The batch is told, not polling: job states as a table, and the runner reacting to the
scheduler's events (a stopped pack, an unreachable host) in order.

The runner is built with a client factory; the tests wrap the hooks it gives the
scheduler so every event and every reaction lands in one log, whose order is asserted.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kling_async.batch._runner as runner_module
from kling_async import InternalError, KlingClient, KlingError, SchedulerEvents
from kling_async.batch import BatchRunner, BatchStoppedError, Downloader, Journal
from kling_async.batch._jobs import load_jobs
from kling_async.batch._states import JOB_TRANSITIONS, JobState, check_move
from kling_async.simulator import Simulator
from tests._batchkit import SCALE, closed_port_url, sim_kwargs, video_jobs, write_jobs
from tests._batchkit import job_states as states

# -- job states as a table --------------------------------------------------------------

_S = JobState
LEGAL = {
    (_S.QUEUED, _S.QUEUED),
    (_S.QUEUED, _S.CREATING),
    (_S.QUEUED, _S.CREATED),
    (_S.QUEUED, _S.FAILED),
    (_S.CREATING, _S.CREATING),
    (_S.CREATING, _S.QUEUED),
    (_S.CREATING, _S.CREATED),
    (_S.CREATING, _S.FAILED),
    (_S.CREATED, _S.CREATED),
    (_S.CREATED, _S.SUCCEEDED),
    (_S.CREATED, _S.FAILED),
    (_S.SUCCEEDED, _S.SUCCEEDED),
    (_S.SUCCEEDED, _S.DOWNLOADED),
    (_S.SUCCEEDED, _S.EXPIRED),
    (_S.FAILED, _S.QUEUED),
}


@pytest.mark.parametrize("old", list(JobState))
@pytest.mark.parametrize("new", list(JobState))
def test_every_job_move_is_allowed_or_refused_as_the_table_says(
    old: JobState, new: JobState
) -> None:
    """The table, cell by cell: a legal move returns the new state, any other is a bug."""
    if (old, new) in LEGAL:
        assert check_move("j", old, new) is new
    else:
        with pytest.raises(InternalError, match=f"{old.value} -> {new.value}"):
            check_move("j", old, new)


def test_the_job_table_is_complete_and_every_state_ends() -> None:
    """Every state has a row; every state is reachable from queued and reaches a final
    one; downloaded and expired are the end; pending means a resume finishes it."""
    assert set(JOB_TRANSITIONS) == set(JobState)
    assert {(o, n) for o, targets in JOB_TRANSITIONS.items() for n in targets} == LEGAL
    reach = {_S.QUEUED}
    while True:
        more = {n for o in reach for n in JOB_TRANSITIONS[o]} - reach
        if not more:
            break
        reach |= more
    assert reach == set(JobState)
    assert not JOB_TRANSITIONS[_S.DOWNLOADED] and not JOB_TRANSITIONS[_S.EXPIRED]
    assert {s for s in JobState if s.is_pending} == {_S.QUEUED, _S.CREATING, _S.CREATED}
    assert {s for s in JobState if s.is_final} == {_S.FAILED, _S.DOWNLOADED, _S.EXPIRED}


def test_the_runner_polls_nothing_in_a_sleep_loop() -> None:
    """The runner reacts to events: it neither sleeps nor reads statistics in a loop."""
    tree = ast.parse(Path(runner_module.__file__).read_text())
    sleeps = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("sleep", "ensure_future", "gather")
    ]
    waiting_loops = [loop for loop in ast.walk(tree) if isinstance(loop, ast.While)]
    assert sleeps == [] and waiting_loops == []


# -- the runner reacting to events, in order ---------------------------------------------


def _logged(log: list[str], events: SchedulerEvents) -> SchedulerEvents:
    """``events`` with each hook logging its call first (the runner's reactions follow)."""

    def wrap(name: str, hook: Callable[..., Any] | None) -> Callable[..., Any] | None:
        if hook is None:
            return None

        def logged(*args: Any) -> Any:
            detail = args[0] if name == "pack_stopped" else ""
            log.append(f"{name} {detail}".strip())
            return hook(*args)

        return logged

    return dataclasses.replace(
        events,
        created=wrap("created", events.created),
        pack_stopped=wrap("pack_stopped", events.pack_stopped),
        unreachable=wrap("unreachable", events.unreachable),
        reachable=wrap("reachable", events.reachable),
    )


async def _run(
    tmp_path: Path, kwargs: dict[str, Any], jobs: int, log: list[str], on_client: Any = None
) -> BatchRunner:
    path = write_jobs(tmp_path / "jobs.jsonl", video_jobs(jobs))
    journal = Journal.open(tmp_path / "out", create=True)
    journal.start_batch(load_jobs(path), source=str(path))
    downloads = Downloader(tmp_path / "out" / "files", allow_hosts={"127.0.0.1"})

    def make(events: SchedulerEvents) -> KlingClient:
        client = KlingClient(**kwargs, events=_logged(log, events))
        original = client.aclose

        async def aclose(*, settle_creates: float = 0.0) -> None:
            if not client.closed and "client closed" not in log:
                log.append("client closed")
            await original(settle_creates=settle_creates)

        client.aclose = aclose  # type: ignore[method-assign]
        return client

    runner = BatchRunner(journal, downloads, make)
    try:
        async with runner.client:
            if on_client is not None:
                on_client(runner)
            try:
                await runner.run()
            finally:
                log.append("run ended")
    finally:
        await downloads.aclose()
        journal.close()
    return runner


async def test_a_stopped_pack_ends_the_run_in_order(tmp_path: Path) -> None:
    """A refused key: the scheduler says every pack stopped (before anything else
    happens); the run ends with that error, every job still queued, nothing created."""
    log: list[str] = []
    async with Simulator(time_scale=SCALE, capacity={"video": 3}) as sim:
        kwargs = sim_kwargs(sim, secret_key="w" * 40)
        with pytest.raises(BatchStoppedError) as stopped:
            await asyncio.wait_for(_run(tmp_path, kwargs, 5, log), 30)
        assert sim.stats.total_creates == 0
    assert log[0] == "pack_stopped *" and log.count("pack_stopped *") == 1
    assert "run ended" in log and "client closed" in log and "created" not in log
    assert type(stopped.value.causes[0]).__name__ == "AuthenticationError"
    assert set(states(tmp_path / "out").values()) == {"queued"}


async def test_an_unreachable_host_ends_the_run_in_order(tmp_path: Path) -> None:
    """Every job created, then Kling goes away: three created events, then one
    unreachable (after unreachable_timeout of failed polls, no sleep loop of the
    runner), then the close; the jobs stay created for a resume."""
    log: list[str] = []
    sim = Simulator(time_scale=SCALE, durations={"text2video": 3000})
    await sim.start()
    stopped_sim = asyncio.Event()

    async def stop_when_all_created() -> None:
        while sim.stats.total_creates < 3 or log.count("created") < 3:
            await asyncio.sleep(0.01)
        await sim.stop()
        stopped_sim.set()

    watcher = asyncio.ensure_future(stop_when_all_created())
    try:
        with pytest.raises(BatchStoppedError, match="queries to Kling") as stopped:
            await asyncio.wait_for(_run(tmp_path, sim_kwargs(sim), 3, log), 30)
    finally:
        watcher.cancel()
        await sim.stop()
    assert stopped_sim.is_set()
    assert log == ["created"] * 3 + ["unreachable", "client closed", "run ended"]
    assert isinstance(stopped.value.causes[0], KlingError)
    assert set(states(tmp_path / "out").values()) == {"created"}


async def test_a_host_that_never_answers_ends_the_run_from_the_create_side(
    tmp_path: Path,
) -> None:
    """Nothing can be sent at all: the creates' unreachable window runs out, the
    scheduler says so once, the run closes and ends; nothing was created."""
    log: list[str] = []
    async with Simulator(time_scale=SCALE) as sim:
        kwargs = sim_kwargs(sim, base_url=closed_port_url())
        with pytest.raises(BatchStoppedError, match="could not connect"):
            await asyncio.wait_for(_run(tmp_path, kwargs, 4, log), 30)
    assert log[0] == "unreachable" and log.count("unreachable") == 1
    assert "run ended" in log and "client closed" in log and "created" not in log
    assert set(states(tmp_path / "out").values()) == {"queued"}
