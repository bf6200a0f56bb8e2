"""`kling-async simulate` / `python -m kling_async.simulator` as a user runs them."""

from __future__ import annotations

import asyncio
import signal
import sys

from kling_async import KlingClient, TextToVideo
from tests._simproc import start_simulator
from tests.conftest import ACCESS_KEY, SECRET_KEY


async def test_simulate_serves_until_interrupted() -> None:
    """The command prints its URL, serves a real client, keeps state, stops on SIGINT."""
    proc, info = await start_simulator("--video", "2", "--time-scale", "100")
    try:
        assert info["access_key"] == ACCESS_KEY and info["capacity"]["video"] == 2
        async with KlingClient(
            access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=info["base_url"]
        ) as client:
            task = await client.create(TextToVideo(prompt="fox"), external_task_id="cli-1")
        # A second, fresh client process would see the same state:
        async with KlingClient(
            access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=info["base_url"]
        ) as client:
            again = await client.get_task("text2video", external_task_id="cli-1")
        assert again.task_id == task.task_id
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0


async def test_simulate_rejects_bad_settings() -> None:
    """A fault rate outside [0, 1] is a clear error, exit status 2."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kling_async.simulator",
        "--failure-rate",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and b"failure_rate" in err
