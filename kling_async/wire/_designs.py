"""One strategy per API design: everything that differs between Kling's two designs.

The family table (``kling_async.endpoints``) names a :class:`~kling_async.Design` per
family; :func:`strategy` gives the object that knows how that design is spoken. Code
above never asks "which design is this?": it asks the strategy. A third design is one
new :class:`APIDesign` subclass (and its :class:`~kling_async.Design` member).

What a strategy owns:

* **create path**: ``/v1/videos/text2video`` as is, or ``/text-to-video/{model}`` with
  the request's model in the path (:meth:`APIDesign.create_path`);
* **lookup**: ``GET {path}/{id}`` (``/v1``: Kling matches the segment against task ids
  and external ids; a list answer is searched for our id only) or ``GET /tasks`` by one
  kind of id (2026: an absent task is not found) (:meth:`APIDesign.lookup`);
* **credentials**: whether only a console API key is accepted
  (:meth:`APIDesign.require_credentials`);
* **answer shape**: not here: :class:`Task` reads either shape, the ``/v1`` task object
  or the 2026 task record, since callbacks and ``GET /tasks`` answers carry both
  whatever the family;
* **polling**: whether in-flight tasks are asked through ``GET /tasks`` (2026: always,
  it is the only lookup; ``/v1``: only with an API key, for what the family's list did
  not cover) (:meth:`APIDesign.polls_by_tasks_query`);
* **model names**: the request field that names the model (``model_name`` / ``model``)
  and the ``/v1`` name of the same model version, which per-model concurrency and the
  ``/v1`` price entries count under (:meth:`APIDesign.slot_model`,
  :meth:`APIDesign.legacy_model`);
* **duration key**: what durations are learned under (``mode`` / ``resolution`` and the
  requested duration) (:meth:`APIDesign.duration_key`).
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Mapping
from typing import Any, ClassVar, Final, Protocol
from urllib.parse import quote

from kling_async.errors import KlingError, TaskMismatchError, TaskNotFoundError, UsageError
from kling_async.models import Design, KlingRequest, Task
from kling_async.models._rules2026 import LEGACY_NAMES
from kling_async.wire._auth import Credentials
from kling_async.wire._lookup import find_in_list, is_not_found, one_named
from kling_async.wire._sync_calls import parse_data
from kling_async.wire._tasks_query import TasksQuery
from kling_async.wire._transport import Transport

__all__ = ["APIDesign", "Design2026", "Endpoint", "V1Design", "asked", "strategy"]


class Endpoint(Protocol):
    """What the wire needs of a task family (``kling_async.endpoints.Family``)."""

    @property
    def name(self) -> str:
        """The family name, for messages."""
        ...

    @property
    def path(self) -> str:
        """The create path (a 2026 family's holds ``{model}``)."""
        ...

    @property
    def design(self) -> Design:
        """Which API design the family belongs to."""
        ...

    @property
    def list_supported(self) -> bool:
        """Whether ``GET {path}?pageNum=&pageSize=`` exists."""
        ...

    @property
    def queryable(self) -> bool:
        """Whether its tasks can be looked up after creation."""
        ...

    @property
    def pack_name(self) -> str | None:
        """The pack its tasks are billed to (what a task's answer can show)."""
        ...


class APIDesign(abc.ABC):
    """How one API design is spoken (see the module docstring)."""

    kind: ClassVar[Design]
    """The design this strategy speaks."""
    needs_api_key: ClassVar[bool]
    """True when Kling accepts only a console API key (an AK/SK JWT gets 401/1002)."""
    model_field: ClassVar[str]
    """The request field that names the model (``model_name`` / ``model``)."""

    def require_credentials(self, credentials: Credentials, what: str) -> None:
        """Raise :class:`~kling_async.APIKeyRequiredError` (naming ``what``) when
        ``credentials`` cannot be used here; nothing is sent either way."""
        credentials.bearer(api_key_only=self.needs_api_key, what=what)

    @abc.abstractmethod
    def create_path(self, endpoint: Endpoint, request: KlingRequest) -> str:
        """The path ``request`` is POSTed to.

        Raises:
            UsageError: the path needs something the request does not give.
        """

    @abc.abstractmethod
    async def lookup(
        self,
        transport: Transport,
        tasks: TasksQuery,
        endpoint: Endpoint,
        *,
        task_id: str | None,
        external_task_id: str | None,
    ) -> Task:
        """One lookup of a task of ``endpoint`` by either id (not yet checked against
        what was asked: the caller does that for every design alike).

        Raises:
            TaskNotFoundError: Kling has no such task.
            TaskMismatchError: the answer is not about the task asked for.
        """

    @abc.abstractmethod
    def polls_by_tasks_query(self, *, has_api_key: bool, tasks: int, enabled: bool) -> bool:
        """Whether ``tasks`` in-flight tasks a poll round has left are asked through
        ``GET /tasks`` (``enabled``: ``PollPolicy.tasks_query``)."""

    def model_of(self, fields: Mapping[str, Any] | KlingRequest) -> str | None:
        """The model named by a request (or by its fields, as in a job file)."""
        if isinstance(fields, KlingRequest):
            value = getattr(fields, self.model_field, None)
        else:
            value = fields.get(self.model_field)
        return str(value) if value else None

    def legacy_model(self, model: str) -> str:
        """The ``/v1`` name of the same model version (itself when there is none)."""
        return model

    def slot_model(self, fields: Mapping[str, Any] | KlingRequest) -> str | None:
        """The model version a task's slots count under with per-model concurrency:
        the ``/v1`` name of its model (``kling-3.0`` counts as ``kling-v3``)."""
        model = self.model_of(fields)
        return self.legacy_model(model) if model else None

    @abc.abstractmethod
    def duration_key(self, family: str, payload: Mapping[str, Any] | None) -> tuple[Hashable, ...]:
        """What a task's duration is learned under, from the body it was created with."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind.value}>"


class V1Design(APIDesign):
    """``/v1/...``: the model in ``model_name``, lookups by path, JWT or API key."""

    kind = Design.V1
    needs_api_key = False
    model_field = "model_name"

    def create_path(self, endpoint: Endpoint, request: KlingRequest) -> str:
        """The family's path as it is."""
        return endpoint.path

    async def lookup(
        self,
        transport: Transport,
        tasks: TasksQuery,
        endpoint: Endpoint,
        *,
        task_id: str | None,
        external_task_id: str | None,
    ) -> Task:
        """``GET {path}/{id}`` (the task id when given, else the external id; live
        Kling matches the segment against both). A list answer is searched for our
        id only."""
        segment = task_id if task_id is not None else external_task_id
        if segment is None:
            raise UsageError("give task_id= or external_task_id=")
        where = f"{endpoint.name} lookup"
        try:
            envelope = await transport.request(
                "GET", f"{endpoint.path}/{quote(segment, safe='')}", idempotent=True
            )
        except KlingError as error:
            if is_not_found(error):
                raise TaskNotFoundError(
                    f"no {endpoint.name} task with {asked(task_id, external_task_id)} ({error})",
                    http_status=getattr(error, "http_status", None) or 0,
                    code=getattr(error, "code", 0),
                    request_id=getattr(error, "request_id", None),
                ) from None
            raise
        data = envelope.data
        if isinstance(data, list):
            # Not an answer of the path form; take only an item that is provably ours.
            found = find_in_list(data, task_id=task_id, external_task_id=external_task_id)
            if found is None:
                raise TaskMismatchError(
                    f"{where}: asked for {asked(task_id, external_task_id)}, the answer is a "
                    f"list of {len(data)} task(s) without it; not adopted",
                    asked=segment,
                    got_task_id=None,
                )
            data = found
        return parse_data(Task, data, what=where)

    def polls_by_tasks_query(self, *, has_api_key: bool, tasks: int, enabled: bool) -> bool:
        """Only with an API key, when allowed, for more than one task (one single
        query costs the same as one ``GET /tasks``)."""
        return enabled and has_api_key and tasks > 1

    def duration_key(self, family: str, payload: Mapping[str, Any] | None) -> tuple[Hashable, ...]:
        """(family, ``mode``, ``duration``)."""
        if not payload:
            return (family, None, None)
        return (family, payload.get("mode"), payload.get("duration"))


class Design2026(APIDesign):
    """The 2026 design: the model in the path, ``/tasks`` lookups, API key only."""

    kind = Design.D2026
    needs_api_key = True
    model_field = "model"

    def create_path(self, endpoint: Endpoint, request: KlingRequest) -> str:
        """``/text-to-video/{model}`` with the request's model (URL-quoted)."""
        model = self.model_of(request)
        if not model:
            raise UsageError(f"{endpoint.name}: the model is part of the path; give model=")
        return endpoint.path.replace("{model}", quote(model, safe=""))

    async def lookup(
        self,
        transport: Transport,
        tasks: TasksQuery,
        endpoint: Endpoint,
        *,
        task_id: str | None,
        external_task_id: str | None,
    ) -> Task:
        """``GET /tasks`` by task id (or else by external id); absent = not found."""
        if task_id is not None:
            found = await tasks.query(task_ids=[task_id])
        elif external_task_id is not None:
            found = await tasks.query(external_task_ids=[external_task_id])
        else:
            raise UsageError("give task_id= or external_task_id=")
        if not found:
            raise TaskNotFoundError(
                f"no {endpoint.name} task with {asked(task_id, external_task_id)} "
                "(GET /tasks answered without it)",
                http_status=200,
                code=0,
                request_id=None,
            )
        if task_id is None:
            found = one_named(found, external_task_id=external_task_id, where="GET /tasks")
        return found[0]

    def polls_by_tasks_query(self, *, has_api_key: bool, tasks: int, enabled: bool) -> bool:
        """Always: ``GET /tasks`` is this design's only lookup."""
        return True

    def legacy_model(self, model: str) -> str:
        """``kling-3.0`` -> ``kling-v3`` (``models._rules2026.LEGACY_NAMES``)."""
        return LEGACY_NAMES.get(model, model)

    def duration_key(self, family: str, payload: Mapping[str, Any] | None) -> tuple[Hashable, ...]:
        """(family, ``settings.resolution``, ``settings.duration``)."""
        settings = (payload or {}).get("settings")
        if not isinstance(settings, Mapping):
            return (family, None, None)
        return (family, settings.get("resolution"), settings.get("duration"))


_STRATEGIES: Final[Mapping[Design, APIDesign]] = {
    design.kind: design for design in (V1Design(), Design2026())
}


def strategy(design: Design) -> APIDesign:
    """The strategy that speaks ``design``."""
    return _STRATEGIES[design]


def asked(task_id: str | None, external_task_id: str | None) -> str:
    """``task_id='1' and external_task_id='x'``: what a lookup asked, for messages."""
    parts = []
    if task_id is not None:
        parts.append(f"task_id={task_id!r}")
    if external_task_id is not None:
        parts.append(f"external_task_id={external_task_id!r}")
    return " and ".join(parts)
