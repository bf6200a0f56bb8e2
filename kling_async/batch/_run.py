"""Batch entry points: validate and journal a job file, or open a journal, then run it.

``run_batch`` / ``resume_batch`` check the job file and the credentials (before any
journal work), open the journal (refusing what is not one), build the
:class:`~kling_async.batch.Downloader` (which hosts downloads may reach) and the
:class:`~kling_async.batch.BatchRunner` (which makes its client with its hooks), and
run. See ``_runner`` for what a run does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from kling_async._client import KlingClient
from kling_async._client import check_settings as check_client_settings
from kling_async._files import write_atomic
from kling_async.batch._costs import (
    DEFAULT_TOLERANCE,
    BudgetRefusedError,
    CostPlan,
    journal_prices,
    plan_costs,
    plan_for_jobs,
)
from kling_async.batch._downloads import Downloader, is_ip_literal, is_public_host
from kling_async.batch._jobs import load_jobs
from kling_async.batch._journal import Journal
from kling_async.batch._page import write_page
from kling_async.batch._report import ReportWriteError, build_report
from kling_async.batch._runner import BatchRunner, BatchStoppedError
from kling_async.costs import (
    Budget,
    BudgetGuard,
    CostPolicy,
    PriceTable,
    remaining_by_pack,
    shortfalls,
)
from kling_async.endpoints import family as family_of
from kling_async.errors import KlingError
from kling_async.wire._designs import APIDesign

__all__ = ["CostOptions", "download_hosts", "resume_batch", "run_batch"]

logger = logging.getLogger("kling_async.batch")


def download_hosts(client_kwargs: dict[str, Any], extra: Collection[str] = ()) -> set[str]:
    """Hosts downloads may reach although they are loopback or private: the API
    host when it is itself local (a simulator, a test server), and ``extra``."""
    hosts = {h.lower() for h in extra}
    base = client_kwargs.get("base_url") or os.environ.get("KLING_BASE_URL") or ""
    host = (urlparse(base).hostname or "").lower()
    if host and (host == "localhost" or (is_ip_literal(host) and not is_public_host(host))):
        hosts.add(host)
    return hosts


@dataclass(frozen=True)
class CostOptions:
    """A run's cost settings (see :func:`run_batch`)."""

    budget: Budget | str | None = None
    prices: PriceTable | str | os.PathLike[str] | None = None
    partial: bool = False
    balance: str = "warn"
    tolerance: float = DEFAULT_TOLERANCE


async def _prepare_costs(
    journal: Journal, costs: CostOptions
) -> tuple[PriceTable, CostPlan, BudgetGuard | None]:
    """Price table, cost plan and budget guard of this run (table and budget kept in
    the journal for resumes and reports); refuses before anything is created when
    the budget cannot hold."""
    given = None if costs.prices is None else PriceTable.of(costs.prices)
    prices = journal_prices(journal, given)
    if given is not None:
        await journal.set_meta("prices", json.dumps(prices.user_data()))
    budget: Budget | None
    if costs.budget is None:
        stored = journal.meta("budget")
        budget = Budget.parse(stored) if stored else None
    else:
        budget = _budget(costs.budget)
        await journal.set_meta("budget", str(budget))
    plan = plan_costs(journal.rows(), prices)
    if budget is None:
        return prices, plan, None
    plan.check(budget, partial=costs.partial)
    return prices, plan, plan.guard(budget, prices)


async def _check_balance(client: KlingClient, plan: CostPlan, mode: str) -> None:
    """Warn (or refuse, ``mode="require"``) when the account's remaining units do not
    cover what the batch still needs (``remaining_quantity`` lags up to 12 h)."""
    if mode == "off":
        return
    needed = dict(plan.to_spend)  # running tasks are deducted when they end: count them too
    for pack, units in plan.committed.items():
        needed[pack] = round(needed.get(pack, 0.0) + units, 6)
    if not plan.to_spend:
        return
    try:
        costs = await asyncio.wait_for(client.account_costs(), timeout=15)
    except (KlingError, TimeoutError) as exc:
        if mode == "require":
            raise BudgetRefusedError(
                "the account's remaining units could not be read", plan.queued, [str(exc)]
            ) from exc
        logger.warning("could not read the account's remaining units: %s", exc)
        return
    remaining, unread = remaining_by_pack(costs)
    if unread:
        logger.warning("resource packs of unknown type (not counted): %s", ", ".join(unread))
    short = shortfalls(needed, remaining)
    if not short:
        return
    if mode == "require":
        raise BudgetRefusedError(
            "the account's remaining units do not cover the estimate", plan.queued, short
        )
    logger.warning(
        "the account's remaining units may not cover the estimate (%s); Kling reports "
        "remaining units up to 12 h late",
        "; ".join(short),
    )


async def _execute(
    journal: Journal,
    client_kwargs: dict[str, Any],
    *,
    download_concurrency: int,
    on_start: Callable[[BatchRunner], None] | None,
    allow_download_hosts: Collection[str] = (),
    costs: CostOptions = CostOptions(),
) -> None:
    prices, plan, guard = await _prepare_costs(journal, costs)
    downloads = Downloader(
        journal.folder / "files",
        concurrency=download_concurrency,
        allow_hosts=download_hosts(client_kwargs, allow_download_hosts),
    )
    await downloads.clean_partials()
    runner = BatchRunner(
        journal,
        downloads,
        lambda events: KlingClient(
            **client_kwargs, events=events, costs=CostPolicy(prices=prices, budget=guard)
        ),
    )
    outcome: BaseException | None = None
    try:
        async with runner.client as client:
            await _check_balance(client, plan, costs.balance)
            if on_start is not None:
                on_start(runner)
            await runner.run()
    except BaseException as exc:
        outcome = exc
        raise
    finally:
        await downloads.aclose()
        try:
            await asyncio.to_thread(_write_reports, journal.folder, costs.tolerance)
        except Exception as exc:
            failed = ReportWriteError(journal.folder, exc)
            if outcome is None:
                raise failed from None  # the run went well: the report is the news
            logger.warning("%s", failed)  # the run's own outcome matters more: say it too
            if isinstance(outcome, BatchStoppedError):
                outcome.report_error = failed


def check_settings(client_kwargs: dict[str, Any], families: Collection[str]) -> None:
    """Refuse a batch whose client could not work, before any journal work or request:
    every client setting (names, credentials, region or base URL, capacities, callback
    route, prices), and credentials the jobs' API designs cannot use (2026-design jobs
    and no API key: Kling would answer every such create 401/1002). No client is built.

    Raises:
        MissingCredentialsError: no credentials at all.
        APIKeyRequiredError: names the families and how to give a key.
        UsageError: a setting that is unknown or wrong.
    """
    credentials = check_client_settings(client_kwargs)
    by_design: dict[APIDesign, list[str]] = {}
    for name in sorted(set(families)):
        fam = family_of(name)
        by_design.setdefault(fam.strategy, []).append(name)
    for design, names in by_design.items():
        design.require_credentials(credentials, f"{', '.join(names)} job(s)")


def _write_reports(folder: Path, tolerance: float) -> None:
    """report.json and report.html, from a reader of its own (the run's connection
    belongs to the journal's writer thread)."""
    reader = Journal.open(folder, create=False, read_only=True)
    try:
        report = build_report(reader, per_job=True, tolerance=tolerance)
        write_atomic(folder / "report.json", report.to_json())
        write_page(report, folder, capacity=reader.capacity())
    finally:
        reader.close()


async def run_batch(
    jobs_file: str | Path,
    out: str | Path,
    *,
    family: str | None = None,
    download_concurrency: int = 4,
    on_start: Callable[[BatchRunner], None] | None = None,
    force: bool = False,
    allow_download_hosts: Collection[str] = (),
    costs: CostOptions | None = None,
    **client_kwargs: Any,
) -> Path:
    """Validate ``jobs_file``, journal it in ``out`` and run it to the end; writes
    ``report.json`` and the results page ``report.html`` into ``out`` at the end.

    ``client_kwargs`` configure the :class:`~kling_async.KlingClient`. ``force``
    uses an ``out`` that holds other files; ``allow_download_hosts`` lets result
    downloads reach those loopback/private hosts (the API host is allowed when it
    is itself local). ``costs`` sets the budget (never exceeded: jobs it cannot
    cover stay pending), the price table, ``partial`` (start although the estimate
    exceeds the budget) and ``balance`` (``"warn"``, ``"require"`` or ``"off"``: the
    account's remaining units against the estimate). Returns ``out``.

    Raises:
        JobFileError: bad rows (nothing is journaled or sent).
        JournalLockedError / FileExistsError: ``out`` is in use or holds a batch
            (:class:`FolderNotEmptyError`: files but no journal).
        JournalCorruptError: ``out`` holds a file that is not a valid journal.
        BudgetRefusedError: over budget, unpriced jobs under a budget, or (with
            ``balance="require"``) not enough units left; nothing was created.
        BatchStoppedError: creates stopped (or the budget was reached); resume once
            the cause is fixed.
        JournalWriteError: the journal could not be written (disk full...).
    """
    jobs = await asyncio.to_thread(load_jobs, jobs_file, family=family)
    check_settings(client_kwargs, {job.family for job in jobs})
    costs = costs or CostOptions()
    if costs.budget is not None:  # refuse before the journal exists: nothing to clean up
        prices = PriceTable.default() if costs.prices is None else PriceTable.of(costs.prices)
        plan_for_jobs(jobs, prices).check(_budget(costs.budget), partial=costs.partial)
    journal = await asyncio.to_thread(partial(Journal.open, out, create=True, allow_nonempty=force))
    try:
        await asyncio.to_thread(journal.start_batch, jobs, source=str(jobs_file))
        await _execute(
            journal,
            client_kwargs,
            download_concurrency=download_concurrency,
            on_start=on_start,
            allow_download_hosts=allow_download_hosts,
            costs=costs,
        )
    finally:
        await asyncio.to_thread(journal.close)
    return Path(out)


def _budget(value: Budget | str) -> Budget:
    return Budget.parse(value) if isinstance(value, str) else value


async def resume_batch(
    out: str | Path,
    *,
    download_concurrency: int = 4,
    on_start: Callable[[BatchRunner], None] | None = None,
    retry_failed: bool = False,
    allow_download_hosts: Collection[str] = (),
    costs: CostOptions | None = None,
    **client_kwargs: Any,
) -> Path:
    """Continue the batch journaled in ``out``: nothing is created twice.

    ``retry_failed`` first queues every failed job again with a new attempt id
    (a failed task's ``external_task_id`` is never reused). ``costs`` as for
    :func:`run_batch`; without a budget there, the journal's budget applies (what
    earlier runs spent counts against it).

    Raises:
        FileNotFoundError: ``out`` holds no journal.
        JournalLockedError: another run is using it.
        JournalCorruptError: the journal is not valid.
        BudgetRefusedError: as for :func:`run_batch`.
        BatchStoppedError: creates stopped again; resume once the cause is fixed.
    """
    journal = await asyncio.to_thread(Journal.open, out, create=False)
    try:
        rows = await asyncio.to_thread(journal.rows)
        check_settings(client_kwargs, {row.family for row in rows})
        if retry_failed:
            again = await asyncio.to_thread(journal.requeue_failed)
            logger.info("%d failed job(s) queued again with new ids", len(again))
        await _execute(
            journal,
            client_kwargs,
            download_concurrency=download_concurrency,
            on_start=on_start,
            allow_download_hosts=allow_download_hosts,
            costs=costs or CostOptions(),
        )
    finally:
        await asyncio.to_thread(journal.close)
    return Path(out)
