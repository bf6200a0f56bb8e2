"""`python -m kling_async.simulator` as a separate process, as users start it."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from tests.conftest import ACCESS_KEY, SECRET_KEY


async def start_simulator(*flags: str) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    """Start the simulator on a free port with the test credentials and ``flags``;
    returns the process and the JSON line it printed (base_url, keys, capacity)."""
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
        *flags,
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
