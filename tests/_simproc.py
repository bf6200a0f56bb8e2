"""`python -m kling_async.simulator` as a separate process, as users start it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

from tests.conftest import ACCESS_KEY, SECRET_KEY


def simulator_command(*flags: str) -> list[str]:
    """``python -m kling_async.simulator`` on a free port, JSON start-up line, test keys."""
    return [
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
        *flags,
    ]


def start_simulator_blocking(*flags: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """:func:`start_simulator` for synchronous tests."""
    proc = subprocess.Popen(simulator_command(*flags), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    return proc, dict(json.loads(proc.stdout.readline()))


async def start_simulator(*flags: str) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    """Start the simulator on a free port with the test credentials and ``flags``;
    returns the process and the JSON line it printed (base_url, keys, capacity)."""
    proc = await asyncio.create_subprocess_exec(
        *simulator_command(*flags),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc, dict(info)
