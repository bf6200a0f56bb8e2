"""A program interrupted by Ctrl-C (run with ``python -m tests.ctrl_c_worker``).

Submits ``--count`` text-to-video tasks on video capacity 2 and waits for them inside
``async with KlingClient``; prints ``ready`` once 3 tasks were created, and, however
``main`` ends, one JSON line with every handle's state, ids and error type.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from kling_async import BackoffPolicy, KlingClient, PollPolicy, TaskHandle, TextToVideo


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--scale", type=float, default=0.004)
    args = parser.parse_args()
    handles: list[TaskHandle] = []
    try:
        async with KlingClient(
            base_url=args.base_url,
            access_key=args.access_key,
            secret_key=args.secret_key,
            capacity={"video": 2},
            poll=PollPolicy.scaled(args.scale * 0.4),
            backoff=BackoffPolicy(initial=0.02, max_delay=0.2),
        ) as client:
            handles.extend(
                client.submit(TextToVideo(prompt=f"p{i}"), external_task_id=f"c-{i}")
                for i in range(args.count)
            )
            while sum(1 for h in handles if h.task_id) < 3:
                await asyncio.sleep(0.005)
            print("ready", flush=True)
            await asyncio.gather(*handles)
    finally:
        # Runs after Ctrl-C too: asyncio.run cancels main, the client closes first.
        await asyncio.sleep(0)
        summary = [
            {
                "state": h.state.value,
                "done": h.done(),
                "task_id": h.task_id,
                "external_task_id": h.external_task_id,
                "error": type(h.error).__name__ if h.error is not None else None,
            }
            for h in handles
        ]
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
