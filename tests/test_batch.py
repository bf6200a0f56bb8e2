"""Batch jobs: job files, journal, runner, downloads, report (in-process simulator)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kling_async import PollPolicy, RetryPolicy, Task
from kling_async.batch import (
    Downloader,
    DownloadError,
    JobFileError,
    Journal,
    JournalLockedError,
    ResultsExpiredError,
    build_report,
    external_id,
    file_names,
    load_jobs,
    resume_batch,
    run_batch,
)
from kling_async.endpoints import FAMILIES
from kling_async.simulator import Faults, Simulator
from tests._workload import write_jobs

SCALE = 0.001
URL = "https://example.com/x.png"


def client_kwargs(sim: Simulator) -> dict[str, Any]:
    return {
        "base_url": sim.base_url,
        "access_key": sim.access_key,
        "secret_key": sim.secret_key,
        "capacity": {"video": 5, "image": 9, "try_on": 1},
        "poll": PollPolicy.scaled(SCALE),
        "retry": RetryPolicy(initial_delay=0.005, max_delay=0.05),
    }


async def test_300_job_batch_downloads_everything_and_reports(tmp_path: Path) -> None:
    """A 300-job mixed batch ends with every file downloaded and a right report."""
    jobs = tmp_path / "jobs.jsonl"
    rows = write_jobs(jobs, 300)
    out = tmp_path / "out"
    async with Simulator(
        time_scale=SCALE,
        capacity={"video": 5, "image": 9, "try_on": 1},
        faults=Faults(failure_rate=0.05),
        seed=2,
    ) as sim:
        await run_batch(jobs, out, **client_kwargs(sim))
    journal = Journal.open(out, create=False, read_only=True)
    report = build_report(journal)
    states = journal.counts()
    entries = journal.rows()
    journal.close()
    failed = [r for r in entries if r.state == "failed"]
    assert states["downloaded"] + states["failed"] == 300 and failed
    assert all(r.reason and "simulated failure" in r.reason for r in failed)
    assert report.succeeded == report.downloaded == 300 - len(failed)
    assert report.pending == 0 and report.failed == len(failed)
    expected_files = sum(
        (row["params"].get("n", 1) if row["family"] == "image_generation" else 1)
        for row in rows
        if row["id"] not in {r.job_id for r in failed}
    )
    files = sorted(p.name for p in (out / "files").iterdir())
    assert report.files == expected_files == len(files)
    assert not [f for f in files if f.startswith(".")]
    assert report.units == pytest.approx(sum(float(r.units or 0) for r in entries))
    assert report.utilization["video"] > 0.5
    created = sim.stats.creates_by_external_id
    assert set(created.values()) == {1} and len(created) == 300
    assert {r.external_task_id for r in entries} == set(created)


def test_bad_rows_are_all_listed_and_nothing_is_written(tmp_path: Path) -> None:
    """A job file with bad rows is refused whole, every problem named."""
    jobs = tmp_path / "bad.jsonl"
    jobs.write_text(
        "\n".join(
            [
                json.dumps({"id": "ok", "family": "text2video", "params": {"prompt": "fine"}}),
                json.dumps(
                    {"id": "long", "family": "text2video", "params": {"prompt": "x" * 3000}}
                ),
                json.dumps({"id": "fam", "family": "text3video", "params": {}}),
                "{not json",
                json.dumps({"family": "text2video", "params": {"prompt": "no id"}}),
                json.dumps({"id": "ok", "family": "text2video", "params": {"prompt": "dup"}}),
                json.dumps(
                    {"id": "n", "family": "image_generation", "params": {"prompt": "p", "n": 12}}
                ),
                json.dumps(
                    {
                        "id": "ext",
                        "family": "text2video",
                        "params": {"prompt": "p", "external_task_id": "mine"},
                    }
                ),
            ]
        )
        + "\n"
    )
    with pytest.raises(JobFileError) as info:
        load_jobs(jobs)
    problems = info.value.problems
    text = str(info.value)
    assert len(problems) == 7 and "nothing was submitted" in text
    for needle in (
        "'long'): prompt",
        "text3video",
        "line 4: not JSON",
        "line 5: id is missing",
        "duplicate id",
        "'n'): n",
        "params.external_task_id",
    ):
        assert needle in text, needle


async def test_bad_job_file_sends_no_request_and_creates_no_journal(tmp_path: Path) -> None:
    """run_batch with a bad file raises before any network I/O or journal write."""
    jobs = tmp_path / "bad.jsonl"
    jobs.write_text(json.dumps({"id": "a", "family": "text2video", "params": {}}) + "\n")
    async with Simulator(time_scale=SCALE) as sim:
        with pytest.raises(JobFileError, match="prompt"):
            await run_batch(jobs, tmp_path / "out", **client_kwargs(sim))
    assert sim.stats.total_requests == 0
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"capacity": {"audio": 3}}, "unknown pack 'audio'"),
        ({"capcity": {"video": 3}}, "did you mean 'capacity'"),
        ({"region": "mars", "base_url": None}, "unknown region"),
        ({"concurrency_scope": "per_moon"}, "concurrency_scope"),
        ({"callback_route": "ftp://x/cb"}, "http"),
        ({"access_key": None, "secret_key": None}, "no Kling credentials"),
    ],
)
async def test_bad_client_settings_create_no_journal(
    tmp_path: Path, setting: dict[str, Any], message: str
) -> None:
    """Every client setting is checked before the journal exists (no client is built for
    it): a bad one is one clear error, no folder, no request."""
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"id": "a", "family": "text2video", "params": {"prompt": "x"}}))
    async with Simulator(time_scale=SCALE) as sim:
        kwargs = {**client_kwargs(sim), **setting}
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        with pytest.raises(ValueError, match=message):
            await run_batch(jobs, tmp_path / "out", **kwargs)
    assert sim.stats.total_requests == 0
    assert not (tmp_path / "out").exists()


def test_csv_job_files(tmp_path: Path) -> None:
    """CSV rows become jobs of one family; typed cells are converted by the models."""
    path = tmp_path / "jobs.csv"
    path.write_text("id,prompt,n,aspect_ratio,priority\na,a lighthouse,2,3:4,1\nb,a mug,,1:1,\n")
    jobs = load_jobs(path, family="image_generation")
    assert [(j.id, j.priority, FAMILIES[j.family].slot_cost(j.request)) for j in jobs] == [
        ("a", 1, 2),
        ("b", 0, 1),
    ]
    with pytest.raises(JobFileError, match="not a task family"):
        load_jobs(path, family="nope")
    with pytest.raises(JobFileError, match="family"):
        load_jobs(path)


def test_journal_lock_and_deterministic_ids(tmp_path: Path) -> None:
    """Two runs cannot share a journal; external ids depend only on batch and job id."""
    first = Journal.open(tmp_path, create=True)
    try:
        with pytest.raises(JournalLockedError):
            Journal.open(tmp_path, create=False)
        reader = Journal.open(tmp_path, create=False, read_only=True)  # status still works
        reader.close()
    finally:
        first.close()
    Journal.open(tmp_path, create=False).close()  # released
    assert external_id("b1", "job") == external_id("b1", "job") != external_id("b2", "job")
    assert len(external_id("b1", "x" * 128)) <= 40


async def test_resume_settles_every_journal_state(tmp_path: Path) -> None:
    """creating (made / not made), created, succeeded rows all end downloaded, none twice."""
    out = tmp_path / "out"
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text(
        "\n".join(
            json.dumps({"id": f"j{i}", "family": "text2video", "params": {"prompt": f"p{i}"}})
            for i in range(5)
        )
        + "\n"
    )
    journal = Journal.open(out, create=True)
    batch_id = journal.start_batch(load_jobs(jobs_file), source="test")
    async with Simulator(time_scale=SCALE, durations={"text2video": 100}) as sim:
        # j0: 'creating' and really created; j1: 'creating' never sent; j2: created;
        # j3: succeeded but not downloaded; j4: queued.
        made = sim.inject_task(
            "/v1/videos/text2video",
            {"prompt": "p0", "external_task_id": external_id(batch_id, "j0")},
        )
        running = sim.inject_task(
            "/v1/videos/text2video",
            {"prompt": "p2", "external_task_id": external_id(batch_id, "j2")},
        )
        done = sim.inject_task(
            "/v1/videos/text2video",
            {"prompt": "p3", "external_task_id": external_id(batch_id, "j3")},
        )
        await journal.mark_creating("j0")
        await journal.mark_creating("j1")
        await journal.mark_created("j2", running.task_id)
        await asyncio.sleep(0.15)  # j3's task ends
        await journal.mark_created("j3", done.task_id)
        await journal.mark_ended(
            "j3", succeeded=True, task=done.to_json(sim.core.now()), reason=None
        )
        journal.close()
        await resume_batch(out, **client_kwargs(sim))
    check = Journal.open(out, create=False, read_only=True)
    rows = {r.job_id: r for r in check.rows()}
    check.close()
    assert {r.state for r in rows.values()} == {"downloaded"}
    assert rows["j0"].task_id == made.task_id
    assert set(sim.stats.creates_by_external_id.values()) == {1}
    assert sim.stats.total_creates == 5


class HalfServer:
    """Serves a file announcing 10,000 bytes but sending half, `failures` times."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.hits = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        body = b"\x89PNG" + b"x" * 9996
        if self.hits > self.failures:
            return web.Response(body=body, content_type="image/png")
        response = web.StreamResponse(headers={"Content-Length": "10000"})
        await response.prepare(request)
        await response.write(body[:5000])
        assert request.transport is not None
        request.transport.close()
        return response


async def _serve(server: HalfServer) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/f/{name}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/f/a.png"


async def test_interrupted_download_leaves_no_partial_file(tmp_path: Path) -> None:
    """A download cut half-way never leaves a file (or .part) in the output folder."""
    server = HalfServer(failures=99)
    runner, url = await _serve(server)
    task = Task.model_validate(
        {
            "task_id": "1",
            "task_status": "succeed",
            "created_at": int(time.time() * 1000),
            "task_result": {"images": [{"url": url}]},
        }
    )
    downloads = Downloader(tmp_path, attempts=3, initial_delay=0.001, allow_hosts={"127.0.0.1"})
    try:
        with pytest.raises(DownloadError):
            await downloads.fetch_task("job", task)
        assert list(tmp_path.iterdir()) == [] and server.hits == 3
        server.failures = server.hits + 1  # one more cut, then a good answer
        files = await downloads.fetch_task("job", task)
    finally:
        await downloads.aclose()
        await runner.cleanup()
    name = file_names("job", [url])[0]
    assert [f.name for f in files] == [name] and name.startswith("job_")
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name).stat().st_size == 10000 == files[0].size


async def test_results_past_retention_are_reported_expired(tmp_path: Path) -> None:
    """A task older than 30 days is reported as expired, not fetched."""
    old = int((time.time() - 31 * 86_400) * 1000)
    task = Task.model_validate(
        {
            "task_id": "1",
            "task_status": "succeed",
            "created_at": old,
            "task_result": {"videos": [{"url": "http://127.0.0.1:9/x"}]},
        }
    )
    downloads = Downloader(tmp_path)
    with pytest.raises(ResultsExpiredError, match="30 days"):
        await downloads.fetch_task("job", task)
    await downloads.aclose()
