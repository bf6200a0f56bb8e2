"""The low-level task calls of :class:`~kling_async.KlingClient`.

:class:`TaskCalls` maps one-to-one onto Kling endpoints: :meth:`TaskCalls.create`
sends exactly one create call (no scheduling), :meth:`TaskCalls.get_task` one query,
:meth:`TaskCalls.list_tasks` pages through a family's tasks. It is the backend the
scheduler talks to; the client exposes the same calls.

Every create carries an ``external_task_id`` (generated when not given). A create
whose outcome is unknown raises :class:`~kling_async.errors.CreateOutcomeUnknownError`
naming that id, never a blind re-POST (design invariant 3).

A create is sent only as a :class:`CreateCall`: the exact path and wire body
(``extra_body`` merged), built once by :func:`prepare_create`. The create gate
(:mod:`kling_async.scheduling._gate`) builds it, prices it and checks it; the same
call object is what :meth:`TaskCalls.send` POSTs, on the first attempt and on every
re-create, so what is priced is what is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kling_async.errors import (
    CreateOutcomeUnknownError,
    KlingError,
    ResponseError,
    UsageError,
)
from kling_async.models import KlingRequest, Task
from kling_async.wire._designs import Endpoint, strategy
from kling_async.wire._lookup import check_identity, check_kind
from kling_async.wire._retry import Decision, classify
from kling_async.wire._sync_calls import parse_data
from kling_async.wire._tasks_query import TasksQuery
from kling_async.wire._transport import Transport

__all__ = [
    "CreateCall",
    "TaskCalls",
    "merge_external_id",
    "new_external_task_id",
    "prepare_create",
]

MAX_PAGE_SIZE = 500
MAX_PAGE_NUM = 1000


def new_external_task_id() -> str:
    """A fresh, unique ``external_task_id`` (``ka-`` + 32 hex digits)."""
    return f"ka-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class CreateCall:
    """One create, built once: what is POSTed where, for which request and id.

    Attributes:
        family: the task family's name.
        request: the request it was built from.
        external_task_id: the id it carries (the same on every attempt).
        callback_url: the callback URL it carries, if any.
        path: where it is POSTed (the 2026 design puts the model in the path).
        body: the exact JSON body (``extra_body`` merged; read-only).
        api_key_only: the family's design accepts only an API key.
    """

    family: str
    request: KlingRequest
    external_task_id: str
    callback_url: str | None
    path: str
    body: Mapping[str, Any]
    api_key_only: bool


def prepare_create(
    endpoint: Endpoint,
    request: KlingRequest,
    *,
    external_task_id: str | None,
    callback_url: str | None,
) -> CreateCall:
    """Build the :class:`CreateCall` for ``request`` (nothing is sent).

    Raises:
        UsageError: conflicting external ids, or a path the request cannot fill.
    """
    design = strategy(endpoint.design)
    ext = merge_external_id(request.external_task_id, external_task_id)
    body = request.create_body(ext, callback_url)
    return CreateCall(
        family=endpoint.name,
        request=request,
        external_task_id=ext,
        callback_url=callback_url,
        path=design.create_path(endpoint, request),
        body=MappingProxyType(body),
        api_key_only=design.needs_api_key,
    )


class TaskCalls:
    """Create, query and list calls over one transport."""

    __slots__ = ("_family", "_transport", "tasks")

    def __init__(self, transport: Transport, families: Callable[[Any], Endpoint]) -> None:
        self._transport = transport
        self._family = families
        """The family table's lookup (names and families -> families): the table sits
        above the wire and is handed in."""
        self.tasks = TasksQuery(transport)
        """``GET /tasks`` / ``POST /tasks`` (the 2026 design's cross-family queries)."""

    @property
    def has_api_key(self) -> bool:
        """True when ``/tasks`` and 2026-design families can be used."""
        return self._transport.has_api_key

    async def query_tasks(self, *, task_ids: Iterable[str]) -> list[Task]:
        """One ``GET /tasks`` by task ids (≤ 20; unknown ones are absent)."""
        return await self.tasks.query(task_ids=task_ids)

    async def send(self, call: CreateCall) -> Task:
        """POST one create call exactly as built and return the new task.

        No scheduling happens here: over the concurrency limit this raises
        :class:`~kling_async.errors.ConcurrencyLimitError`.

        Raises:
            CreateOutcomeUnknownError: the task may exist; query its external id.
            APIError subclasses: Kling refused the create (nothing was created).
            TransportError: the request never reached Kling (retries ran out).
        """
        try:
            envelope = await self._transport.request(
                "POST",
                call.path,
                json_body=dict(call.body),
                idempotent=False,
                api_key_only=call.api_key_only,
            )
            return parse_data(Task, envelope.data, what=f"{call.family} create")
        except KlingError as error:
            if classify(error, idempotent=False) is Decision.UNKNOWN_OUTCOME or isinstance(
                error, ResponseError
            ):
                ext = call.external_task_id
                raise CreateOutcomeUnknownError(call.family, ext, error) from error
            raise

    async def get_task(
        self,
        family_name: str | Endpoint,
        *,
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> Task:
        """Look one task up by ``task_id``, by ``external_task_id``, or by both.

        How is the family's API design's business (``wire._designs``): ``/v1``
        families use the documented path ``GET {path}/{id}`` (Kling matches the
        segment against task ids and external ids); 2026-design families use
        ``GET /tasks?task_ids=`` or ``?external_task_ids=`` (an absent task is not
        found). The answer is checked against what was asked before it is returned:
        the task id must match; an external id must be named by the answer and match
        (with both given, an answer that names no external id is accepted on its task
        id). A task that is not the one asked for is never returned.

        Raises:
            TaskNotFoundError: no such task (live Kling: HTTP 400, code 1201,
                ``Task not found by id/external id``; 1203 / HTTP 404 too).
            TaskMismatchError: the answer names another task.
            UsageError: no id given, or the family has no query endpoint.
            APIKeyRequiredError: a 2026-design family and no API key.
        """
        fam = self._family(family_name)
        if task_id is None and external_task_id is None:
            raise UsageError("give task_id= or external_task_id=")
        if not fam.queryable:
            raise UsageError(f"{fam.name} has no query endpoint (its result comes inline)")
        task = await strategy(fam.design).lookup(
            self._transport,
            self.tasks,
            fam,
            task_id=task_id,
            external_task_id=external_task_id,
        )
        check_identity(
            task.task_id,
            task.external_task_id,
            task_id=task_id,
            external_task_id=external_task_id,
            where=f"{fam.name} lookup",
        )
        check_kind(task, family=fam.name, pack=fam.pack_name, where=f"{fam.name} lookup")
        return task

    async def list_tasks(
        self,
        family_name: str | Endpoint,
        *,
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
        max_pages: int | None = None,
    ) -> AsyncIterator[list[Task]]:
        """Iterate over pages of a family's tasks, newest first.

        Stops after a short page, at page 1000 (Kling's bound), or after
        ``max_pages`` pages.

        Example:
            >>> async for page in client.list_tasks("text2video"):  # doctest: +SKIP
            ...     for task in page: print(task.task_id, task.task_status)
        """
        fam = self._family(family_name)
        if not fam.list_supported:
            raise UsageError(
                f"{fam.name} has no list endpoint"
                + (" (list them with tasks_page())" if strategy(fam.design).needs_api_key else "")
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise UsageError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        if not 1 <= start_page <= MAX_PAGE_NUM:
            raise UsageError(f"start_page must be 1..{MAX_PAGE_NUM}, got {start_page}")
        page, pages = start_page, 0
        while page <= MAX_PAGE_NUM and (max_pages is None or pages < max_pages):
            tasks = await self.list_page(fam, page=page, page_size=page_size)
            yield tasks
            pages += 1
            if len(tasks) < page_size:
                return
            page += 1

    async def list_page(
        self, family_name: str | Endpoint, *, page: int = 1, page_size: int = MAX_PAGE_SIZE
    ) -> list[Task]:
        """Fetch one page of a family's task list (newest first)."""
        fam = self._family(family_name)
        raw = await self.list_page_raw(fam, page=page, page_size=page_size)
        return [parse_data(Task, item, what=f"{fam.name} list item") for item in raw]

    async def list_page_raw(
        self, family_name: str | Endpoint, *, page: int = 1, page_size: int = MAX_PAGE_SIZE
    ) -> list[Mapping[str, Any]]:
        """One page of a family's task list as raw JSON objects (parse what you need).

        Raises:
            ResponseError: ``data`` is not a list of objects.
        """
        fam = self._family(family_name)
        if not fam.list_supported:
            raise UsageError(f"{fam.name} has no list endpoint")
        envelope = await self._transport.request(
            "GET", fam.path, params={"pageNum": page, "pageSize": page_size}, idempotent=True
        )
        data = envelope.data if envelope.data is not None else []
        if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
            raise ResponseError(f"{fam.name} list: expected a list of task objects")
        return data


def merge_external_id(from_model: Any, explicit: str | None) -> str:
    """The external id to send: the explicit one or the model's (they must agree), else
    a fresh one."""
    if explicit is not None and from_model is not None and explicit != from_model:
        raise UsageError(
            "external_task_id given twice with different values "
            f"({explicit!r} argument vs {from_model!r} on the request)"
        )
    value = explicit if explicit is not None else from_model
    if value is None:
        return new_external_task_id()
    if not isinstance(value, str) or not value:
        raise UsageError("external_task_id must be a non-empty string")
    return value
