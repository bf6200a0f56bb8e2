"""SIGTERM and SIGHUP on real processes: a ``batch run`` stops the way Ctrl-C stops it
(the resume hint, no traceback, no ``.part`` file left, exit 143 / 129) and resumes
to the end with each job created once; a service example's SIGTERM closes its client
and logs the ids of the tasks still running at Kling."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests._batchkit import job_states, simulate_run, video_jobs, write_jobs
from tests.test_cli_newcomer import cli, created_jobs, wait_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [
        (signal.SIGTERM, 143, "Terminated (SIGTERM)"),
        (signal.SIGHUP, 129, "Hung up (SIGHUP)"),
    ],
)
def test_a_signal_stops_a_batch_like_ctrl_c(
    signum: int, code: int, said: str, tmp_path: Path
) -> None:
    rows = video_jobs(6) + [
        {"id": f"img{i}", "family": "image_generation", "params": {"prompt": "cat", "n": 2}}
        for i in range(3)
    ]
    jobs = write_jobs(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    run = simulate_run(jobs, out, tmp_path)
    try:
        wait_for(lambda: created_jobs(out) >= 2, "two created jobs")
        run.send_signal(signum)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == code, err
    assert said in err and "Resume with:" in err, err
    assert "Traceback" not in err and "never retrieved" not in err, err
    assert list(out.rglob("*.part")) == []  # no half-written file anywhere under --out
    code_, _, err = cli("batch", "resume", str(out), "--simulate", "--no-progress", timeout=300)
    assert code_ == 0, err
    assert set(job_states(out).values()) == {"downloaded"}
    lines = (out / "simulator-state.jsonl").read_text().splitlines()
    created = [json.loads(line)["external_task_id"] for line in lines[1:]]
    assert len(created) == len(set(created)) == len(rows)  # each job created exactly once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


@pytest.mark.parametrize("example", ["aiohttp_service", "fastapi_service"])
def test_a_service_sigterm_detaches_running_tasks_with_their_ids(example: str) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / f"{example}.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PORT": str(port)},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                created = _post(f"{base}/videos", {"prompt": "a red fox", "duration": 10})
                break
            except OSError:
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.1)
        video = str(created["id"])
        wait_for(
            lambda: _get(f"{base}/videos/{video}")["state"] in ("submitted", "processing"),
            "the task to be created",
        )
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    # uvicorn re-raises the signal after its graceful shutdown (exit by SIGTERM)
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Application shutdown complete" in err or example == "aiohttp_service"
    assert "still running at Kling" in err and f"external_task_id={video}" in err, err
    assert "task_id=" in err and "Traceback" not in err, err
