"""The command as a newcomer meets it: --version, ``python -m kling_async``, an
interrupted ``--simulate`` batch resumed with the printed command, ``report --jobs``,
``status``, flag names in messages, ``KLING_POLL_SCALE`` and ``KLING_LOG``."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kling_async
from kling_async import KlingClient, PollPolicy, TextToVideo
from kling_async.batch import Journal, run_batch, write_report
from kling_async.cli import main
from kling_async.simulator import Simulator
from tests._batchkit import SCALE, job_states, sim_kwargs, simulate_run, video_jobs, write_jobs
from tests.conftest import ACCESS_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, str, str]:
    """Run ``python -m kling_async ARGS``; returns (exit status, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "kling_async", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    return done.returncode, done.stdout, done.stderr


def test_version_flag_and_module_entry_point() -> None:
    """`python -m kling_async --version` prints the installed distribution's version."""
    code, out, _ = cli("--version")
    assert code == 0
    assert out.strip() == f"kling-async {kling_async.__version__}"
    assert kling_async.__version__ == importlib.metadata.version("kling-async")
    code, out, _ = cli("--help")
    assert code == 0 and "simulate" in out and "batch" in out and "KLING_LOG" in out


def test_missing_credentials_name_the_flags(tmp_path: Path) -> None:
    """A CLI user is told about --access-key, not access_key=."""
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(1))
    env = {"KLING_ACCESS_KEY": "", "KLING_SECRET_KEY": "", "KLING_API_KEY": ""}
    code, _, err = cli("batch", "run", str(jobs), "--out", str(tmp_path / "o"), env=env)
    assert code == 2
    assert "--access-key" in err and "--secret-key" in err and "--api-key" in err
    assert "access_key=" not in err and "--simulate" in err
    code, _, err = cli("task", "get", "text2video", "1", "--access-key", ACCESS_KEY, env=env)
    assert code == 2 and "--secret-key is missing" in err


def wait_for(predicate: object, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def created_jobs(out: Path) -> int:
    if not (out / "journal.sqlite").exists():
        return 0
    try:
        states = job_states(out)
    except Exception:  # the run is still setting the journal up
        return 0
    return sum(state not in ("queued", "creating") for state in states.values())


def test_an_interrupted_simulate_batch_resumes_with_the_printed_command(tmp_path: Path) -> None:
    """Ctrl-C a real `batch run --simulate`, run the resume command it printed: every
    job ends downloaded and the simulator (which kept its tasks in the folder) saw
    each job created exactly once across both processes."""
    rows = video_jobs(6) + [
        {"id": f"img{i}", "family": "image_generation", "params": {"prompt": "cat", "n": 2}}
        for i in range(3)
    ]
    jobs = write_jobs(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    run = simulate_run(jobs, out, tmp_path)
    try:
        wait_for(lambda: created_jobs(out) >= 2, "two created jobs")
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert "Traceback" not in err and "never retrieved" not in err, err
    hint = next(line for line in err.splitlines() if line.startswith("Resume with:"))
    command = shlex.split(hint.removeprefix("Resume with:").strip())
    assert command == ["kling-async", "batch", "resume", str(out), "--simulate"]
    states = job_states(out)
    assert any(state in ("created", "queued") for state in states.values()), states

    code, status, _ = cli("batch", "status", str(out))
    assert code == 0 and "interrupted" in status and " --simulate" in status

    code, _, err = cli(*command[1:], "--no-progress", timeout=300)
    assert code == 0, err
    assert set(job_states(out).values()) == {"downloaded"}
    lines = (out / "simulator-state.jsonl").read_text().splitlines()
    created = [json.loads(line)["external_task_id"] for line in lines[1:]]
    journal = Journal.open(out, create=False, read_only=True)
    try:
        expected = sorted(row.external_task_id for row in journal.rows())
    finally:
        journal.close()
    assert sorted(created) == expected  # every job created once, none twice
    code, _, err = cli("batch", "resume", str(out))  # without --simulate: told how
    assert code == 2 and f"batch resume {out} --simulate" in err


def test_resume_simulate_refuses_a_batch_that_never_ran_on_the_simulator(
    tmp_path: Path,
) -> None:
    out = tmp_path / "o"
    Journal.open(out, create=True).close()
    code, _, err = cli("batch", "resume", str(out), "--simulate")
    assert code == 2 and "was not run with --simulate" in err


async def test_report_jobs_lists_every_job_and_status_says_where_it_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --jobs` (text and JSON): state, task id, external id, units, files and
    the failure reason of each job; `status` while a run holds the journal and after."""
    jobs = write_jobs(tmp_path / "jobs.jsonl", video_jobs(4))
    out = tmp_path / "out"
    async with Simulator(time_scale=SCALE, seed=3, faults=_fail_half()) as sim:
        await run_batch(jobs, out, **sim_kwargs(sim))
        failed = {j for j, s in job_states(out).items() if s == "failed"}
        assert 0 < len(failed) < 4

    assert main(["batch", "report", str(out), "--jobs", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    by_id = {row["job_id"]: row for row in report["job_rows"]}
    assert sorted(by_id) == ["v0", "v1", "v2", "v3"]
    for job_id, row in by_id.items():
        assert row["task_id"] and row["external_task_id"].startswith("kb-")
        if job_id in failed:
            assert row["state"] == "failed" and "simulated failure" in row["reason"]
            assert row["files"] == []
        else:
            assert row["state"] == "downloaded" and row["units"] in ("1", None)
            assert len(row["files"]) == 1 and (out / "files" / row["files"][0]).exists()
    assert any(row["units"] == "1" for row in by_id.values())  # None: live Kling left it out
    journal = Journal.open(out, create=False, read_only=True)
    try:
        write_report(journal, out)
    finally:
        journal.close()
    saved = json.loads((out / "report.json").read_text())
    assert saved["job_rows"] == report["job_rows"]

    assert main(["batch", "report", str(out), "--jobs"]) == 0
    text = capsys.readouterr().out
    for row in by_id.values():
        line = next(li for li in text.splitlines() if li.startswith(row["job_id"] + " "))
        assert row["state"] in line and row["task_id"] in line
        assert row["external_task_id"] in line
    assert main(["batch", "report", str(out)]) == 0
    assert by_id["v0"]["external_task_id"] not in capsys.readouterr().out  # totals only

    assert main(["batch", "status", str(out)]) == 0
    status = capsys.readouterr().out
    assert status.startswith("4 jobs") and "the last run ended" in status
    assert f"batch resume {out} --retry-failed" in status
    holder = Journal.open(out, create=False)  # as a running batch holds it
    try:
        assert main(["batch", "status", str(out)]) == 0
        assert "a run is going on" in capsys.readouterr().out
    finally:
        holder.close()


def _fail_half() -> object:
    from kling_async.simulator import Faults

    return Faults(failure_rate=0.5)


def test_poll_scale_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """KLING_POLL_SCALE (printed by `kling-async simulate`) sets the client's poll pace;
    an explicit poll= wins; a bad value names the variable."""
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("KLING_POLL_SCALE", "0.02")
    assert KlingClient()._scheduler.poll == PollPolicy.scaled(0.02)
    explicit = PollPolicy(min_interval=2.0)
    assert KlingClient(poll=explicit)._scheduler.poll is explicit
    monkeypatch.setenv("KLING_POLL_SCALE", "fast")
    with pytest.raises(ValueError, match="KLING_POLL_SCALE must be a number"):
        KlingClient()
    monkeypatch.delenv("KLING_POLL_SCALE")
    assert KlingClient()._scheduler.poll == PollPolicy()


def test_simulate_prints_everything_a_client_needs() -> None:
    """The banner's exports (poll scale included) are exactly what a client reads."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "kling_async", "simulate", "--port", "0"),
            *("--time-scale", "0.01", "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("ground truth"):
            lines.append(proc.stdout.readline())
            assert lines[-1], lines
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, rest
    exports = dict(
        line.strip().removeprefix("export ").split("=", 1)
        for line in lines
        if line.strip().startswith("export ")
    )
    assert set(exports) == {
        "KLING_BASE_URL",
        "KLING_ACCESS_KEY",
        "KLING_SECRET_KEY",
        "KLING_API_KEY",
        "KLING_POLL_SCALE",
    }
    assert exports["KLING_POLL_SCALE"] == "0.01" and exports["KLING_ACCESS_KEY"] == ACCESS_KEY
    assert exports["KLING_API_KEY"].startswith("sim-key-")  # the 2026 design needs one


SCRIPT = """
import asyncio
from kling_async import CallbackRoute, KlingClient, TextToVideo
from kling_async.simulator import Simulator

async def main():
    async with Simulator(time_scale=0.001, access_key={ak!r}, secret_key={sk!r},
                         webhook_secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY") as sim:
        async with KlingClient(base_url=sim.base_url, access_key={ak!r}, secret_key={sk!r},
                               callback_route=CallbackRoute("http://127.0.0.1:9/cb",
                                   token="tok-0123456789abcdef0123456789")) as client:
            await client.create(TextToVideo(prompt="fox"))
            bad = KlingClient(base_url=sim.base_url, access_key={ak!r}, secret_key="x" * 40)
            try:
                await bad.create(TextToVideo(prompt="fox"))
            except Exception as exc:
                print("refused", type(exc).__name__)
            await bad.aclose()

asyncio.run(main())
"""


@pytest.mark.parametrize("level", ["debug", "info"])
def test_kling_log_turns_on_readable_logs_without_secrets(level: str) -> None:
    """KLING_LOG=debug shows every request on stderr; no key, token or secret appears."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(ak=ACCESS_KEY, sk=SECRET_KEY)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KLING_LOG": level},
    )
    assert done.returncode == 0, done.stderr
    assert "refused AuthenticationError" in done.stdout
    err = done.stderr
    if level == "debug":
        assert "DEBUG   kling_async.transport: POST /v1/videos/text2video -> HTTP 200" in err
        assert "kling_async.scheduler" in err or "kling_async.transport" in err
    else:
        assert "DEBUG" not in err
    for secret in (SECRET_KEY, ACCESS_KEY, "x" * 40, "tok-0123456789abcdef", "QUJDREVG"):
        assert secret not in err
    assert "eyJ" not in err  # no JWT


def test_kling_log_with_a_typo_says_so_and_carries_on() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import kling_async; print('ok')"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KLING_LOG": "verbose"},
    )
    assert done.stdout.strip() == "ok"
    assert "KLING_LOG: unknown log level 'verbose'" in done.stderr


async def test_a_restarted_simulator_keeps_its_tasks(tmp_path: Path) -> None:
    """With a state file the tasks survive a restart: found by id and external id,
    finished by wall time, their external ids still taken, their slots still held;
    a last line cut short by a kill is ignored."""
    state = tmp_path / "sim.jsonl"
    async with Simulator(time_scale=0.002, state_file=state, capacity={"video": 2}) as sim:
        async with sim.client(poll=PollPolicy.scaled(0.002)) as client:
            done = await client.text_to_video(prompt="a", external_task_id="e-done")
        sim.inject_task("/v1/videos/text2video", {"prompt": "b", "external_task_id": "e-long"})
    # A long task, added as if the simulator ran slower: still running after restart.
    rows = state.read_text().splitlines()
    long = json.loads(rows[-1])
    long["duration_ms"] = 3_600_000
    rows[-1] = json.dumps(long)
    state.write_text("\n".join(rows) + '\n{"task_id": "8600')  # + a torn line
    async with Simulator(time_scale=0.002, state_file=state, capacity={"video": 2}) as sim:
        assert sim.restored == 2
        assert sim.in_use("video") == 1  # the long task still holds its slot
        async with sim.client(poll=PollPolicy.scaled(0.002)) as client:
            again = await client.get_task("text2video", external_task_id="e-done")
            assert again.task_id == done.task_id and again.task_status == "succeed"
            with pytest.raises(kling_async.InvalidRequestError, match="already exists"):
                await client.create(TextToVideo(prompt="a"), external_task_id="e-done")
            fresh = await client.create(TextToVideo(prompt="c"), external_task_id="e-new")
        assert int(fresh.task_id) > int(long["task_id"])  # ids never repeat
        assert sim.stats.creates_by_external_id["e-done"] == 1
    assert len(state.read_text().splitlines()) >= 4
