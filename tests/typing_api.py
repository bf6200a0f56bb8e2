"""Typing test: the public API as a user writes it, checked by ``mypy --strict``.

Not collected by pytest (no ``test_`` prefix); ``scripts/test`` type-checks it.
"""

from __future__ import annotations

from pathlib import Path

from kling_async import (
    FAMILIES,
    ConcurrencyLimitError,
    CreateOutcomeUnknownError,
    ElementInput,
    FirstFrame,
    HandleState,
    ImageGeneration,
    ImageToVideo2026,
    KlingClient,
    KlingError,
    ReferImage,
    Task,
    TaskHandle,
    TaskPage,
    TaskStatus,
    TextToVideo,
    VideoSettings,
    encode_file,
)
from kling_async.simulator import Faults, Simulator


async def typed_usage(path: Path) -> list[str]:
    async with Simulator(time_scale=0.01, faults=Faults(failure_rate=0.1)) as sim:
        client: KlingClient = sim.client()
        async with client:
            request = TextToVideo(prompt="a fox", duration="5")
            cost: int = FAMILIES[request.family].slot_cost(request)
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


async def typed_scheduling(client: KlingClient, path: Path) -> list[Task]:
    """submit(), TaskHandle and the per-family coroutines, as a user writes them."""
    handle: TaskHandle = client.submit(
        TextToVideo(prompt="a fox", model_name="kling-v3", duration=10),
        priority=2,
        external_task_id="job-1",
    )
    state: HandleState = handle.state
    ext: str = handle.external_task_id
    task_id: str | None = handle.task_id
    first: Task = await handle
    again: Task = await handle.wait(timeout=5)
    del state, ext, task_id
    video: Task = await client.text_to_video(
        prompt="a fox", model_name="kling-v3", duration=10, sound="on", priority=1
    )
    image: Task = await client.image_generation(prompt="p", n=2, image=path.read_bytes())
    try_on: Task = await client.virtual_try_on(human_image=path, cloth_image="https://x/c.png")
    ready: Task = await client.image_to_video(image=path, model_name="kling-v3", mode="4k")
    # Misspelled fields and wrong types are caught by the type checker:
    await client.text_to_video(prompt="a fox", duraton=10)  # type: ignore[call-arg]
    await client.text_to_video(prompt="a fox", sound="loud")  # type: ignore[arg-type]
    await client.image_generation(prompt="p", n="two")  # type: ignore[arg-type]
    return [first, again, video, image, try_on, ready]


async def typed_design_2026(client: KlingClient) -> list[Task]:
    """The 2026 design as a user writes it: models, items, settings, /tasks calls."""
    turbo: Task = await client.text_to_video_2026(
        model="kling-3.0-turbo", prompt="a fox", settings=VideoSettings(duration=5)
    )
    handle: TaskHandle = client.submit(
        ImageToVideo2026(
            model="kling-3.0",
            contents=[FirstFrame(url="https://x/a.png"), ElementInput(element_id=1, id="rusty")],
            settings=VideoSettings(resolution="4k", multi_shot=False),
        )
    )
    omni: Task = await client.omni_video_2026(
        model="kling-3.0-omni",
        contents=[ReferImage(url="https://x/a.png", id="fox")],
        settings={"aspect_ratio": "16:9"},
    )
    found: list[Task] = await client.query_tasks(external_task_ids=["job-1"])
    page: TaskPage = await client.tasks_page(limit=50, status=["succeeded"])
    more: bool = page.has_more
    del more
    await client.text_to_video_2026(model="kling-3.0", promt="x")  # type: ignore[call-arg]
    return [turbo, await handle, omni, *found, *page.tasks]
