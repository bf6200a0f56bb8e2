"""`kling-async batch run/resume` exit codes and messages, as a user's script sees them.

The simulator runs as its own process (`python -m kling_async.simulator`); the CLI
runs in-process through `main()` (it owns its event loop, as from the shell).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kling_async.batch import Journal
from kling_async.cli import main
from kling_async.cli._commands import EXIT_CODES
from tests._batchkit import closed_port_url
from tests._simproc import start_simulator_blocking
from tests.conftest import ACCESS_KEY, SECRET_KEY

SCALE = "0.002"


def start_sim(*flags: str) -> tuple[subprocess.Popen[bytes], str]:
    proc, info = start_simulator_blocking("--time-scale", SCALE, *flags)
    return proc, str(info["base_url"])


@pytest.fixture
def sim() -> Iterator[str]:
    proc, base_url = start_sim()
    try:
        yield base_url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"v{i}", "family": "text2video", "params": {"prompt": f"v{i}"}})
            + "\n"
            for i in range(4)
        )
    )
    return path


def flags(base_url: str, secret: str = SECRET_KEY) -> list[str]:
    return [
        "--base-url",
        base_url,
        "--access-key",
        ACCESS_KEY,
        "--secret-key",
        secret,
        "--capacity",
        "video=3",
        "--poll-scale",
        SCALE,
        "--no-progress",
        "--unreachable-timeout",
        "0.5",
    ]


def states(out: Path) -> set[str]:
    journal = Journal.open(out, create=False, read_only=True)
    try:
        return {row.state for row in journal.rows()}
    finally:
        journal.close()


def test_exit_codes_are_documented() -> None:
    assert set(EXIT_CODES) == {0, 1, 2, 3, 4, 5, 6, 129, 130, 143}


def test_wrong_key_exits_5_jobs_pending_then_resume_exits_0(
    sim: str, jobs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    wrong = "wrong-secret-key-0123456789abcdef-0123456789"
    assert main(["batch", "run", str(jobs), "--out", str(out), *flags(sim, wrong)]) == 5
    err = capsys.readouterr().err
    assert "stopped" in err and "AuthenticationError" in err
    assert f"kling-async batch resume {out}" in err
    assert wrong not in err and "Traceback" not in err
    assert states(out) == {"queued"}
    assert main(["batch", "resume", str(out), *flags(sim)]) == 0
    assert states(out) == {"downloaded"}


def test_unreachable_kling_exits_5_within_the_bound(
    jobs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    url = closed_port_url()
    assert main(["batch", "run", str(jobs), "--out", str(out), *flags(url)]) == 5
    err = capsys.readouterr().err
    assert "could not connect" in err and url in err
    assert states(out) == {"queued"}


def test_failed_jobs_exit_4_and_retry_failed_recreates_them(
    jobs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    failing, failing_url = start_sim("--failure-rate", "1")
    try:
        assert main(["batch", "run", str(jobs), "--out", str(out), *flags(failing_url)]) == 4
    finally:
        stop(failing)
    err = capsys.readouterr().err
    assert "--retry-failed" in err and states(out) == {"failed"}
    healthy, healthy_url = start_sim()
    try:
        assert main(["batch", "resume", str(out), *flags(healthy_url)]) == 4  # nothing retried
        code = main(["batch", "resume", str(out), "--retry-failed", *flags(healthy_url)])
        assert code == 0
    finally:
        stop(healthy)
    assert states(out) == {"downloaded"}


def test_a_corrupt_journal_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "journal.sqlite").write_bytes(b"")
    for argv in (["batch", "status", str(out)], ["batch", "report", str(out)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "empty (0 bytes)" in err


def test_disk_full_is_one_line_and_exit_1(
    jobs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    original = Journal._write
    count = {"n": 0}

    def full(self: Journal, sql: str, args: Any) -> None:
        count["n"] += 1
        if count["n"] > 3:
            raise sqlite3.OperationalError("database or disk is full")
        original(self, sql, args)

    monkeypatch.setattr(Journal, "_write", full)
    assert main(["batch", "run", str(jobs), "--out", str(out), "--simulate", "--no-progress"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("kling-async:")]
    assert len(lines) == 1 and "disk is full" in lines[0] and "Traceback" not in err
    monkeypatch.setattr(Journal, "_write", original)
    assert states(out) <= {"queued", "creating", "created", "succeeded", "downloaded"}


def test_a_folder_with_files_but_no_journal_exits_2_unless_forced(
    jobs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["batch", "run", str(jobs), "--out", str(out), "--simulate", "--no-progress"]) == 2
    assert "--force" in capsys.readouterr().err
    argv = ["batch", "run", str(jobs), "--out", str(out), "--simulate", "--no-progress", "--force"]
    assert main(argv) == 0
    assert (out / "notes.txt").read_text() == "mine"
