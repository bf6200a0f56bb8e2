"""The queries of one poll round: what the tracker asks Kling, and what it believes.

A round for a family's tasks in flight reads the family's list (newest first, a page
about four times the tasks tracked) when at least ``PollPolicy.list_threshold`` are
tracked, so one request serves all of them; what the pages did not reach is asked
through ``GET /tasks`` in groups of 20 ids when the family's API design says so
(2026 families always: it is their only lookup; ``/v1`` ones with an API key), else
one single query per task. Every task taken from an answer is checked against the
task id and external id asked for (design invariant 9); every request passes one
``aiolimiter`` cap shared by all families.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from aiolimiter import AsyncLimiter
from pydantic import ValidationError

from kling_async._config import PollPolicy
from kling_async.endpoints import Family
from kling_async.errors import TaskMismatchError, TaskNotFoundError
from kling_async.models import Task
from kling_async.tracking._backend import Backend
from kling_async.wire._lookup import check_identity, named_external_id
from kling_async.wire._tasks_query import chunks

__all__ = ["Queries", "Tracked"]

logger = logging.getLogger("kling_async.tracker")

PAGE_SIZE = 500
MIN_PAGE_SIZE = 50


class Tracked(Protocol):
    """What the tracker reads of what it follows (it never writes it)."""

    def __hash__(self) -> int: ...

    @property
    def family(self) -> str:
        """The task's family."""
        ...

    @property
    def task_id(self) -> str | None:
        """Kling's id of the task."""
        ...

    @property
    def external_task_id(self) -> str:
        """The id the create carried."""
        ...


T = TypeVar("T", bound=Tracked)


class Queries(Generic[T]):
    """Asks Kling about tasks in flight, a round at a time, and counts the requests.

    Args:
        backend: the low-level task calls.
        poll: the polling policy (list threshold, pages, query rate, ``/tasks`` use).
    """

    def __init__(self, backend: Backend, poll: PollPolicy) -> None:
        self.backend = backend
        self.poll = poll
        self.limiter = AsyncLimiter(poll.queries_per_second, 1.0)
        self.list_requests = 0
        self.single_requests = 0
        self.tasks_requests = 0

    async def round(
        self, fam: Family, records: list[T], is_tracked: Callable[[T], bool]
    ) -> dict[str, Task]:
        """One round of queries for ``records`` of ``fam``, by task id: its list when
        worth it, then ``GET /tasks`` where its API design says so, else singles.
        Only the tasks asked for are returned (identity checked); ``is_tracked`` says
        which are still wanted as the round goes."""
        family = fam.name
        seen: dict[str, Task] = {}
        if len(records) >= self.poll.list_threshold and fam.list_supported:
            seen = await self._read_list(family, {h.task_id: h for h in records if h.task_id})
        rest = [r for r in records if r.task_id not in seen and is_tracked(r)]
        if rest and fam.strategy.polls_by_tasks_query(
            has_api_key=self.backend.has_api_key, tasks=len(rest), enabled=self.poll.tasks_query
        ):
            seen.update(await self._read_tasks(family, rest))
            return seen
        for record in records:
            if record.task_id in seen or not is_tracked(record):
                continue
            async with self.limiter:
                self.single_requests += 1
                try:
                    seen[record.task_id or ""] = await self.backend.get_task(
                        family, task_id=record.task_id, external_task_id=record.external_task_id
                    )
                except TaskNotFoundError:
                    logger.warning("task %s of %s not found on query", record.task_id, family)
                except TaskMismatchError as error:
                    logger.warning("%s", error)
        return seen

    async def _read_tasks(self, family: str, records: list[T]) -> dict[str, Task]:
        """``GET /tasks`` for ``records``, 20 ids a request; absent ones stay unseen."""
        by_id = {r.task_id: r for r in records if r.task_id}
        found: dict[str, Task] = {}
        for group in chunks(list(by_id)):
            async with self.limiter:
                self.tasks_requests += 1
                tasks = await self.backend.query_tasks(task_ids=group)
            for task in tasks:
                record = by_id.get(task.task_id)
                if record is None:
                    continue
                try:
                    check_identity(
                        task.task_id,
                        task.external_task_id,
                        task_id=record.task_id,
                        external_task_id=record.external_task_id,
                        where=f"{family} /tasks",
                    )
                except TaskMismatchError as error:
                    logger.warning("%s", error)
                    continue
                found[task.task_id] = task
        missing = [task_id for task_id in by_id if task_id not in found]
        if missing:
            logger.warning(
                "%d task(s) of %s absent from GET /tasks: %s",
                len(missing),
                family,
                ", ".join(missing[:5]),
            )
        return found

    async def _read_list(self, family: str, wanted: dict[str, T]) -> dict[str, Task]:
        # Tasks in flight are among the family's newest, so a page a few times the
        # number tracked usually holds them all; later pages are read if not. Only
        # the tracked items are parsed.
        size = min(PAGE_SIZE, max(MIN_PAGE_SIZE, 4 * len(wanted)))
        found: dict[str, Task] = {}
        for page in range(1, self.poll.max_list_pages + 1):
            async with self.limiter:
                self.list_requests += 1
                raw = await self.backend.list_page_raw(family, page=page, page_size=size)
            for item in raw:
                task_id = str(item.get("task_id"))
                record = wanted.get(task_id)
                if record is None:
                    continue
                try:
                    check_identity(
                        task_id,
                        named_external_id(item),
                        task_id=task_id,
                        external_task_id=record.external_task_id,
                        where=f"{family} list",
                    )
                    found[task_id] = Task.model_validate(item)
                except TaskMismatchError as error:
                    logger.warning("%s", error)
                except ValidationError:
                    logger.warning("unreadable list item for task %s", task_id)
            if len(found) == len(wanted) or len(raw) < size:
                break
        return found
