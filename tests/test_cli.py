"""`kling-async simulate` / `python -m kling_async.simulator` as a user runs them."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from kling_async import KlingClient, TextToVideo
from tests.conftest import ACCESS_KEY, SECRET_KEY


async def test_simulate_serves_until_interrupted() -> None:
    """The command prints its URL, serves a real client, keeps state, stops on SIGINT."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kling_async.simulator",
        "--port",
        "0",
        "--json",
        "--access-key",
        ACCESS_KEY,
        "--secret-key",
        SECRET_KEY,
        "--video",
        "2",
        "--time-scale",
        "100",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        info = json.loads(line)
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
