"""Quick start: submit tasks to the embedded Kling simulator and print the results.

Run:  python examples/quickstart.py

Nothing here touches the real Kling service: a local simulator plays Kling
(same paths, JWT auth, envelope, concurrency limits), with task durations scaled
down so a "5 minute" video finishes in a few seconds.
"""

from __future__ import annotations

import asyncio

from kling_async import ImageGeneration, KlingClient, Task, TextToVideo
from kling_async.simulator import Simulator


async def wait_until_done(client: KlingClient, family: str, task: Task) -> Task:
    """Poll one task until it ends (the scheduler will do this for you later)."""
    while not task.is_terminal:
        await asyncio.sleep(0.5)
        task = await client.get_task(family, task_id=task.task_id)
    return task


async def main() -> None:
    async with Simulator(time_scale=0.01, seed=1) as sim, sim.client() as client:
        print(f"simulator running at {sim.base_url}")
        video = await client.create(TextToVideo(prompt="a red fox in fresh snow", duration=5))
        image = await client.create(ImageGeneration(prompt="a lighthouse at dawn", n=2))
        print(f"created text2video {video.task_id} and image_generation {image.task_id}")
        video, image = await asyncio.gather(
            wait_until_done(client, "text2video", video),
            wait_until_done(client, "image_generation", image),
        )
        for task in (video, image):
            print(f"{task.task_id}: {task.task_status.value}")
            for url in task.result_urls():
                print(f"  result: {url}")
        stats = sim.stats
        print(
            f"simulator saw {stats.total_requests} requests, {stats.total_creates} creates, "
            f"max slots in use {stats.max_in_use}"
        )


if __name__ == "__main__":
    asyncio.run(main())
