"""One writer for every file under ``--out``: a symlink planted at any file a run
writes (the journal and its WAL, report.json, report.html, the simulator's state
file; downloads: tests/test_download_safety.py) is refused the same way and its
target stays untouched; a full disk leaves no temporary file and no 0-byte report;
a report that cannot be written is one line and a non-zero exit, never a printed
path to a missing file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import kling_async._files as files
from kling_async import UnsafeFileError
from kling_async._files import open_append, write_atomic
from kling_async.cli import main
from tests._batchkit import video_jobs, write_jobs

SIM = ["--simulate", "--sim-time-scale", "0.002", "--no-progress"]
PRECIOUS = b"precious, outside --out"


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    return victim


def _planted(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """An empty ``out`` folder with a symlink named ``name`` to a file outside it."""
    out = tmp_path / "out"
    out.mkdir()
    victim = _victim(tmp_path)
    (out / name).symlink_to(victim)
    return out, victim


def _run(tmp_path: Path, out: Path) -> int:
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(2))
    return main(["batch", "run", str(jobs), "--out", str(out), *SIM])


@pytest.mark.parametrize("name", ["journal.sqlite", "journal.sqlite-wal", "simulator-state.jsonl"])
def test_a_link_planted_before_the_run_is_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, victim = _planted(tmp_path, name)
    code = _run(tmp_path, out) if name != "simulator-state.jsonl" else None
    if code is None:  # the state file is read at a resume: run, then plant, then resume
        (out / name).unlink()
        assert _run(tmp_path, out) == 0
        (out / name).unlink()
        (out / name).symlink_to(victim)
        code = main(["batch", "resume", str(out), *SIM])
    err = capsys.readouterr().err
    assert code != 0
    assert "symbolic link" in err and "Traceback" not in err, err
    assert victim.read_bytes() == PRECIOUS


@pytest.mark.parametrize("name", ["report.json", "report.html"])
def test_a_link_planted_at_a_report_is_refused_in_one_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, victim = _planted(tmp_path, name)
    code = main(
        [
            "batch",
            "run",
            str(write_jobs(tmp_path / "j.jsonl", video_jobs(2))),
            "--out",
            str(out),
            "--force",
            *SIM,
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("kling-async:")]
    assert len(errors) == 1 and "symbolic link" in errors[0] and "batch report" in errors[0]
    assert "report:" not in captured.out  # no path printed to a file that was not written
    assert victim.read_bytes() == PRECIOUS
    assert list(out.glob(".*.part")) == []
    # the page alone, written again on request: refused the same way
    assert main(["batch", "report", str(out), "--html"]) == (1 if name == "report.html" else 0)
    assert victim.read_bytes() == PRECIOUS


def test_the_writer_refuses_links_and_leaves_nothing_on_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = _victim(tmp_path)
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        write_atomic(link, "{}")
    dangling = tmp_path / "state.jsonl"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UnsafeFileError):
        open_append(dangling)
    assert not (tmp_path / "nowhere").exists()

    target = tmp_path / "report.html"
    target.write_text("the previous report")

    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write_all", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "<html>" + "x" * 10_000)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(tmp_path / "new.json", "{}")
    monkeypatch.undo()
    assert target.read_text() == "the previous report"  # untouched, not half-written
    assert not (tmp_path / "new.json").exists()  # no 0-byte file
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []
    assert victim.read_bytes() == PRECIOUS


def test_a_full_disk_at_the_report_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert _run(tmp_path, out) == 0
    (out / "report.html").unlink()
    capsys.readouterr()

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write_all", full)
    assert main(["batch", "report", str(out), "--html"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err, err
    assert not (out / "report.html").exists()
    assert list(out.glob(".*.part")) == []
