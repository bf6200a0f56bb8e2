"""The journal and the output folder: robust to bad files, odd paths, odd ids, full disks."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kling_async._text import for_terminal as printable
from kling_async.batch import (
    FolderNotEmptyError,
    JobFileError,
    Journal,
    JournalCorruptError,
    JournalWriteError,
    build_report,
    load_jobs,
    resume_batch,
    run_batch,
)
from kling_async.simulator import Simulator
from kling_async.simulator._files import result_file
from tests._batchkit import SCALE, sim_kwargs
from tests._batchkit import video_jobs as videos
from tests._batchkit import write_jobs as jobs_file


def kwargs(sim: Simulator) -> dict[str, Any]:
    return sim_kwargs(sim, capacity={"video": 3, "image": 9, "try_on": 1})


async def test_ids_a_with_two_images_and_a0_get_three_distinct_correct_files(
    tmp_path: Path,
) -> None:
    """Job `a` (n=2) and job `a-0`: three files, each holding its own task's bytes,
    journaled with name, size and checksum."""
    rows = [
        {"id": "a", "family": "image_generation", "params": {"prompt": "x", "n": 2}},
        {"id": "a-0", "family": "image_generation", "params": {"prompt": "y", "n": 1}},
    ]
    out = tmp_path / "out"
    async with Simulator(time_scale=SCALE) as sim:
        await run_batch(jobs_file(tmp_path / "j.jsonl", rows), out, **kwargs(sim))
    journal = Journal.open(out, create=False, read_only=True)
    entries = {r.job_id: r for r in journal.rows()}
    journal.close()
    names = [f.name for r in entries.values() for f in r.file_records]
    assert len(names) == len(set(names)) == 3
    assert sorted(p.name for p in (out / "files").iterdir()) == sorted(names)
    for row in entries.values():
        assert row.state == "downloaded" and row.task_id
        for index, record in enumerate(row.file_records):
            data = (out / "files" / record.name).read_bytes()
            assert record.size == len(data) and record.sha256 == hashlib.sha256(data).hexdigest()
            expected = result_file(row.task_id, f"{index}.png")[1]
            assert data == expected


async def test_a_128_emoji_id_runs_to_the_end(tmp_path: Path) -> None:
    """The longest id allowed (128 emoji, 512 bytes) gets a readable name within 255 bytes."""
    job_id = "\U0001f98a" * 128
    rows = [{"id": job_id, "family": "text2video", "params": {"prompt": "fox"}}]
    out = tmp_path / "out"
    async with Simulator(time_scale=SCALE) as sim:
        await run_batch(jobs_file(tmp_path / "j.jsonl", rows), out, **kwargs(sim))
        assert sim.stats.total_creates == 1
    (name,) = [p.name for p in (out / "files").iterdir()]
    assert name.startswith("\U0001f98a") and len(name.encode()) <= 255


@pytest.mark.parametrize("bad", ["a\x1b[2Jb", "tab\there", "new\nline", "rtl\u202eabc", "\x85"])
async def test_control_characters_in_ids_are_refused_at_load(tmp_path: Path, bad: str) -> None:
    rows = [{"id": bad, "family": "text2video", "params": {"prompt": "x"}}]
    with pytest.raises(JobFileError, match="control characters"):
        load_jobs(jobs_file(tmp_path / "j.jsonl", rows))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is not a database at all, just some text" * 200, "not a valid batch journal"),
        (b"SQLite format 3\x00" + b"\xff" * 5000, "not a valid batch journal"),
    ],
)
async def test_a_broken_journal_is_refused_never_taken_as_empty(
    tmp_path: Path, content: bytes, message: str
) -> None:
    """Garbage, truncated or 0-byte journals: one clear error for resume, status and
    a new run into that folder (which never re-creates the jobs)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "journal.sqlite").write_bytes(content)
    jobs = jobs_file(tmp_path / "j.jsonl", videos(2))
    for opener in (
        lambda: Journal.open(out, create=False),
        lambda: Journal.open(out, create=False, read_only=True),
        lambda: Journal.open(out, create=True),
    ):
        with pytest.raises(JournalCorruptError, match=message):
            opener()
    async with Simulator(time_scale=SCALE) as sim:
        with pytest.raises(JournalCorruptError):
            await run_batch(jobs, out, **kwargs(sim))
        with pytest.raises(JournalCorruptError):
            await resume_batch(out, **kwargs(sim))
        assert sim.stats.total_creates == 0
    assert (out / "journal.sqlite").read_bytes() == content


def test_a_journal_of_another_schema_is_refused_and_schema_1_is_migrated(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    with sqlite3.connect(other / "journal.sqlite") as db:
        db.execute("CREATE TABLE something (x)")
    with pytest.raises(JournalCorruptError, match="not a kling-async batch journal"):
        Journal.open(other, create=False)
    newer = tmp_path / "newer"
    Journal.open(newer, create=True).close()
    with sqlite3.connect(newer / "journal.sqlite") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(JournalCorruptError, match="schema 99"):
        Journal.open(newer, create=False)
    old = tmp_path / "old"
    journal = Journal.open(old, create=True)
    journal.close()
    with sqlite3.connect(old / "journal.sqlite") as db:  # as the first versions wrote it
        db.execute("ALTER TABLE jobs DROP COLUMN attempt")
        db.execute("DELETE FROM meta WHERE key = 'schema_version'")
    journal = Journal.open(old, create=False)
    assert journal.meta("schema_version") == "2"
    journal.close()


async def test_out_paths_with_hash_and_question_mark_work(tmp_path: Path) -> None:
    """The SQLite URI of a read-only open is escaped: `#` and `?` in --out are fine."""
    out = tmp_path / "take #1 ?final"
    async with Simulator(time_scale=SCALE) as sim:
        await run_batch(jobs_file(tmp_path / "j.jsonl", videos(2)), out, **kwargs(sim))
    journal = Journal.open(out, create=False, read_only=True)
    try:
        assert journal.counts()["downloaded"] == 2
        assert build_report(journal).downloaded == 2
    finally:
        journal.close()


async def test_run_refuses_a_folder_with_files_but_no_journal(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "files").mkdir(parents=True)
    (out / "files" / "old.mp4").write_bytes(b"old")
    jobs = jobs_file(tmp_path / "j.jsonl", videos(1))
    async with Simulator(time_scale=SCALE) as sim:
        with pytest.raises(FolderNotEmptyError, match="--force"):
            await run_batch(jobs, out, **kwargs(sim))
        assert not (out / "journal.sqlite").exists() and sim.stats.total_creates == 0
        await run_batch(jobs, out, force=True, **kwargs(sim))
    assert Journal.open(out, create=False, read_only=True).counts()["downloaded"] == 1


async def test_disk_full_stops_with_one_clear_error_and_the_journal_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write failing with SQLite's 'database or disk is full' ends the run with a
    JournalWriteError naming the journal; every row stays valid; a resume (disk
    freed) finishes the batch with each job created once."""
    out = tmp_path / "out"
    jobs = jobs_file(tmp_path / "j.jsonl", videos(6))
    original = Journal._write
    writes = {"n": 0}

    def full_after_some(self: Journal, sql: str, args: Any) -> None:
        writes["n"] += 1
        if writes["n"] > 8:
            raise sqlite3.OperationalError("database or disk is full")
        original(self, sql, args)

    async with Simulator(time_scale=SCALE) as sim:
        monkeypatch.setattr(Journal, "_write", full_after_some)
        with pytest.raises(JournalWriteError, match="disk is full") as failure:
            await run_batch(jobs, out, **kwargs(sim))
        assert "journal.sqlite" in str(failure.value)
        monkeypatch.setattr(Journal, "_write", original)
        journal = Journal.open(out, create=False, read_only=True)
        assert sum(journal.counts().values()) == 6
        journal.close()
        await resume_batch(out, **kwargs(sim))
        assert set(sim.stats.creates_by_external_id.values()) == {1}
    journal = Journal.open(out, create=False, read_only=True)
    assert journal.counts()["downloaded"] == 6
    journal.close()


def test_report_text_escapes_control_characters() -> None:
    assert printable("job\x1b[31m\u202e") == "job\\x1b[31m\\u202e"
    assert printable("\U0001f98a ok") == "\U0001f98a ok"


async def test_utilization_uses_the_capacity_in_force_while_the_batch_ran(tmp_path: Path) -> None:
    """The account's limit drops from 4 to 1 half-way (the client learns 1 from 1303s):
    utilization is measured against the highest capacity in force, never above 100 %."""
    out = tmp_path / "out"
    jobs = jobs_file(tmp_path / "j.jsonl", videos(16))
    async with Simulator(time_scale=SCALE, capacity={"video": 4}, duration_spread=0, seed=3) as sim:
        settings = kwargs(sim)
        settings.pop("capacity")  # learned
        run = asyncio.ensure_future(run_batch(jobs, out, **settings))
        async with asyncio.timeout(30):
            while sim.stats.total_creates < 8:
                await asyncio.sleep(0.005)
        sim.set_capacity("video", 1)
        await asyncio.wait_for(run, 60)
        peak = sim.stats.max_in_use["video"]
    journal = Journal.open(out, create=False, read_only=True)
    report = build_report(journal)
    journal.close()
    assert report.downloaded == 16 and peak >= 2
    assert 0 < report.utilization["video"] <= 1.0
