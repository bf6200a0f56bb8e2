"""Typing test: the public API as a user writes it, checked by ``mypy --strict``.

Not collected by pytest (no ``test_`` prefix); ``scripts/test`` type-checks it.
"""

from __future__ import annotations

from pathlib import Path

from kling_async import (
    ConcurrencyLimitError,
    CreateOutcomeUnknownError,
    ImageGeneration,
    KlingClient,
    KlingError,
    Task,
    TaskStatus,
    TextToVideo,
    encode_file,
)
from kling_async.simulator import Faults, Simulator


async def typed_usage(path: Path) -> list[str]:
    async with Simulator(time_scale=0.01, faults=Faults(failure_rate=0.1)) as sim:
        client: KlingClient = sim.client()
        async with client:
            request = TextToVideo(prompt="a fox", duration="5")
            cost: int = request.slot_cost()
            try:
                task: Task = await client.create(request, external_task_id="job-1")
            except CreateOutcomeUnknownError as unknown:
                task = await client.get_task(
                    "text2video", external_task_id=unknown.external_task_id
                )
            except ConcurrencyLimitError as busy:
                retry_after: float | None = busy.retry_after
                del retry_after
                raise
            except KlingError:
                raise
            status: TaskStatus = task.task_status
            image_b64: str = encode_file(path)
            await client.create(ImageGeneration(prompt="p", image=image_b64, n=2))
            pages: list[list[Task]] = [p async for p in client.list_tasks("text2video")]
            del status, cost
            return [t.task_id for page in pages for t in page]
