"""The crash matrix: a batch killed with SIGKILL at 20 random moments, then resumed."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
from pathlib import Path

import aiohttp

from tests._simproc import start_simulator
from tests._workload import write_jobs
from tests.conftest import ACCESS_KEY, SECRET_KEY

JOBS = 120
#: simulator (and poll) time scale: a 320 s video takes ~2 s, so 120 jobs outlast 20 kills
SCALE = "0.006"


def _states(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())


async def _cli(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kling_async.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_sigkill_at_20_moments_then_resume_creates_each_job_exactly_once(
    tmp_path: Path,
) -> None:
    """However often the batch is killed, each job is created once and nothing is lost."""
    jobs = tmp_path / "jobs.jsonl"
    write_jobs(jobs, JOBS, seed=11)
    out = tmp_path / "out"
    sim, info = await start_simulator(
        "--time-scale", SCALE, "--video", "5", "--image", "9", "--try-on", "1"
    )
    try:
        env = {
            **os.environ,
            "KLING_ACCESS_KEY": ACCESS_KEY,
            "KLING_SECRET_KEY": SECRET_KEY,
            "KLING_BASE_URL": info["base_url"],
        }
        common = ["--capacity", "video=5,image=9,try_on=1", "--no-progress", "--poll-scale", SCALE]
        rng = random.Random(2024)
        seen_at_kill: list[dict[str, int]] = []
        kills = 0
        exits: list[int | None] = []
        while kills < 20:
            started = _states(out / "journal.sqlite")
            if sum(started.values()) == 0:
                args = ["batch", "run", str(jobs), "--out", str(out), *common]
            else:
                args = ["batch", "resume", str(out), *common]
            proc = await _cli(args, env)
            await asyncio.sleep(rng.uniform(0.4, 1.8))
            if proc.returncode is None:
                seen_at_kill.append(_states(out / "journal.sqlite"))
                proc.kill()
                kills += 1
            await proc.wait()
            exits.append(proc.returncode)
            if proc.returncode == 0:
                break  # finished before we could kill it again
        for _ in range(5):
            proc = await _cli(["batch", "resume", str(out), *common], env)
            if await asyncio.wait_for(proc.wait(), 120) == 0:
                break
        assert proc.returncode == 0
        async with aiohttp.ClientSession() as http, http.get(info["base_url"] + "/__stats") as r:
            stats = await r.json()
    finally:
        sim.terminate()
        await sim.wait()
    final = _states(out / "journal.sqlite")
    assert final == {"downloaded": JOBS}
    with sqlite3.connect(out / "journal.sqlite") as conn:
        ext_ids = {row[0] for row in conn.execute("SELECT external_task_id FROM jobs")}
    assert set(stats["creates_by_external_id"]) == ext_ids
    assert set(stats["creates_by_external_id"].values()) == {1}
    assert stats["total_creates"] == JOBS
    assert stats["max_in_use"]["video"] <= 5 and stats["max_in_use"]["image"] <= 9
    files = [p.name for p in (out / "files").iterdir()]
    assert not [f for f in files if f.startswith(".")]
    # The kills landed in different phases of the batch.
    phases = {state for snapshot in seen_at_kill for state, n in snapshot.items() if n}
    assert kills == 20 and len(seen_at_kill) == 20, str(exits)
    assert {"creating", "created"} <= phases and "downloaded" in phases
