"""What the scheduler and tracker need from a Kling connection.

:class:`~kling_async.wire._task_calls.TaskCalls` (the client's low-level task calls)
implements it over HTTP; benchmarks and unit tests pass an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from kling_async.endpoints import Family
from kling_async.models import Task
from kling_async.wire._task_calls import CreateCall

__all__ = ["Backend"]


class Backend(Protocol):
    """The calls scheduling needs.

    ``query_tasks`` (``GET /tasks``, at most 20 ids) is used for 2026-design
    families, and for ``/v1`` ones when ``has_api_key`` is True.
    """

    @property
    def has_api_key(self) -> bool:
        """True when ``GET /tasks`` can be used (an API key is configured)."""
        ...

    async def query_tasks(self, *, task_ids: Iterable[str]) -> list[Task]:
        """One ``GET /tasks`` by task ids; unknown ids are absent from the answer."""
        ...

    async def send(self, call: CreateCall) -> Task:
        """One create call, exactly as the create gate built it (see
        :meth:`kling_async.wire._task_calls.TaskCalls.send`)."""
        ...

    async def get_task(
        self,
        family_name: str | Family,
        *,
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> Task:
        """One task query (see :meth:`kling_async.KlingClient.get_task`)."""
        ...

    async def list_page_raw(
        self, family_name: str | Family, *, page: int = 1, page_size: int = 500
    ) -> list[Mapping[str, Any]]:
        """One page of a family's tasks as raw JSON objects, newest first."""
        ...
