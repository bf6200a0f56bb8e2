"""Conveniences on top of ``KlingClient.submit``: what the per-family coroutines
(``_family_methods``, generated) call, and :func:`as_completed` for handles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

from kling_async._handle import TaskHandle
from kling_async.errors import UsageError
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
        raise UsageError(
            f"pass either a {model.__name__} or its fields, not both "
            f"(got {', '.join(sorted(given))})"
        )
    elif not isinstance(request, model):
        raise UsageError(f"expected a {model.__name__}, got {type(request).__name__}")
    return await submit(request, **options)


async def as_completed(handles: Iterable[TaskHandle]) -> AsyncIterator[TaskHandle]:
    """Yield each handle when its outcome is decided, first finished first.

    Leaving the loop early (or being cancelled) leaves every submission running.

    Example:
        >>> async for handle in as_completed(handles):      # doctest: +SKIP
        ...     print(handle.external_task_id, handle.state)
    """
    finished: asyncio.Queue[TaskHandle] = asyncio.Queue()
    pending = list(dict.fromkeys(handles))  # each handle once, in the order given

    def on_change(handle: TaskHandle) -> None:
        if handle.done():
            handle.remove_listener(on_change)
            finished.put_nowait(handle)

    for handle in pending:
        if handle.done():
            finished.put_nowait(handle)
        else:
            handle.add_listener(on_change)
    try:
        for _ in range(len(pending)):
            yield await finished.get()
    finally:
        for handle in pending:
            handle.remove_listener(on_change)
