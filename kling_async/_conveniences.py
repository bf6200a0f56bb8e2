"""Conveniences on top of ``KlingClient.submit``: one awaitable method per family,
and :func:`as_completed` for handles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from kling_async._handle import TaskHandle
from kling_async.models import KlingRequest, Task

if TYPE_CHECKING:
    from kling_async._client import KlingClient

__all__ = ["as_completed", "family_method"]

FamilyMethod = Callable[..., Awaitable[Task]]

_SUBMIT_OPTIONS = ("priority", "external_task_id", "start_deadline", "callback_url")


def family_method(model: type[KlingRequest]) -> FamilyMethod:
    """A ``KlingClient`` method that builds a ``model`` request, submits it and awaits it."""

    async def method(
        self: KlingClient, request: KlingRequest | None = None, /, **fields: Any
    ) -> Task:
        options = {k: fields.pop(k) for k in _SUBMIT_OPTIONS if k in fields}
        if request is None:
            request = model(**fields)
        elif fields:
            raise TypeError("pass either a request model or its fields, not both")
        elif not isinstance(request, model):
            raise TypeError(f"expected a {model.__name__}, got {type(request).__name__}")
        return await self.submit(request, **options)

    method.__name__ = method.__qualname__ = _snake(model.__name__)
    method.__doc__ = (
        f"Create a {model.family} task and wait for it to finish.\n\n"
        f"Pass a :class:`{model.__name__}` or its fields as keywords, plus any of "
        "``priority``, ``external_task_id``, ``start_deadline``, ``callback_url``.\n"
        "Returns the finished Task; raises TaskFailedError if it failed."
    )
    return method


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


async def as_completed(handles: Iterable[TaskHandle]) -> AsyncIterator[TaskHandle]:
    """Yield each handle when its outcome is decided, first finished first.

    Example:
        >>> async for handle in as_completed(handles):      # doctest: +SKIP
        ...     print(handle.external_task_id, handle.state)
    """
    pending: dict[asyncio.Future[Task], TaskHandle] = {}
    for handle in handles:
        pending[handle._future] = handle
    while pending:
        # asyncio.wait never cancels the futures it watches: leaving the loop early
        # (or being cancelled) leaves every submission running.
        done, _ = await asyncio.wait(list(pending), return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            yield pending.pop(future)
