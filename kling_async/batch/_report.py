"""The batch report: outcome counts, failure reasons, units, wall time, utilization.

Utilization is busy slot-seconds over (capacity x wall time), where capacity is the
highest capacity in force while the batch ran (the runner journals it), never a
figure learned at the end. Text output passes the terminal rule
(:func:`kling_async._text.for_terminal`) line by line and cell by cell, so no id,
reason or deduction from outside can drive the terminal or add a line; deductions
are read leniently (``units_shown``: ``"N/A"`` shows ``unknown``, never summed).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kling_async._files import write_atomic
from kling_async._text import for_terminal, read_units
from kling_async.batch._costs import DEFAULT_TOLERANCE, journal_prices, reconcile
from kling_async.batch._journal import Journal, Row
from kling_async.batch._states import JobState
from kling_async.errors import KlingError

__all__ = ["BatchReport", "ReportWriteError", "build_report", "units_shown", "write_report"]


class ReportWriteError(KlingError):
    """``report.json`` or ``report.html`` could not be written (a full disk, a
    symlink planted in ``--out``, permissions); the journal is consistent, and
    ``kling-async batch report <out> --html`` writes them again once fixed.

    Attributes:
        folder: the ``--out`` folder.
        cause: what went wrong.
    """

    def __init__(self, folder: Path, cause: BaseException) -> None:
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        where = f" ({cause.filename})" if isinstance(cause, OSError) and cause.filename else ""
        super().__init__(
            f"the report was not written in {folder}: {reason}{where}; the journal is "
            f"consistent: `kling-async batch report {folder} --html` writes it once fixed"
        )
        self.folder = folder
        self.cause = cause


@dataclass
class BatchReport:
    """What a batch achieved so far (``pending`` is what a resume would continue)."""

    jobs: int
    succeeded: int
    downloaded: int
    failed: int
    pending: int
    expired: int
    failures: list[dict[str, str]] = field(default_factory=list)
    pending_jobs: list[dict[str, str]] = field(default_factory=list)
    undownloaded: list[dict[str, str]] = field(default_factory=list)
    units: float = 0.0
    """Every deduction added up, all packs together (see ``deducted`` per pack)."""
    wall_seconds: float = 0.0
    utilization: dict[str, float] = field(default_factory=dict)
    files: int = 0
    stopped: str = ""
    """Why the last run stopped early (empty when it did not)."""
    job_rows: list[dict[str, Any]] = field(default_factory=list)
    """One entry per job (``build_report(..., per_job=True)``): ``job_id``, ``family``,
    ``state``, ``task_id``, ``external_task_id``, ``attempt``, ``units`` (deducted,
    as Kling reported it), ``estimated_units``, ``estimate_basis``, ``cash``,
    ``difference`` (beyond the tolerance), ``files``, ``reason`` and ``prompt``."""
    estimated: dict[str, float] = field(default_factory=dict)
    """Estimated units per pack of the jobs that ended (failed ones count 0)."""
    deducted: dict[str, float] = field(default_factory=dict)
    """Units Kling reported per pack for the jobs that ended."""
    unreported: dict[str, int] = field(default_factory=dict)
    """Per pack, succeeded jobs whose deduction Kling did not report."""
    cost_families: list[dict[str, Any]] = field(default_factory=list)
    """Per family and pack: jobs, estimated and deducted units."""
    flagged: list[dict[str, Any]] = field(default_factory=list)
    """Jobs whose deduction differs from the estimate by more than ``tolerance``."""
    unpriced: int = 0
    """Jobs the price table could not estimate."""
    tolerance: float = 0.1
    budget: str = ""
    """The batch's budget (empty: none)."""

    def to_json(self) -> str:
        """The report as JSON."""
        return json.dumps(asdict(self), indent=2)

    def to_text(self) -> str:
        """The report as readable text."""
        lines = [
            f"jobs: {self.jobs}   succeeded: {self.succeeded} (downloaded {self.downloaded}, "
            f"{self.files} files)   failed: {self.failed}   pending: {self.pending}   "
            f"expired: {self.expired}",
            f"wall time: {self.wall_seconds:.1f} s",
        ]
        lines.extend(self._cost_lines())
        if self.utilization:
            shown = ", ".join(f"{p} {u:.0%}" for p, u in sorted(self.utilization.items()))
            lines.append(f"slot utilization: {shown}")
        for failure in self.failures[:50]:
            lines.append(f"  failed  {failure['job_id']}: {failure['reason']}")
        for item in self.undownloaded[:50]:
            lines.append(f"  not downloaded  {item['job_id']}: {item['reason']}")
        if self.job_rows:
            lines.append(_job_table(self.job_rows))
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        if self.pending:
            lines.append("pending jobs remain: run `kling-async batch resume <out>` to finish them")
        return "\n".join(for_terminal(line) for line in "\n".join(lines).split("\n"))

    def _cost_lines(self) -> list[str]:
        packs = sorted(set(self.estimated) | set(self.deducted))
        if not packs and not self.budget:
            return []
        shown = ", ".join(
            f"{p} {self.estimated.get(p, 0):g} / {self.deducted.get(p, 0):g}" for p in packs
        )
        lines = [f"units estimated / deducted (ended jobs): {shown or 'none yet'}"]
        if self.budget:
            lines[-1] += f"   budget: {self.budget}"
        for fam in self.cost_families:
            lines.append(
                f"  {fam['family']} ({fam['pack']}, {fam['jobs']} ended): "
                f"{fam['estimated']:g} / {fam['deducted']:g}"
            )
        if self.unpriced:
            lines.append(f"  {self.unpriced} job(s) without an estimate")
        for pack, count in sorted(self.unreported.items()):
            lines.append(f"  {pack}: {count} succeeded job(s) with no deduction reported by Kling")
        for item in self.flagged[:50]:
            lines.append(
                f"  differs by more than {self.tolerance:.0%}  {item['job_id']}: "
                f"estimated {item['estimated']:g}, deducted {item['deducted']:g}"
            )
        return lines


def units_shown(row: dict[str, Any]) -> str:
    """A job's deducted units as shown: the number, ``unknown`` when Kling answered
    something that is not one (``"N/A"``, ``"NaN"``), ``-`` when it said nothing."""
    number = read_units(row.get("units"))
    if number is not None:
        return f"{number:g}"
    return "unknown" if row.get("units") not in (None, "") else "-"


def _job_table(rows: list[dict[str, Any]]) -> str:
    """Every cell passes the terminal rule here, so no value can add a line."""
    head = ("job", "state", "task_id", "external_task_id", "est.", "units", "files", "reason")
    table = [head] + [
        tuple(
            for_terminal(cell)
            for cell in (
                r["job_id"],
                r["state"],
                r["task_id"] or "-",
                r["external_task_id"],
                "-" if r.get("estimated_units") is None else f"{r['estimated_units']:g}",
                units_shown(r) + (f" ({r['difference']})" if r.get("difference") else ""),
                ", ".join(r["files"]) or "-",
                r["reason"] or "",
            )
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
        + "  "
        + line[-1]
        for line in table
    ).rstrip()


def job_rows(rows: list[Row], costs: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The per-job entries of the report (see :attr:`BatchReport.job_rows`)."""
    per_job = (costs or {}).get("jobs", {})
    return [
        {
            **per_job.get(r.job_id, {}),
            "job_id": r.job_id,
            "family": r.family,
            "state": r.state.value,
            "task_id": r.task_id,
            "external_task_id": r.external_task_id,
            "attempt": r.attempt,
            "units": r.units,
            "files": r.files,
            "reason": r.reason or ("failed" if r.state is JobState.FAILED else None),
            "prompt": str(r.params.get("prompt") or ""),
            "pack": r.pack,
            "created_at": r.created_at,
            "ended_at": r.ended_at,
            "cost": r.cost,
        }
        for r in rows
    ]


def build_report(
    journal: Journal, *, per_job: bool = False, tolerance: float = DEFAULT_TOLERANCE
) -> BatchReport:
    """Summarize the journal (safe to call while a run is going on); ``per_job``
    adds one entry per job (:attr:`BatchReport.job_rows`); deductions differing
    from their estimates by more than ``tolerance`` (a fraction) are flagged."""
    rows = journal.rows()
    costs = reconcile(rows, journal_prices(journal), tolerance)
    started = _float(journal.meta("started_at"))
    capacity = journal.capacity()
    report = BatchReport(
        jobs=len(rows),
        succeeded=sum(r.state in (JobState.SUCCEEDED, JobState.DOWNLOADED) for r in rows),
        downloaded=sum(r.state is JobState.DOWNLOADED for r in rows),
        failed=sum(r.state is JobState.FAILED for r in rows),
        pending=sum(r.state.is_pending for r in rows),
        expired=sum(r.state is JobState.EXPIRED for r in rows),
    )
    report.failures = [
        {"job_id": r.job_id, "reason": r.reason or "failed"}
        for r in rows
        if r.state is JobState.FAILED
    ]
    report.pending_jobs = [
        {"job_id": r.job_id, "state": r.state.value} for r in rows if r.state.is_pending
    ]
    report.undownloaded = [
        {"job_id": r.job_id, "reason": r.reason or "not downloaded yet"}
        for r in rows
        if r.state in (JobState.SUCCEEDED, JobState.EXPIRED)
    ]
    report.stopped = journal.meta("stopped") or ""
    if per_job:
        report.job_rows = job_rows(rows, costs)
    report.tolerance = tolerance
    report.budget = journal.meta("budget") or ""
    report.unpriced = costs["unpriced"]
    report.cost_families = costs["families"]
    report.estimated = {p: t["estimated"] for p, t in costs["packs"].items()}
    report.deducted = {p: t["deducted"] for p, t in costs["packs"].items()}
    report.unreported = {
        p: int(t["unreported"]) for p, t in costs["packs"].items() if t["unreported"]
    }
    report.flagged = [
        {
            "job_id": job_id,
            "estimated": costs["jobs"][job_id]["estimated_units"],
            "deducted": costs["jobs"][job_id]["deducted_units"],
        }
        for job_id in costs["flagged"]
    ]
    report.units = sum(read_units(r.units) or 0.0 for r in rows)  # unknown: never summed
    report.files = sum(len(r.files) for r in rows)
    ends = [r.ended_at for r in rows if r.ended_at is not None]
    if started is not None and ends:
        report.wall_seconds = max(ends) - started
        report.utilization = _utilization(rows, capacity, report.wall_seconds)
    return report


def _utilization(rows: list[Row], capacity: dict[str, int], wall: float) -> dict[str, float]:
    busy: dict[str, float] = {}
    for row in rows:
        if row.pack and row.created_at is not None and row.ended_at is not None:
            busy[row.pack] = busy.get(row.pack, 0.0) + row.cost * (row.ended_at - row.created_at)
    return {
        pack: round(seconds / (capacity[pack] * wall), 3)
        for pack, seconds in busy.items()
        if capacity.get(pack) and wall > 0
    }


def _float(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def write_report(
    journal: Journal, folder: Path, tolerance: float = DEFAULT_TOLERANCE
) -> BatchReport:
    """Build the report and write ``report.json`` (with one entry per job) into
    ``folder``; the returned report has no per-job entries (for printing). Batch
    runs also write the results page (``_page.write_page``) from the same report."""
    report = build_report(journal, per_job=True, tolerance=tolerance)
    write_atomic(folder / "report.json", report.to_json())
    report.job_rows = []
    return report
