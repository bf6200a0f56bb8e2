"""A batch's costs: the estimate before, the budget check, the guard's starting
point on a resume, and the reconciliation after.

Data flow::

    journal rows --estimate each job (PriceTable, the user's entries kept in the
        journal's meta "prices")--> CostPlan: spent (ended jobs: the deduction Kling
        reported), committed (created / being created: the estimate), to_spend
        (queued: the estimate), unpriced jobs
    CostPlan + Budget --check()--> refuse before anything is created (BudgetRefusedError)
        unless partial; a guard preloaded with spent + committed for the run
    rows after the run --reconcile()--> estimated vs deducted per job, per family,
        per pack; differences beyond the tolerance flagged
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kling_async.batch._journal import Journal, Row
from kling_async.batch._states import JobState
from kling_async.costs import (
    Budget,
    BudgetGuard,
    CostEstimate,
    Estimate,
    PriceTable,
    actual_units,
)
from kling_async.errors import KlingError

__all__ = [
    "DEFAULT_TOLERANCE",
    "BudgetRefusedError",
    "CostPlan",
    "deducted",
    "journal_prices",
    "plan_costs",
    "plan_for_jobs",
    "reconcile",
]

DEFAULT_TOLERANCE = 0.1
"""A job's deduction differing from its estimate by more than this fraction is flagged."""

_SPENT = frozenset({JobState.SUCCEEDED, JobState.DOWNLOADED, JobState.EXPIRED, JobState.FAILED})
_COMMITTED = frozenset({JobState.CREATING, JobState.CREATED})


class BudgetRefusedError(KlingError):
    """The batch was not started: its estimate exceeds the budget, some jobs cannot be
    estimated under a budget, or the account's remaining units do not cover it (with
    ``require_balance``). Nothing was created.

    Attributes:
        estimate: the estimate of the jobs still to create.
        reasons: what exceeds what, one line each.
    """

    def __init__(
        self, message: str, estimate: CostEstimate, reasons: list[str], *, unpriced: bool = False
    ) -> None:
        super().__init__(message + ": " + "; ".join(reasons) + "; nothing was created")
        self.estimate = estimate
        self.reasons = reasons
        self.unpriced = unpriced
        """True when the refusal is about jobs without an estimate."""


def journal_prices(journal: Journal, given: PriceTable | None = None) -> PriceTable:
    """The batch's price table: ``given`` (a run's ``--prices``) or the built-in table
    plus the user's entries kept in the journal."""
    if given is not None:
        return given
    stored = journal.meta("prices")
    if stored:
        try:
            return PriceTable.default().extended(json.loads(stored), where="journal prices")
        except ValueError:
            pass  # a journal written by another version: the built-in table
    return PriceTable.default()


def deducted(row: Row) -> float | None:
    """Units Kling reported for the job's task (None when not reported)."""
    return actual_units(row.task) if row.task else actual_units({"final_unit_deduction": row.units})


@dataclass
class CostPlan:
    """Where a batch's money stands, per pack (see the module docstring)."""

    spent: dict[str, float] = field(default_factory=dict)
    committed: dict[str, float] = field(default_factory=dict)
    to_spend: dict[str, float] = field(default_factory=dict)
    held: dict[str, tuple[str, float]] = field(default_factory=dict)
    """external_task_id -> (pack, estimate) of jobs created or being created."""
    queued: CostEstimate = field(default_factory=CostEstimate)
    """The estimates of the jobs still to create."""

    def planned(self) -> dict[str, float]:
        """Spent + committed + to spend, per pack."""
        out: dict[str, float] = {}
        for part in (self.spent, self.committed, self.to_spend):
            for pack, units in part.items():
                out[pack] = round(out.get(pack, 0.0) + units, 6)
        return out

    def check(self, budget: Budget, *, partial: bool) -> None:
        """Refuse a budget the plan exceeds (unless ``partial``) or cannot check.

        Raises:
            BudgetRefusedError: see the class.
        """
        unpriced = [
            f"{label}: {est.basis}"
            for label, est in self.queued.items
            if (est.units is None or est.unpriced) and budget.limits_pack(est.pack)
        ]
        if unpriced:
            raise BudgetRefusedError(
                f"a budget is set but {len(unpriced)} job(s) have no estimate or send "
                "extra_body fields the price table does not read (add prices with "
                "--prices FILE; set the field itself)",
                self.queued,
                unpriced[:20],
                unpriced=True,
            )
        over = budget.exceeded_by(self.planned())
        if over and not partial:
            raise BudgetRefusedError(
                f"the batch's estimate exceeds the budget {budget} (spent + running + to "
                "create; --partial runs what fits and leaves the rest pending)",
                self.queued,
                over,
            )

    def guard(self, budget: Budget, prices: PriceTable) -> BudgetGuard:
        """A guard that starts from what the journal has spent and committed."""
        guard = BudgetGuard(budget, prices)
        for pack, units in self.spent.items():
            if budget.limits_pack(pack):
                guard.add_spent(pack, units)
        for ext, (pack, units) in self.held.items():
            guard.hold(ext, pack, units)
        return guard


def _add(into: dict[str, float], pack: str | None, units: float | None) -> None:
    if pack is not None and units is not None:
        into[pack] = round(into.get(pack, 0.0) + units, 6)


def plan_costs(rows: Iterable[Row], prices: PriceTable) -> CostPlan:
    """Estimate every job and place it: spent, committed or to spend."""
    plan = CostPlan()
    queued = []
    for row in rows:
        est = prices.estimate(row.family, row.params)
        if row.state in _SPENT:
            actual = deducted(row)
            if actual is None and row.state is not JobState.FAILED:
                actual = est.units  # not reported: count the estimate
            _add(plan.spent, est.pack or row.pack, actual if actual is not None else 0.0)
        elif row.state in _COMMITTED:
            _add(plan.committed, est.pack, est.units)
            if est.pack is not None and est.units is not None:
                plan.held[row.external_task_id] = (est.pack, est.units)
        else:
            queued.append((row.job_id, est))
    return _with_queued(plan, queued)


def plan_for_jobs(jobs: Iterable[Any], prices: PriceTable) -> CostPlan:
    """The plan of a new batch (every job still to create), from its validated jobs."""
    queued = [(str(job.id), prices.estimate(job.family, job.params)) for job in jobs]
    return _with_queued(CostPlan(), queued)


def _with_queued(plan: CostPlan, queued: list[tuple[str, Estimate]]) -> CostPlan:
    """``plan`` with the jobs still to create counted as to spend."""
    for _, est in queued:
        _add(plan.to_spend, est.pack, est.units)
    plan.queued = CostEstimate.of(queued)
    return plan


def reconcile(
    rows: Iterable[Row], prices: PriceTable, tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """Estimated vs deducted units per job, per family and per pack.

    Returns a dict with ``jobs`` (job_id -> estimated, basis, deducted, cash, flag),
    ``families`` (per family and pack over the jobs that ended: failed jobs are
    expected to cost nothing), ``packs`` (estimated / deducted per pack
    over the jobs that ended, and how many succeeded jobs had no deduction
    reported), ``flagged`` (job ids beyond ``tolerance``) and
    ``unpriced`` (how many jobs have no estimate).
    """
    jobs: dict[str, dict[str, Any]] = {}
    families: dict[tuple[str, str], dict[str, Any]] = {}
    packs: dict[str, dict[str, float]] = {}
    flagged: list[str] = []
    unpriced = 0
    for row in rows:
        est = prices.estimate(row.family, row.params)
        actual = deducted(row)
        cash = (row.task or {}).get("final_balance_deduction") if row.task else None
        ended = row.state in _SPENT
        flag = ""
        if est.units is None:
            unpriced += 1
        elif ended and actual is not None and row.state is not JobState.FAILED:
            gap = actual - est.units
            if abs(gap) > max(tolerance * est.units, 1e-6):
                flag = f"{'+' if gap > 0 else ''}{gap:g}"
                flagged.append(row.job_id)
        jobs[row.job_id] = {
            "estimated_units": est.units,
            "estimate_basis": est.basis,
            "deducted_units": actual,
            "cash": cash,
            "difference": flag,
        }
        pack = est.pack or row.pack or "-"
        if ended:
            fam = families.setdefault(
                (row.family, pack),
                {"family": row.family, "pack": pack, "jobs": 0, "estimated": 0.0, "deducted": 0.0},
            )
            fam["jobs"] += 1
            if row.state is not JobState.FAILED:
                fam["estimated"] = round(fam["estimated"] + (est.units or 0.0), 6)
            fam["deducted"] = round(fam["deducted"] + (actual or 0.0), 6)
            totals = packs.setdefault(pack, {"estimated": 0.0, "deducted": 0.0, "unreported": 0})
            if row.state is not JobState.FAILED:
                totals["estimated"] = round(totals["estimated"] + (est.units or 0.0), 6)
                if actual is None:
                    totals["unreported"] += 1  # live Kling sometimes leaves it out
            totals["deducted"] = round(totals["deducted"] + (actual or 0.0), 6)
    return {
        "tolerance": tolerance,
        "jobs": jobs,
        "families": [families[k] for k in sorted(families)],
        "packs": packs,
        "flagged": flagged,
        "unpriced": unpriced,
    }
