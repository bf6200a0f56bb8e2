"""Faults that no retry can get past end in an error, soon; a batch stays resumable.

Unreachable Kling -> TransportError within BackoffPolicy.unreachable_timeout;
authentication errors stop every create, account errors (1102 etc.) stop their pack;
a batch keeps the jobs concerned pending and `batch resume` finishes them, each job
created once; `--retry-failed` creates failed jobs again with new ids.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from kling_async import (
    AuthenticationError,
    BackoffPolicy,
    ImageGeneration,
    InsufficientBalanceError,
    KlingClient,
    PollPolicy,
    SchedulerEvents,
    TextToVideo,
    TransportError,
)
from kling_async.batch import BatchStoppedError, Journal, external_id, resume_batch, run_batch
from kling_async.simulator import Faults, Simulator
from tests._batchkit import (
    FAST_RETRY,
    SCALE,
    closed_port_url,
    sim_kwargs,
    video_jobs,
    write_jobs,
)
from tests._batchkit import job_states as states


async def test_unreachable_kling_fails_pending_submissions_within_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Connection refused for unreachable_timeout: every submission fails with a
    TransportError naming the URL and cause; a WARNING comes at the first failure;
    the bound is counted with the scheduler's clock (no real minute waited)."""
    url = closed_port_url()
    caplog.set_level(logging.WARNING, logger="kling_async.scheduler")
    async with KlingClient(
        base_url=url,
        access_key="a" * 32,
        secret_key="s" * 40,
        capacity={"video": 2},
        retry=FAST_RETRY,
        backoff=BackoffPolicy(initial=0.01, max_delay=0.05, unreachable_timeout=0.3),
    ) as client:
        handles = [client.submit(TextToVideo(prompt=f"p{i}")) for i in range(6)]
        results = await asyncio.wait_for(asyncio.gather(*handles, return_exceptions=True), 20)
        assert all(isinstance(r, TransportError) for r in results), results
        message = str(results[0])
        assert url in message and "Connect" in message
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings and "cannot reach Kling" in warnings[0].getMessage()
        # After giving up, a new submission gets one try, not another full wait.
        with pytest.raises(TransportError, match="could not connect"):
            await asyncio.wait_for(client.text_to_video(prompt="later"), 5)


async def test_the_unreachable_clock_restarts_when_kling_answers() -> None:
    """Creates that reach Kling reset the bound: a client that was cut off works again,
    and its owner is told both (unreachable, then reachable), in that order."""
    told: list[str] = []
    events = SchedulerEvents(
        unreachable=lambda error: told.append(f"unreachable: {type(error).__name__}"),
        reachable=lambda: told.append("reachable"),
    )
    async with Simulator(time_scale=SCALE, duration_spread=0) as sim:
        client = sim.client(
            capacity={"video": 2},
            poll=PollPolicy.scaled(SCALE),
            retry=FAST_RETRY,
            backoff=BackoffPolicy(initial=0.01, max_delay=0.05, unreachable_timeout=0.3),
            events=events,
        )
        async with client:
            good = sim.base_url
            client._transport.base_url = closed_port_url()
            with pytest.raises(TransportError):
                await asyncio.wait_for(client.text_to_video(prompt="cut off"), 10)
            client._transport.base_url = good
            task = await asyncio.wait_for(client.text_to_video(prompt="back"), 10)
            assert task.succeeded
        assert told == ["unreachable: TransportError", "reachable"]


async def test_wrong_credentials_stop_every_create_after_one_refusal() -> None:
    """1000 (wrong secret): queued submissions fail with the AuthenticationError and
    later ones fail at once; no more creates are sent than slots were free."""
    async with Simulator(time_scale=SCALE) as sim:
        client = KlingClient(
            base_url=sim.base_url,
            access_key=sim.access_key,
            secret_key="wrong-secret-key-0123456789abcdef-0123",
            capacity={"video": 2, "image": 4},
            retry=FAST_RETRY,
        )
        async with client:
            handles = [client.submit(TextToVideo(prompt=f"p{i}")) for i in range(8)]
            results = await asyncio.wait_for(asyncio.gather(*handles, return_exceptions=True), 10)
            assert all(isinstance(r, AuthenticationError) for r in results), results
            sent = sim.stats.requests_by_endpoint["POST /v1/videos/text2video"]
            assert 1 <= sent <= 2
            later = client.submit(ImageGeneration(prompt="x"))
            with pytest.raises(AuthenticationError):
                await asyncio.wait_for(later, 5)
            assert "*" in client.stopped
        assert sim.stats.requests_by_endpoint["POST /v1/videos/text2video"] == sent
        assert sim.stats.total_creates == 0


async def test_an_account_error_stops_its_pack_only() -> None:
    """Live Kling answers 429/1102 for an image create on a video-only account:
    image submissions fail with InsufficientBalanceError (later ones without a
    request), videos go on."""
    async with Simulator(time_scale=SCALE) as sim:
        sim.set_pack("image", available=False)
        async with sim.client(
            capacity={"video": 2, "image": 4}, poll=PollPolicy.scaled(SCALE), retry=FAST_RETRY
        ) as client:
            images = [client.submit(ImageGeneration(prompt=f"i{i}", n=2)) for i in range(5)]
            videos = [client.submit(TextToVideo(prompt=f"v{i}")) for i in range(4)]
            failed = await asyncio.wait_for(asyncio.gather(*images, return_exceptions=True), 10)
            assert all(isinstance(r, InsufficientBalanceError) for r in failed), failed
            assert "Account balance not enough" in str(failed[0])
            done = await asyncio.wait_for(asyncio.gather(*videos), 20)
            assert all(t.succeeded for t in done)
            image_posts = sim.stats.requests_by_endpoint["POST /v1/images/generations"]
            with pytest.raises(InsufficientBalanceError):
                await asyncio.wait_for(client.submit(ImageGeneration(prompt="late")), 5)
            assert sim.stats.requests_by_endpoint["POST /v1/images/generations"] == image_posts
            assert set(client.stopped) == {"image"}


async def test_batch_with_wrong_key_stops_jobs_pending_and_resume_finishes_them(
    tmp_path: Path,
) -> None:
    """Wrong key: BatchStoppedError, every job still queued (none failed); resume with
    the right key finishes all, each created exactly once."""
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(6))
    out = tmp_path / "out"
    async with Simulator(time_scale=SCALE, capacity={"video": 3}) as sim:
        with pytest.raises(BatchStoppedError, match="AuthenticationError") as stopped:
            await run_batch(jobs, out, **sim_kwargs(sim, secret_key="w" * 40))
        assert stopped.value.pending == 6
        assert set(states(out).values()) == {"queued"}
        assert sim.stats.total_creates == 0
        await resume_batch(out, **sim_kwargs(sim))
        assert set(states(out).values()) == {"downloaded"}
        assert set(sim.stats.creates_by_external_id.values()) == {1}
        assert sim.stats.total_creates == 6


async def test_batch_unreachable_stops_and_resume_finishes(tmp_path: Path) -> None:
    """Kling unreachable: the run ends with BatchStoppedError (TransportError) after
    the bound, jobs pending; resume against a reachable Kling finishes them."""
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(4))
    out = tmp_path / "out"
    async with Simulator(time_scale=SCALE, capacity={"video": 3}) as sim:
        with pytest.raises(BatchStoppedError, match="could not connect") as stopped:
            await asyncio.wait_for(
                run_batch(jobs, out, **sim_kwargs(sim, base_url=closed_port_url())), 30
            )
        assert isinstance(stopped.value.causes[0], TransportError)
        assert set(states(out).values()) == {"queued"}
        await resume_batch(out, **sim_kwargs(sim))
        assert set(states(out).values()) == {"downloaded"}
        assert sim.stats.total_creates == 4


async def test_batch_account_error_finishes_other_packs_then_resume_tops_up(
    tmp_path: Path,
) -> None:
    """No image pack: video jobs finish, image jobs stay queued, the run raises with
    the 1102 error; after the top-up a resume finishes the image jobs."""
    rows = video_jobs(3) + [
        {"id": f"i{i}", "family": "image_generation", "params": {"prompt": "x", "n": 2}}
        for i in range(3)
    ]
    jobs = write_jobs(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    async with Simulator(time_scale=SCALE) as sim:
        sim.set_pack("image", available=False)
        with pytest.raises(BatchStoppedError, match="InsufficientBalanceError"):
            await run_batch(jobs, out, **sim_kwargs(sim))
        after = states(out)
        assert {after[f"v{i}"] for i in range(3)} == {"downloaded"}
        assert {after[f"i{i}"] for i in range(3)} == {"queued"}
        sim.set_pack("image", available=True)
        await resume_batch(out, **sim_kwargs(sim))
        assert set(states(out).values()) == {"downloaded"}
        assert set(sim.stats.creates_by_external_id.values()) == {1}
        assert sim.stats.total_creates == 6


async def test_retry_failed_creates_failed_jobs_again_with_new_ids(tmp_path: Path) -> None:
    """Failed tasks stay failed on a plain resume; --retry-failed creates them again,
    each with a new external_task_id (the failed task's id is never reused)."""
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(4))
    out = tmp_path / "out"
    async with Simulator(time_scale=SCALE, faults=Faults(failure_rate=1.0)) as sim:
        await run_batch(jobs, out, **sim_kwargs(sim))
        assert set(states(out).values()) == {"failed"}
        journal = Journal.open(out, create=False, read_only=True)
        first = {row.job_id: row.external_task_id for row in journal.rows()}
        batch_id = journal.meta("batch_id") or ""
        journal.close()
        await resume_batch(out, **sim_kwargs(sim))
        assert sim.stats.total_creates == 4  # a plain resume creates nothing
        sim.set_faults(failure_rate=0.0)
        await resume_batch(out, retry_failed=True, **sim_kwargs(sim))
        journal = Journal.open(out, create=False, read_only=True)
        rows = journal.rows()
        journal.close()
    assert {row.state for row in rows} == {"downloaded"}
    for row in rows:
        assert row.attempt == 1
        assert row.external_task_id != first[row.job_id]
        assert row.external_task_id == external_id(batch_id, row.job_id, 1)
    assert sim.stats.total_creates == 8
    assert set(sim.stats.creates_by_external_id.values()) == {1}


async def test_batch_whose_queries_all_fail_stops_and_resumes(tmp_path: Path) -> None:
    """Every job created, then Kling goes away: polls fail for unreachable_timeout,
    the run stops (BatchStoppedError), the jobs stay `created`; when Kling is back a
    resume follows them to the end without creating anything again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(3))
    out = tmp_path / "out"
    sim = Simulator(time_scale=SCALE, durations={"text2video": 3000}, port=port)
    await sim.start()
    try:
        run = asyncio.ensure_future(run_batch(jobs, out, **sim_kwargs(sim)))
        async with asyncio.timeout(20):
            while sim.stats.total_creates < 3 or set(states(out).values()) != {"created"}:
                await asyncio.sleep(0.01)
        await sim.stop()
        with pytest.raises(BatchStoppedError, match="queries to Kling"):
            await asyncio.wait_for(run, 30)
        assert set(states(out).values()) == {"created"}
        await sim.start()
        await resume_batch(out, **sim_kwargs(sim))
        assert set(states(out).values()) == {"downloaded"}
        assert sim.stats.total_creates == 3
    finally:
        await sim.stop()
