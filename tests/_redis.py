"""A private redis-server on a free loopback port, for the Redis slot pool tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_redis() -> str:
    """Path of redis-server; skipped locally without it, a failure in CI (KLING_REQUIRE_REDIS)."""
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("KLING_REQUIRE_REDIS"):
            pytest.fail("redis-server is required (KLING_REQUIRE_REDIS is set) but not installed")
        pytest.skip("redis-server is not installed")
    return path


class RedisServer:
    """redis-server with an append-only file, so a restart keeps its data."""

    def __init__(self, folder: Path) -> None:
        self.binary = require_redis()
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.folder),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise RuntimeError("redis-server did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        self.proc = None
