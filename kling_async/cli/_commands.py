"""``kling-async`` commands that talk to Kling: batch run/resume/status/report, task, account.

Credentials and base URL come from flags or the environment (``KLING_ACCESS_KEY``,
``KLING_SECRET_KEY`` or ``KLING_API_KEY``, ``KLING_BASE_URL``). ``batch run
--simulate`` runs the whole batch against an in-process simulator instead.

Exit codes of ``batch run`` / ``batch resume`` (see :data:`EXIT_CODES`)::

    0    every job succeeded and its files are downloaded
    1    an error stopped the run (the journal could not be written: disk full,
         permissions); the journal is consistent: resume once fixed
    2    bad input: job file, options, credentials missing, a journal that is
         locked, corrupt or missing, an --out folder with files but no journal
    3    jobs remain pending (e.g. downloads to retry): batch resume
    4    every job ended but some failed or expired: batch resume --retry-failed
    5    stopped: Kling unreachable, credentials refused, an account error
         (balance, permissions) or the budget reached; the jobs concerned are
         pending: fix (or raise --budget), then resume
    6    not started: the estimate exceeds --budget, jobs without an estimate under a
         budget, or (--require-balance) too few units left; nothing was created
    130  interrupted (Ctrl-C); resume to continue
    143  terminated (SIGTERM), stopped the same orderly way; resume to continue
    129  hung up (SIGHUP), stopped the same orderly way; resume to continue
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from kling_async._client import KlingClient
from kling_async._config import BackoffPolicy, PollPolicy
from kling_async.batch import (
    BatchRunner,
    BatchStoppedError,
    JobFileError,
    Journal,
    JournalCorruptError,
    JournalLockedError,
    JournalWriteError,
    build_report,
    resume_batch,
    run_batch,
)
from kling_async.batch._costs import BudgetRefusedError
from kling_async.cli._costs import (
    EXIT_BUDGET,
    add_cost_flags,
    add_estimate_command,
    add_tolerance_flag,
    cost_options,
    estimate_command,
    html_report,
    report_budget_refused,
)
from kling_async.cli._output import say
from kling_async.cli._status import SIM_STATE_FILE, resume_command, status_text
from kling_async.errors import BudgetExceededError, KlingError, UsageError
from kling_async.wire._auth import MissingCredentialsError

__all__ = ["EXIT_CODES", "SIM_STATE_FILE", "add_commands", "as_flags"]

SIM_TIME_SCALE = 0.01
"""Time scale of the in-process simulator of `batch run --simulate` (a 320 s video: 3.2 s)."""

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PENDING, EXIT_FAILED, EXIT_STOPPED = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130
EXIT_CODES = {
    EXIT_OK: "every job succeeded and was downloaded",
    EXIT_ERROR: "an error stopped the run (journal not writable: disk full, permissions)",
    EXIT_USAGE: "bad input (job file, options, credentials, journal refused)",
    EXIT_PENDING: "jobs remain pending: batch resume",
    EXIT_FAILED: "some jobs failed or expired: batch resume --retry-failed",
    EXIT_STOPPED: "stopped (unreachable, credentials, account, budget): fix, then batch resume",
    EXIT_BUDGET: "not started: over budget, unpriced jobs or too few units; nothing created",
    EXIT_INTERRUPTED: "interrupted: batch resume",
    128 + signal.SIGHUP: "hung up (SIGHUP): batch resume",
    128 + signal.SIGTERM: "terminated (SIGTERM): batch resume",
}
"""Exit status of ``batch run`` / ``batch resume`` -> meaning."""


def _connection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="API base URL (default: KLING_BASE_URL or the region)")
    p.add_argument("--region", default="singapore", choices=["singapore", "beijing"])
    p.add_argument("--access-key", help="default: KLING_ACCESS_KEY")
    p.add_argument("--secret-key", help="default: KLING_SECRET_KEY")
    p.add_argument("--api-key", help="console API key (default: KLING_API_KEY)")


def _batch_flags(p: argparse.ArgumentParser) -> None:
    _connection_flags(p)
    p.add_argument(
        "--capacity",
        help="slots per pack, e.g. video=5,image=9,try_on=1 (packs left out are learned); "
        "with --concurrency-scope pack_model also per model, e.g. video/kling-v3=3",
    )
    p.add_argument(
        "--concurrency-scope",
        choices=("pack", "pack_model"),
        default="pack",
        help="what one concurrency limit counts over (default pack: the safe reading)",
    )
    p.add_argument("--download-concurrency", type=int, default=4)
    p.add_argument(
        "--poll-scale",
        type=float,
        help="scale poll timing by this factor (use the simulator's --time-scale "
        "when running against `kling-async simulate`)",
    )
    p.add_argument("--no-progress", action="store_true", help="plain log lines, no live table")
    p.add_argument(
        "--unreachable-timeout",
        type=float,
        help="seconds creates may fail to reach Kling before the run stops (default 60)",
    )
    p.add_argument(
        "--allow-download-host",
        action="append",
        default=[],
        metavar="HOST",
        help="let result downloads reach this loopback/private host (repeatable; the API "
        "host is allowed when it is itself local)",
    )


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register batch, task and account subcommands."""
    batch = sub.add_parser("batch", help="run, resume and inspect bulk generation batches")
    bsub = batch.add_subparsers(dest="batch_command", required=True)
    run = bsub.add_parser("run", help="validate a job file and run it to the end")
    run.add_argument("jobs", help="job file (.jsonl, or .csv with --family)")
    run.add_argument("--out", required=True, help="output folder (journal, files, report)")
    run.add_argument("--family", help="task family of a CSV job file")
    run.add_argument(
        "--simulate",
        action="store_true",
        help="run against an in-process Kling simulator (no credentials needed)",
    )
    run.add_argument("--sim-time-scale", type=float, default=SIM_TIME_SCALE, help=argparse.SUPPRESS)
    run.add_argument(
        "--force", action="store_true", help="use an --out folder that holds other files"
    )
    _batch_flags(run)
    add_cost_flags(run)
    resume = bsub.add_parser("resume", help="continue a stopped or crashed batch")
    resume.add_argument("out")
    resume.add_argument(
        "--retry-failed",
        action="store_true",
        help="create failed jobs again (each with a new external_task_id)",
    )
    resume.add_argument(
        "--simulate",
        action="store_true",
        help="resume a batch started with --simulate (its simulator state is in the folder)",
    )
    resume.add_argument(
        "--sim-time-scale", type=float, default=SIM_TIME_SCALE, help=argparse.SUPPRESS
    )
    _batch_flags(resume)
    add_cost_flags(resume)
    add_estimate_command(bsub)
    status = bsub.add_parser("status", help="where a batch stands: jobs per state, run or not")
    status.add_argument("out")
    report = bsub.add_parser("report", help="the batch report (text or --json)")
    report.add_argument("out")
    report.add_argument("--json", action="store_true")
    report.add_argument(
        "--jobs",
        action="store_true",
        help="one row per job: state, task id, external id, units, files, failure reason",
    )
    report.add_argument(
        "--html", action="store_true", help="(re)write the results page out/report.html"
    )
    add_tolerance_flag(report)

    task = sub.add_parser("task", help="query one task")
    tsub = task.add_subparsers(dest="task_command", required=True)
    get = tsub.add_parser("get", help="print a task as JSON")
    get.add_argument("family")
    get.add_argument("id", help="task_id (or external_task_id with --external)")
    get.add_argument("--external", action="store_true")
    _connection_flags(get)

    account = sub.add_parser("account", help="resource packs of the account")
    _connection_flags(account)


def _capacity(text: str | None) -> dict[str, int] | None:
    if not text:
        return None
    out: dict[str, int] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if not value.strip().isdigit():
            raise UsageError(f"--capacity: expected pack=number, got {part!r}")
        out[name.strip()] = int(value)
    return out


def _client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"region": args.region}
    for name in ("base_url", "access_key", "secret_key", "api_key"):
        value = getattr(args, name, None)
        if value:
            kwargs[name] = value
    capacity = _capacity(getattr(args, "capacity", None))
    if capacity:
        kwargs["capacity"] = capacity
    scope = getattr(args, "concurrency_scope", None)
    if scope:
        kwargs["concurrency_scope"] = scope
    scale = getattr(args, "poll_scale", None)
    if scale:
        kwargs["poll"] = PollPolicy.scaled(scale)
    unreachable = getattr(args, "unreachable_timeout", None)
    if unreachable:
        kwargs["backoff"] = BackoffPolicy(unreachable_timeout=unreachable)
    return kwargs


def run_command(args: argparse.Namespace) -> int:
    """Execute a parsed batch/task/account command; returns the exit status."""
    try:
        if args.command == "batch":
            return _batch(args)
        if args.command == "task":
            return asyncio.run(_task_get(args))
        return asyncio.run(_account(args))
    except MissingCredentialsError as exc:
        out = getattr(args, "out", None)
        if out and (Path(out) / SIM_STATE_FILE).exists():
            hint = f"this batch ran on the simulator: {resume_command(out)}"
        else:
            hint = "or use `batch run ... --simulate` to try it without an account"
        say(f"kling-async: {as_flags(str(exc))}\n({hint})", err=True)
        return 2
    except (
        JobFileError,
        JournalLockedError,
        JournalCorruptError,
        FileExistsError,
        FileNotFoundError,
        ValueError,
    ) as exc:
        say(f"kling-async: {as_flags(str(exc))}", err=True)
        return EXIT_USAGE
    except KlingError as exc:
        say(f"kling-async: {type(exc).__name__}: {exc}", err=True)
        return EXIT_ERROR
    except (JournalWriteError, sqlite3.Error, OSError) as exc:
        where = (
            f" (the journal in {args.out} is consistent: resume once fixed)"
            if (getattr(args, "out", None))
            else ""
        )
        say(f"kling-async: {_one_line(exc)}{where}", err=True)
        return EXIT_ERROR


_FLAG_WORDS = re.compile(
    r"(?<![\w-])(access_key|secret_key|api_key|base_url|download_concurrency"
    r"|unreachable_timeout|allow_download_hosts)"
    r"(=(?!\w))?(?!\w)"
)


def as_flags(message: str) -> str:
    """``message`` with the library's keyword names (``access_key=``) written as the
    command's flags (``--access-key``): a CLI user has no keyword arguments."""
    return _FLAG_WORDS.sub(lambda m: "--" + m.group(1).replace("_", "-"), message)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        target = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{target}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _batch(args: argparse.Namespace) -> int:
    if args.batch_command == "estimate":
        return estimate_command(args)
    if args.batch_command == "report" and args.html:
        say(f"results page: {html_report(args.out, args.tolerance)}")
        return 0
    if args.batch_command in ("status", "report"):
        journal = Journal.open(args.out, create=False, read_only=True)
        try:
            if args.batch_command == "status":
                say(status_text(journal, args.out))
            else:
                report = build_report(journal, per_job=args.jobs, tolerance=args.tolerance)
                say(report.to_json() if args.json else report.to_text())
        finally:
            journal.close()
        return 0
    try:
        return asyncio.run(_batch_run(args))
    except (KeyboardInterrupt, _Terminated) as exc:
        out = args.out
        what = "Interrupted" if isinstance(exc, KeyboardInterrupt) else exc.what
        say(
            f"\n{what}. Nothing is lost: every job's state is in {out}/journal.sqlite.\n"
            f"Resume with:  {resume_command(out)}",
            err=True,
        )
        return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else 128 + exc.signum


class _Terminated(KlingError):
    """SIGTERM or SIGHUP ended a batch run (the same orderly stop as Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.what = "Terminated (SIGTERM)" if signum == signal.SIGTERM else "Hung up (SIGHUP)"


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[list[int]]:
    """SIGTERM and SIGHUP cancel the running batch the way asyncio's Ctrl-C does
    (the main task is cancelled, so every cleanup runs: creates settle, ``.part``
    files go, the journal closes); the signal is recorded for the exit status."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        if main is not None:
            main.cancel()

    installed = []
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
    try:
        yield received
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


@contextlib.asynccontextmanager
async def _connection(args: argparse.Namespace) -> AsyncIterator[dict[str, Any]]:
    kwargs = _client_kwargs(args)
    if getattr(args, "simulate", False):
        from kling_async.simulator import Simulator
        from kling_async.simulator._persist import read_time_scale

        state = Path(args.out) / SIM_STATE_FILE
        scale = args.sim_time_scale
        if args.batch_command == "resume":
            if not state.exists():
                raise UsageError(
                    f"{args.out} was not run with --simulate (no {SIM_STATE_FILE} in it): "
                    f"resume it without --simulate"
                )
            scale = read_time_scale(state) or scale
        capacity = kwargs.get("capacity") or {"video": 5, "image": 9, "try_on": 1}
        sim = Simulator(capacity=capacity, time_scale=scale, seed=1, state_file=state)
        async with sim:
            # The simulator's API key runs both designs (/v1 and the 2026 paths).
            kwargs.update(
                base_url=sim.base_url,
                api_key=sim.api_key,
                capacity=capacity,
                poll=PollPolicy.scaled(scale),
            )
            kwargs.pop("access_key", None)
            kwargs.pop("secret_key", None)
            say(f"simulating Kling at {sim.base_url} (durations x{scale})", err=True)
            yield kwargs
    else:
        yield kwargs  # run_batch / resume_batch check the settings before any journal work


async def _batch_run(args: argparse.Namespace) -> int:
    with _stop_on_signals() as received:
        try:
            return await _batch_run_once(args)
        except asyncio.CancelledError:
            if received:
                raise _Terminated(received[0]) from None
            raise


async def _batch_run_once(args: argparse.Namespace) -> int:
    progress_task: asyncio.Task[None] | None = None

    def on_start(runner: BatchRunner) -> None:
        nonlocal progress_task
        progress_task = asyncio.ensure_future(_show_progress(runner, plain=args.no_progress))

    stopped: BatchStoppedError | None = None
    async with _connection(args) as kwargs:
        common = {
            "download_concurrency": args.download_concurrency,
            "on_start": on_start,
            "allow_download_hosts": args.allow_download_host,
        }
        try:
            if args.batch_command == "run":
                await run_batch(
                    args.jobs,
                    args.out,
                    family=args.family,
                    force=args.force,
                    costs=cost_options(args),
                    **common,
                    **kwargs,
                )
            else:
                await resume_batch(
                    args.out,
                    retry_failed=args.retry_failed,
                    costs=cost_options(args),
                    **common,
                    **kwargs,
                )
        except BatchStoppedError as exc:
            stopped = exc
        except BudgetRefusedError as exc:
            journaled = await asyncio.to_thread(Path(args.out, "journal.sqlite").exists)
            started = args.batch_command == "resume" or journaled
            return report_budget_refused(exc, args.out, started=started)
        finally:
            if progress_task is not None:
                progress_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await progress_task
    journal = await asyncio.to_thread(Journal.open, args.out, create=False, read_only=True)
    try:
        report = await asyncio.to_thread(build_report, journal, tolerance=args.tolerance)
    finally:
        journal.close()
    say(report.to_text())
    out = Path(args.out)
    written = [out / "report.json", out / "report.html"]
    report_error = stopped.report_error if stopped is not None else None
    if report_error is None and all(path.is_file() for path in written):
        say(f"report: {written[0]}, {written[1]}   files: {out / 'files'}")
    else:
        problem = report_error or f"the report was not written in {out}"
        say(f"kling-async: {problem}", err=True)
        if stopped is None:
            return EXIT_ERROR
    if stopped is not None:
        budget = any(isinstance(c, BudgetExceededError) for c in stopped.causes)
        fix = "Raise the budget, then" if budget else "Fix the cause, then"
        more = " --budget ..." if budget else ""
        say(
            f"kling-async: stopped: {stopped!s}\n{fix}:  {resume_command(args.out)}{more}",
            err=True,
        )
        return EXIT_STOPPED
    if report.pending or report.succeeded > report.downloaded:
        return EXIT_PENDING
    if report.failed or report.expired:
        say(
            f"kling-async: {report.failed} job(s) failed, {report.expired} expired; "
            f"create the failed ones again with:  {resume_command(args.out)} --retry-failed",
            err=True,
        )
        return EXIT_FAILED
    return EXIT_OK


_COLUMNS = ("queued", "creating", "running", "downloading", "done", "failed")


async def _show_progress(runner: BatchRunner, *, plain: bool) -> None:
    try:
        from rich.console import Console
        from rich.live import Live
        from rich.table import Table
    except ImportError:
        plain = True
    if plain or not sys.stderr.isatty():
        while True:
            snap = runner.progress()
            say(
                f"[{snap.elapsed:6.0f}s] "
                + "  ".join(f"{k}: {snap.totals.get(k, 0)}" for k in _COLUMNS),
                err=True,
            )
            await asyncio.sleep(5)

    def render() -> Table:
        snap = runner.progress()
        table = Table(title=f"kling-async batch — {snap.elapsed:.0f} s")
        table.add_column("pack")
        for column in _COLUMNS:
            table.add_column(column, justify="right")
        table.add_column("slots", justify="right")
        for pack, counts in sorted(snap.per_pack.items()):
            used, cap = snap.slots.get(pack, (0, 0))
            table.add_row(pack, *(str(counts.get(c, 0)) for c in _COLUMNS), f"{used}/{cap}")
        return table

    with Live(render(), console=Console(stderr=True), refresh_per_second=4) as live:
        while True:
            await asyncio.sleep(0.25)
            live.update(render())


async def _task_get(args: argparse.Namespace) -> int:
    async with KlingClient(**_client_kwargs(args)) as client:
        ident = {"external_task_id" if args.external else "task_id": args.id}
        task = await client.get_task(args.family, **ident)
    say(json.dumps(task.model_dump(mode="json", exclude_none=True), indent=2))
    return 0


async def _account(args: argparse.Namespace) -> int:
    async with KlingClient(**_client_kwargs(args)) as client:
        costs = await client.account_costs()
    for pack in costs.resource_pack_subscribe_infos:
        say(
            f"{pack.resource_pack_name or pack.resource_pack_id}: "
            f"{pack.remaining_quantity}/{pack.total_quantity} left ({pack.status})"
        )
    if not costs.resource_pack_subscribe_infos:
        say("no resource packs")
    return 0
