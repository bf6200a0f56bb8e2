"""A batch's costs against the simulator's ground truth: the budget refuses before
anything is created, holds mid-run, a resume with a larger budget finishes exactly
once, deductions are reconciled with estimates, an empty pack stops the batch until
a top-up, and the account's balance is checked before the start."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kling_async.batch import BatchStoppedError, ReportWriteError, resume_batch, run_batch
from kling_async.batch._costs import BudgetRefusedError
from kling_async.batch._run import CostOptions
from kling_async.errors import BudgetExceededError, InsufficientBalanceError
from kling_async.simulator import Simulator
from tests._batchkit import job_states, sim_kwargs, video_jobs, write_jobs


def _sim(**kwargs: Any) -> Simulator:
    return Simulator(time_scale=0.002, live_shapes=False, **kwargs)


def _creates(sim: Simulator) -> Counter[str]:
    return Counter(sim.stats.creates_by_external_id)


async def test_over_budget_refuses_before_anything_is_created(tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(6))
    async with _sim() as sim:
        with pytest.raises(BudgetRefusedError, match="video: 6 > budget 5") as info:
            await run_batch(
                jobs, tmp_path / "out", costs=CostOptions(budget="video=5"), **sim_kwargs(sim)
            )
        assert info.value.estimate.by_pack == {"video": 6.0}
        assert sim.stats.total_creates == 0
    assert not (tmp_path / "out").exists()  # refused before the journal was made


async def test_budget_reached_mid_run_then_a_larger_budget_finishes_once(tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(6))
    out = tmp_path / "out"
    async with _sim() as sim:
        kwargs = sim_kwargs(sim)
        with pytest.raises(BatchStoppedError) as info:
            await run_batch(jobs, out, costs=CostOptions(budget="video=4", partial=True), **kwargs)
        assert any(isinstance(c, BudgetExceededError) for c in info.value.causes)
        states = Counter(job_states(out).values())
        assert states == {"downloaded": 4, "queued": 2}
        assert sim.stats.total_creates == 4
        # without --budget the journal's budget still holds: refused, nothing more created
        with pytest.raises(BudgetRefusedError, match="video=4"):
            await resume_batch(out, **kwargs)
        assert sim.stats.total_creates == 4
        await resume_batch(out, costs=CostOptions(budget="video=6"), **kwargs)
        assert Counter(job_states(out).values()) == {"downloaded": 6}
        assert sim.stats.total_creates == 6 and set(_creates(sim).values()) == {1}
    report = json.loads((out / "report.json").read_text())
    assert report["budget"] == "video=6"
    assert (out / "report.html").exists()


async def test_the_report_reconciles_estimates_with_deductions(tmp_path: Path) -> None:
    rows = [
        {"id": "std", "family": "text2video", "params": {"prompt": "a"}},
        {
            "id": "pro10",
            "family": "text2video",
            "params": {"prompt": "b", "mode": "pro", "duration": "10"},
        },
        {"id": "img", "family": "image_generation", "params": {"prompt": "c", "n": 2}},
        {
            "id": "tryon",
            "family": "virtual_try_on",
            "params": {"human_image": "https://e.com/a.png", "cloth_image": "https://e.com/b.png"},
        },
    ]
    jobs = write_jobs(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    prices = tmp_path / "prices.json"  # our own (wrong) price for pro: flagged
    prices.write_text(
        json.dumps(
            [
                {
                    "families": ["text2video"],
                    "model": "kling-v1",
                    "when": {"mode": "pro"},
                    "per": "second",
                    "units": 1.0,
                    "pack": "video",
                }
            ]
        )
    )
    async with _sim() as sim:
        await run_batch(jobs, out, costs=CostOptions(prices=prices), **sim_kwargs(sim))
        ledger = {r["task_id"]: r["deduction_amount"] for r in sim.ledger()}
    report = json.loads((out / "report.json").read_text())
    by_id = {r["job_id"]: r for r in report["job_rows"]}
    for row in by_id.values():  # every deduction the simulator made is in the report
        assert float(row["units"]) == ledger[row["task_id"]]
    assert by_id["std"]["estimated_units"] == 1.0 and by_id["std"]["difference"] == ""
    assert by_id["pro10"]["estimated_units"] == 10.0  # ours: 1 unit/s
    assert by_id["pro10"]["units"] == "7" and by_id["pro10"]["difference"] == "-3"
    assert by_id["img"]["estimated_units"] == 16.0 and by_id["img"]["units"] == "16"
    assert by_id["tryon"]["estimated_units"] is None  # no estimate, never a guess
    assert report["flagged"] == [{"job_id": "pro10", "estimated": 10.0, "deducted": 7.0}]
    assert report["estimated"] == {"video": 11.0, "image": 16.0, "try_on": 0.0}
    assert report["deducted"] == {"video": 8.0, "image": 16.0, "try_on": 1.0}
    assert report["unpriced"] == 1


async def test_an_empty_pack_stops_the_batch_until_a_top_up(tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(8))
    out = tmp_path / "out"
    async with _sim(balances={"video": 2}, capacity={"video": 1}) as sim:
        kwargs = sim_kwargs(sim, capacity={"video": 1})
        with pytest.raises(BatchStoppedError) as info:
            await run_batch(jobs, out, costs=CostOptions(balance="off"), **kwargs)
        assert any(isinstance(c, InsufficientBalanceError) for c in info.value.causes)
        done = sim.stats.total_creates
        assert done == 2 and sim.balances()["video"] == 0
        assert Counter(job_states(out).values()) == {"downloaded": 2, "queued": 6}
        sim.top_up("video", 100)
        await resume_batch(out, **kwargs)
        assert Counter(job_states(out).values()) == {"downloaded": 8}
        assert set(_creates(sim).values()) == {1}


async def test_the_balance_is_checked_before_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(3))
    async with _sim(balances={"video": 2}) as sim:
        with pytest.raises(BudgetRefusedError, match="video: about 3 units needed, 2 remaining"):
            await run_batch(
                jobs, tmp_path / "a", costs=CostOptions(balance="require"), **sim_kwargs(sim)
            )
        assert sim.stats.total_creates == 0
        await run_batch(jobs, tmp_path / "b", **sim_kwargs(sim))  # default: warn, then run
        assert "may not cover the estimate" in caplog.text
        assert sim.stats.requests_by_endpoint["GET /account/costs"] == 2


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kling_async", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_estimate_budget_and_html(tmp_path: Path) -> None:
    write_jobs(
        tmp_path / "jobs.jsonl",
        [
            *video_jobs(3),
            {"id": "img", "family": "image_generation", "params": {"prompt": "x", "n": 2}},
        ],
    )
    done = _cli("batch", "estimate", "jobs.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "text2video        video  3         3" in done.stdout
    assert "total units: image 16, video 3" in done.stdout
    over = _cli("batch", "estimate", "jobs.jsonl", "--budget", "image=10", "--json", cwd=tmp_path)
    assert over.returncode == 6
    assert json.loads(over.stdout)["budget"]["exceeded"] == ["image: 16 > budget 10"]
    refused = _cli(
        "batch",
        "run",
        "jobs.jsonl",
        "--out",
        "o",
        "--simulate",
        "--budget",
        "10",
        "--no-progress",
        cwd=tmp_path,
    )
    assert refused.returncode == 6 and "total: 19 > budget 10" in refused.stderr
    assert "nothing was created" in refused.stderr and not (tmp_path / "o").exists()
    ran = _cli(
        "batch",
        "run",
        "jobs.jsonl",
        "--out",
        "o",
        "--simulate",
        "--budget",
        "video=3,image=16",
        "--no-progress",
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    assert "units estimated / deducted (ended jobs):" in ran.stdout
    (tmp_path / "o" / "report.html").unlink()
    page = _cli("batch", "report", "o", "--html", cwd=tmp_path)
    assert page.returncode == 0 and (tmp_path / "o" / "report.html").exists()


async def test_a_report_that_cannot_be_written_is_said_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run went well but the report could not be written: the run ends with a
    ReportWriteError naming the cause and how to write it again (never a silent
    warning); the jobs are done and journaled."""
    import kling_async.batch._run as run_module

    def fail(folder: Path, tolerance: float) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_module, "_write_reports", fail)
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(1))
    async with _sim() as sim:
        with pytest.raises(ReportWriteError, match="No space left on device") as info:
            await run_batch(jobs, tmp_path / "out", **sim_kwargs(sim))
    assert "batch report" in str(info.value) and "--html" in str(info.value)
    assert job_states(tmp_path / "out") == {"v0": "downloaded"}
