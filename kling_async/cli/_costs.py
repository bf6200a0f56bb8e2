"""``kling-async`` cost commands and flags: ``batch estimate``, ``--budget`` and friends,
``batch report --html``.

``batch estimate jobs.jsonl`` prints units per family and pack and the totals per
pack (what each figure rests on with ``--json``); nothing is sent. ``batch run`` /
``resume`` take ``--budget`` (``video=50,image=200`` or a total), ``--partial``,
``--prices FILE``, ``--require-balance`` / ``--no-balance-check`` and ``--tolerance``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kling_async.batch import Journal, build_report, load_jobs
from kling_async.batch._costs import DEFAULT_TOLERANCE, BudgetRefusedError
from kling_async.batch._page import write_page
from kling_async.batch._run import CostOptions
from kling_async.cli._output import say
from kling_async.costs import Budget, CostEstimate, PriceTable

__all__ = [
    "EXIT_BUDGET",
    "add_cost_flags",
    "add_estimate_command",
    "add_tolerance_flag",
    "cost_options",
    "estimate_command",
    "html_report",
    "report_budget_refused",
]

EXIT_BUDGET = 6
"""Exit code: the batch was not started (over budget, unpriced jobs under a budget,
or not enough units left with --require-balance); nothing was created."""


def _budget_arg(text: str) -> str:
    Budget.parse(text)  # refuse a malformed budget while parsing the command line
    return text


def _tolerance(text: str) -> float:
    value = float(text)
    if not 0 <= value < 10:
        raise argparse.ArgumentTypeError("expected a fraction such as 0.1 (10%)")
    return value


def add_cost_flags(parser: argparse.ArgumentParser) -> None:
    """The cost flags of ``batch run`` / ``batch resume``."""
    parser.add_argument(
        "--budget",
        type=_budget_arg,
        help="units the batch may spend: video=50,image=200 (per pack) or 100 (total); "
        "a resume keeps the last one unless given",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="start although the estimate exceeds --budget: jobs it cannot cover stay pending",
    )
    parser.add_argument("--prices", help="JSON file of your own price entries (see docs/costs.md)")
    balance = parser.add_mutually_exclusive_group()
    balance.add_argument(
        "--require-balance",
        action="store_true",
        help="refuse to start when the account's remaining units do not cover the estimate",
    )
    balance.add_argument(
        "--no-balance-check", action="store_true", help="do not read /account/costs first"
    )
    add_tolerance_flag(parser)


def add_tolerance_flag(parser: argparse.ArgumentParser) -> None:
    """``--tolerance`` (run, resume, report)."""
    parser.add_argument(
        "--tolerance",
        type=_tolerance,
        default=DEFAULT_TOLERANCE,
        help="flag deductions that differ from the estimate by more (default 0.1)",
    )


def add_estimate_command(bsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``batch estimate``."""
    est = bsub.add_parser(
        "estimate", help="estimated units of a job file, per family and pack (nothing is sent)"
    )
    est.add_argument("jobs", help="job file (.jsonl, or .csv with --family)")
    est.add_argument("--family", help="task family of a CSV job file")
    est.add_argument("--prices", help="JSON file of your own price entries")
    est.add_argument("--json", action="store_true", help="every job's estimate and basis")
    est.add_argument("--budget", type=_budget_arg, help="also say whether it fits this budget")


def cost_options(args: argparse.Namespace) -> CostOptions:
    """The run's cost settings from its flags."""
    balance = "require" if args.require_balance else "off" if args.no_balance_check else "warn"
    return CostOptions(
        budget=args.budget,
        prices=args.prices,
        partial=args.partial,
        balance=balance,
        tolerance=args.tolerance,
    )


def estimate_command(args: argparse.Namespace) -> int:
    """Print the estimate of a job file; exit 6 when it exceeds ``--budget``."""
    prices = PriceTable.load(args.prices) if args.prices else PriceTable.default()
    jobs = load_jobs(args.jobs, family=args.family)
    estimate = CostEstimate.of((job.id, prices.estimate(job.family, job.params)) for job in jobs)
    over = Budget.parse(args.budget).exceeded_by(estimate.by_pack) if args.budget else []
    if args.json:
        data = estimate.as_dict()
        if args.budget:
            data["budget"] = {"budget": args.budget, "exceeded": over}
        say(json.dumps(data, indent=2))
    else:
        say(estimate.to_text())
        if args.budget:
            say(f"budget {args.budget}: " + ("; ".join(over) if over else "the estimate fits"))
    return EXIT_BUDGET if over else 0


def report_budget_refused(exc: BudgetRefusedError, out: str, *, started: bool) -> int:
    """Print why the batch was not started, with its estimate; returns the exit code."""
    say(exc.estimate.to_text())
    if exc.unpriced:
        where = "add --prices FILE with entries for them, or leave their packs out of --budget"
    elif started:
        where = f"raise it and resume:  kling-async batch resume {out} --budget ..."
    else:
        where = "raise --budget, or add --partial to run what fits"
    say(f"kling-async: {exc}\n({where})", err=True)
    return EXIT_BUDGET


def html_report(out: str, tolerance: float) -> Path:
    """Write ``out/report.html`` from the journal; returns its path."""
    journal = Journal.open(out, create=False, read_only=True)
    try:
        report = build_report(journal, per_job=True, tolerance=tolerance)
        return write_page(report, Path(out), capacity=journal.capacity())
    finally:
        journal.close()
