"""The 2026 design's cross-family task queries: ``GET /tasks`` and ``POST /tasks``.

* ``GET /tasks?task_ids=a,b`` or ``?external_task_ids=x,y``: at most 20 ids a
  request (live: 21 -> 400/1201 ``task_ids and external_task_ids cannot exceed 20 in
  total``); unknown ids are simply absent (``data: []``), never an error; ``/v1``
  tasks are returned too (``kling_api_2026.md`` A9, C5). One kind of id per request
  (the docs say "one of the two"), so a call never mixes them.
* ``POST /tasks``: a cursor listing (``start_time``/``end_time`` in ms, ``cursor``,
  ``limit`` ≤ 500, ``filters`` on ``status`` / ``product_type``); ``result`` may be
  missing on an empty page.

Both need a console API key: :class:`~kling_async.APIKeyRequiredError` is raised
before anything is sent when only an AK/SK pair is configured. Every item is read
with :class:`~kling_async.models.Task` (either task shape) and only items naming an
asked id are returned (design invariant 9).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from kling_async.errors import ResponseError, UsageError
from kling_async.models import Task
from kling_async.wire._lookup import named_external_id, named_task_id
from kling_async.wire._transport import Transport

__all__ = ["MAX_TASK_IDS", "TASKS_PATH", "TaskPage", "TasksQuery", "TasksQueryCalls", "chunks"]

logger = logging.getLogger("kling_async.tasks")

TASKS_PATH: Final = "/tasks"
"""The cross-family task query of the 2026 design: ``GET`` by ids (at most
:data:`MAX_TASK_IDS` together), ``POST`` for the cursor listing."""

MAX_TASK_IDS: Final = 20
"""Ids per ``GET /tasks`` (task ids and external ids counted together; live cap, C5)."""

MAX_LIST_LIMIT = 500
PRODUCT_TYPES = frozenset({"video", "image", "try_on"})
STATUSES = frozenset({"submitted", "processing", "succeeded", "failed"})


def chunks(ids: Sequence[str], size: int = MAX_TASK_IDS) -> list[list[str]]:
    """``ids`` in groups of at most ``size`` (one ``GET /tasks`` each)."""
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of ``POST /tasks``: its tasks and where the next page starts.

    Attributes:
        tasks: the page's tasks (either design; unreadable items are skipped).
        count: ``count`` as Kling gave it (None when missing).
        next_cursor: pass it as ``cursor=`` for the next page.
        has_more: False on the last page.
    """

    tasks: list[Task] = field(default_factory=list)
    count: int | None = None
    next_cursor: str | None = None
    has_more: bool = False


def _check_ids(values: Iterable[str], name: str) -> list[str]:
    ids = list(values)
    for value in ids:
        if not isinstance(value, str) or not value.strip() or "," in value:
            raise UsageError(f"{name}: every id must be a non-empty string without commas")
    return ids


class TasksQuery:
    """``GET /tasks`` and ``POST /tasks`` over one transport."""

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def query(
        self,
        *,
        task_ids: Iterable[str] = (),
        external_task_ids: Iterable[str] = (),
    ) -> list[Task]:
        """One ``GET /tasks``: the asked tasks Kling knows (unknown ids are absent).

        Give ``task_ids`` or ``external_task_ids`` (not both), at most 20 ids.
        Only items that name an asked id are returned; others are logged and dropped.

        Raises:
            ValueError: no ids, both kinds, more than 20, or a malformed id (before
                anything is sent).
            APIKeyRequiredError: only an AK/SK pair is configured.
        """
        by_id = _check_ids(task_ids, "task_ids")
        by_ext = _check_ids(external_task_ids, "external_task_ids")
        if by_id and by_ext:
            raise UsageError("give task_ids or external_task_ids, not both in one query")
        asked = by_id or by_ext
        if not asked:
            raise UsageError("give task_ids= or external_task_ids= (at least one id)")
        if len(asked) > MAX_TASK_IDS:
            raise UsageError(
                f"at most {MAX_TASK_IDS} ids per GET /tasks (Kling refuses more), got "
                f"{len(asked)}; use query_many() to split them"
            )
        key = "task_ids" if by_id else "external_task_ids"
        envelope = await self._transport.request(
            "GET",
            TASKS_PATH,
            params={key: ",".join(asked)},
            idempotent=True,
            api_key_only=True,
        )
        data = envelope.data if envelope.data is not None else []
        if isinstance(data, Mapping):
            data = [data]
        if not isinstance(data, list):
            raise ResponseError(f"GET /tasks: expected a list of tasks, got {type(data).__name__}")
        wanted = set(asked)
        found: list[Task] = []
        for item in data:
            if not isinstance(item, Mapping):
                continue
            named = named_task_id(item) if by_id else named_external_id(item)
            if named not in wanted:
                logger.warning(
                    "GET /tasks answered a task naming %r, which was not asked; not adopted",
                    named,
                )
                continue
            try:
                found.append(Task.model_validate(item))
            except ValidationError:
                logger.warning("GET /tasks: unreadable item for %r skipped", named)
        return found

    async def query_many(
        self,
        *,
        task_ids: Iterable[str] = (),
        external_task_ids: Iterable[str] = (),
    ) -> list[Task]:
        """Like :meth:`query` for any number of ids: one request per 20."""
        by_id = list(dict.fromkeys(_check_ids(task_ids, "task_ids")))
        by_ext = list(dict.fromkeys(_check_ids(external_task_ids, "external_task_ids")))
        found: list[Task] = []
        for group in chunks(by_id):
            found.extend(await self.query(task_ids=group))
        for group in chunks(by_ext):
            found.extend(await self.query(external_task_ids=group))
        return found

    async def list_page(
        self,
        *,
        cursor: str | None = None,
        limit: int = 100,
        start_time: int | None = None,
        end_time: int | None = None,
        status: Iterable[str] = (),
        product_type: Iterable[str] = (),
    ) -> TaskPage:
        """One page of ``POST /tasks`` (newest first; default window: 30 days).

        Args:
            cursor: ``next_cursor`` of the previous page (the window is then ignored).
            limit: tasks per page, 1..500.
            start_time, end_time: window in ms since the epoch.
            status: keep only these statuses (``submitted``, ``processing``,
                ``succeeded``, ``failed``).
            product_type: keep only ``video``, ``image`` and/or ``try_on`` tasks.

        Raises:
            ValueError: a bad limit, window or filter value (nothing is sent).
            APIKeyRequiredError: only an AK/SK pair is configured.
        """
        body = list_body(
            cursor=cursor,
            limit=limit,
            start_time=start_time,
            end_time=end_time,
            status=status,
            product_type=product_type,
        )
        envelope = await self._transport.request(
            "POST", TASKS_PATH, json_body=body, idempotent=True, api_key_only=True
        )
        return read_page(envelope.data)

    async def iter_pages(self, **filters: Any) -> AsyncIterator[TaskPage]:
        """Every page of ``POST /tasks``, following ``next_cursor`` while ``has_more``
        (stops if Kling repeats a cursor)."""
        seen: set[str] = set()
        cursor = filters.pop("cursor", None)
        while True:
            page = await self.list_page(cursor=cursor, **filters)
            yield page
            if not page.has_more or not page.next_cursor or page.next_cursor in seen:
                return
            seen.add(page.next_cursor)
            cursor = page.next_cursor


def list_body(
    *,
    cursor: str | None,
    limit: int,
    start_time: int | None,
    end_time: int | None,
    status: Iterable[str],
    product_type: Iterable[str],
) -> dict[str, Any]:
    """The ``POST /tasks`` body, checked."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise UsageError(f"limit must be an integer in 1..{MAX_LIST_LIMIT}, got {limit!r}")
    for name, value in (("start_time", start_time), ("end_time", end_time)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UsageError(f"{name} must be milliseconds since the epoch (an integer)")
    if start_time is not None and end_time is not None and start_time > end_time:
        raise UsageError("start_time is after end_time")
    statuses, products = list(status), list(product_type)
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise UsageError(
            f"unknown status {bad[0]!r}; expected one of {', '.join(sorted(STATUSES))}"
        )
    bad = [p for p in products if p not in PRODUCT_TYPES]
    if bad:
        hint = " (the /tasks filter spells it try_on)" if bad[0] == "try-on" else ""
        raise UsageError(
            f"unknown product_type {bad[0]!r}{hint}; expected one of "
            f"{', '.join(sorted(PRODUCT_TYPES))}"
        )
    body: dict[str, Any] = {"limit": limit}
    if cursor:
        body["cursor"] = cursor
    if start_time is not None:
        body["start_time"] = start_time
    if end_time is not None:
        body["end_time"] = end_time
    filters = [{"key": "status", "values": statuses}] if statuses else []
    if products:
        filters.append({"key": "product_type", "values": products})
    if filters:
        body["filters"] = filters
    return body


def read_page(data: Any) -> TaskPage:
    """A ``POST /tasks`` page read leniently (``result`` missing = no tasks)."""
    if data is None:
        return TaskPage()
    if not isinstance(data, Mapping):
        raise ResponseError(f"POST /tasks: expected an object, got {type(data).__name__}")
    raw = data.get("result")
    tasks: list[Task] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        try:
            tasks.append(Task.model_validate(item))
        except ValidationError:
            logger.warning("POST /tasks: unreadable item skipped")
    count = data.get("count")
    cursor = data.get("next_cursor")
    return TaskPage(
        tasks=tasks,
        count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        next_cursor=str(cursor) if cursor not in (None, "") else None,
        has_more=data.get("has_more") is True,
    )


class TasksQueryCalls:
    """``GET /tasks`` / ``POST /tasks`` as calls of ``KlingClient`` (mixed in)."""

    _tasks_query: TasksQuery

    async def query_tasks(
        self,
        *,
        task_ids: Iterable[str] = (),
        external_task_ids: Iterable[str] = (),
    ) -> list[Task]:
        """Look tasks of any family and either design up through ``GET /tasks``.

        Any number of ids (one request per 20; task ids and external ids are asked
        in separate requests). Unknown ids are simply absent from the result, never
        an error; only tasks naming an asked id are returned. Needs an API key.

        Raises:
            ValueError: no ids, or a malformed id (nothing is sent).
            APIKeyRequiredError: only an AK/SK pair is configured (nothing is sent).

        Example:
            >>> found = await client.query_tasks(external_task_ids=["a", "b"])  # doctest: +SKIP
        """
        ids, exts = list(task_ids), list(external_task_ids)
        if not ids and not exts:
            raise UsageError("give task_ids= or external_task_ids= (at least one id)")
        return await self._tasks_query.query_many(task_ids=ids, external_task_ids=exts)

    async def tasks_page(
        self,
        *,
        cursor: str | None = None,
        limit: int = 100,
        start_time: int | None = None,
        end_time: int | None = None,
        status: Iterable[str] = (),
        product_type: Iterable[str] = (),
    ) -> TaskPage:
        """One page of ``POST /tasks``: the account's tasks of every family and both
        designs, newest first (see :meth:`TasksQuery.list_page`). Needs an API key."""
        return await self._tasks_query.list_page(
            cursor=cursor,
            limit=limit,
            start_time=start_time,
            end_time=end_time,
            status=status,
            product_type=product_type,
        )

    def iter_tasks_pages(
        self,
        *,
        limit: int = 100,
        start_time: int | None = None,
        end_time: int | None = None,
        status: Iterable[str] = (),
        product_type: Iterable[str] = (),
    ) -> AsyncIterator[TaskPage]:
        """Every page of ``POST /tasks``, following ``next_cursor`` while ``has_more``.

        Example:
            >>> async for page in client.iter_tasks_pages(status=["failed"]):  # doctest: +SKIP
            ...     for task in page.tasks: print(task.task_id, task.task_status_msg)
        """
        return self._tasks_query.iter_pages(
            limit=limit,
            start_time=start_time,
            end_time=end_time,
            status=status,
            product_type=product_type,
        )
