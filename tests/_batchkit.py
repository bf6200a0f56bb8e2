"""Helpers shared by the batch fault tests: job files, client settings, journal states."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from kling_async import BackoffPolicy, PollPolicy, RetryPolicy
from kling_async.batch import Journal
from kling_async.simulator import Simulator

SCALE = 0.002
FAST_RETRY = RetryPolicy(initial_delay=0.001, max_delay=0.01)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def write_jobs(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A JSONL job file of ``rows``."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def video_jobs(count: int, prefix: str = "v") -> list[dict[str, Any]]:
    """``count`` text-to-video job rows with ids ``v0``, ``v1``..."""
    return [
        {"id": f"{prefix}{i}", "family": "text2video", "params": {"prompt": f"{prefix}{i}"}}
        for i in range(count)
    ]


def sim_kwargs(sim: Simulator, **changes: Any) -> dict[str, Any]:
    """Client settings for ``sim``: fast polls, retries and backoff, a 0.5 s unreachable bound."""
    kwargs: dict[str, Any] = {
        "base_url": sim.base_url,
        "access_key": sim.access_key,
        "secret_key": sim.secret_key,
        "capacity": {"video": 3, "image": 4, "try_on": 1},
        "poll": PollPolicy.scaled(SCALE),
        "retry": FAST_RETRY,
        "backoff": BackoffPolicy(initial=0.01, max_delay=0.05, unreachable_timeout=0.5),
    }
    kwargs.update(changes)
    return kwargs


def job_states(out: Path) -> dict[str, str]:
    """Each job's state in the journal of ``out``."""
    journal = Journal.open(out, create=False, read_only=True)
    try:
        return {row.job_id: row.state for row in journal.rows()}
    finally:
        journal.close()


def simulate_run(jobs: Path, out: Path, cwd: Path) -> subprocess.Popen[str]:
    """A real ``kling-async batch run --simulate`` process (stdout and stderr piped)."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "kling_async", "batch", "run", str(jobs), "--out", str(out)),
            *("--simulate", "--sim-time-scale", "0.01", "--no-progress"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
