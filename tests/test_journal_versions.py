"""A journal written by a newer kling_async (an unknown job state, column or schema
version) is refused with one line and exit 2 by every command, before anything is
sent; the run lock is an OS lock on ``journal.sqlite`` itself, so deleting a side
file cannot let two runs share an ``--out``."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from kling_async.batch import (
    Journal,
    JournalCorruptError,
    JournalLockedError,
    resume_batch,
    run_batch,
)
from kling_async.cli import main
from kling_async.simulator import Simulator
from tests._batchkit import sim_kwargs, video_jobs, write_jobs
from tests.test_cli_exit_codes import flags, sim  # noqa: F401 - the fixture

SCALE = 0.002


async def _finished(tmp_path: Path) -> tuple[Path, Path]:
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(2))
    out = tmp_path / "out"
    async with Simulator(time_scale=SCALE, live_shapes=False) as server:
        await run_batch(jobs, out, **sim_kwargs(server))
    return jobs, out


def _requests(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/__stats", timeout=10) as answer:
        return int(json.loads(answer.read())["total_requests"])


NEWER = {
    "state": "UPDATE jobs SET state = 'cancelled' WHERE job_id = 'v0'",
    "column": "ALTER TABLE jobs ADD COLUMN shard TEXT",
    "schema": "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
}


@pytest.mark.parametrize("change", NEWER)
def test_a_journal_of_a_newer_version_is_one_line_and_exit_2(
    change: str,
    sim: str,  # noqa: F811 - the simulator process fixture
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(2))
    assert main(["batch", "run", str(jobs), "--out", str(out), *flags(sim)]) == 0
    with sqlite3.connect(out / "journal.sqlite") as db:
        db.execute(NEWER[change])
    before = (out / "journal.sqlite").read_bytes()
    sent = _requests(sim)
    capsys.readouterr()
    for argv in (
        ["batch", "status", str(out)],
        ["batch", "report", str(out), "--jobs"],
        ["batch", "report", str(out), "--html"],
        ["batch", "resume", str(out), *flags(sim)],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert "written by a newer kling_async" in err and "Traceback" not in err
    assert _requests(sim) == sent + 1  # only this stats request: nothing was sent
    assert (out / "journal.sqlite").read_bytes() == before  # nothing was changed
    with pytest.raises(JournalCorruptError, match="newer kling_async"):
        Journal.open(out, create=False, read_only=True)


async def test_deleting_a_side_file_cannot_let_two_runs_share_an_out(tmp_path: Path) -> None:
    _, out = await _finished(tmp_path)
    first = Journal.open(out, create=False)
    try:
        for side in out.iterdir():  # everything but the journal itself
            if side.is_file() and not side.name.startswith("journal.sqlite"):
                side.unlink()
        with pytest.raises(JournalLockedError, match="another kling-async run"):
            Journal.open(out, create=False)
        assert Journal.in_use(out)
        async with Simulator(time_scale=SCALE, live_shapes=False) as server:
            with pytest.raises(JournalLockedError):
                await resume_batch(out, **sim_kwargs(server))
            assert server.stats.total_creates == 0
    finally:
        first.close()
    assert not Journal.in_use(out)
    Journal.open(out, create=False).close()  # free again once the first run is gone
