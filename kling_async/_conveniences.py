"""Conveniences on top of ``KlingClient.submit``: what the per-family coroutines
(``_family_methods``, generated) call, and :func:`as_completed` for handles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

from kling_async._handle import TaskHandle
from kling_async.models import KlingRequest, Task

__all__ = ["as_completed", "run_family"]


async def run_family(
    submit: Callable[..., Awaitable[Task]],
    model: type[KlingRequest],
    request: KlingRequest | None,
    fields: Mapping[str, Any],
    **options: Any,
) -> Task:
    """Build ``model`` from ``fields`` (those not None), or take ``request``, submit it
    with ``options`` and wait for the finished task."""
    given = {name: value for name, value in fields.items() if value is not None}
    if request is None:
        request = model(**given)
    elif given:
        raise TypeError(
            f"pass either a {model.__name__} or its fields, not both "
            f"(got {', '.join(sorted(given))})"
        )
    elif not isinstance(request, model):
        raise TypeError(f"expected a {model.__name__}, got {type(request).__name__}")
    return await submit(request, **options)


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
