"""Scheduler overhead: submissions per second and memory per queued handle.

An in-memory backend answers instantly, so what is measured is kling_async's own
work per task: submit, queue, slot accounting, dispatch, create bookkeeping,
tracking (one list poll sees the task finished), release and resolution.

Modes:
- ``tracked``: creates answer ``submitted``; the tracker's list polls find the
  tasks finished (the full path).
- ``instant``: creates answer an already finished task (no polling).

Memory: tracemalloc over 100,000 ``submit()`` calls while nothing is dispatched
yet (request models are built beforehand and reported separately).

Run:  python benchmarks/scheduler_overhead.py
      (prints a table, writes benchmarks/results/scheduler_overhead.json)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from _quick import quick_mode

from kling_async import Task, TaskHandle, TextToVideo
from kling_async._config import PollPolicy
from kling_async.endpoints import Family
from kling_async.models import TaskInfo
from kling_async.scheduling._scheduler import Scheduler
from kling_async.wire._task_calls import CreateCall


class InstantBackend:
    """Answers every call at once from memory."""

    has_api_key = False

    def __init__(self, *, finish_on_create: bool) -> None:
        self.finish_on_create = finish_on_create
        self.tasks: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.creates = 0
        self.lists = 0
        self._finished = Task.model_validate({"task_id": "0", "task_status": "succeed"})
        self._submitted = Task.model_validate({"task_id": "0", "task_status": "submitted"})

    async def send(self, call: CreateCall) -> Task:
        external_task_id = call.external_task_id
        self.creates += 1
        task_id = str(self.creates)
        now = int(time.time() * 1000)
        status = "succeed" if self.finish_on_create else "submitted"
        raw = {
            "task_id": task_id,
            "task_status": status,
            "task_info": {"external_task_id": external_task_id},
            "created_at": now,
            "updated_at": now + 1,
        }
        self.tasks[task_id] = raw
        self.order.append(task_id)
        # Answers are copied from a parsed template, not parsed: what is measured is
        # the scheduler, not JSON decoding (the tracker still parses list items).
        template = self._finished if self.finish_on_create else self._submitted
        return template.model_copy(
            update={
                "task_id": task_id,
                "task_info": TaskInfo(external_task_id=external_task_id),
                "created_at": now,
                "updated_at": now + 1,
            }
        )

    async def get_task(
        self,
        family_name: str | Family,
        *,
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> Task:
        raw = dict(self.tasks[task_id or ""], task_status="succeed")
        return Task.model_validate(raw)

    async def list_page_raw(
        self, family_name: str | Family, *, page: int = 1, page_size: int = 500
    ) -> list[Mapping[str, Any]]:
        self.lists += 1
        newest = self.order[::-1][(page - 1) * page_size : page * page_size]
        return [dict(self.tasks[t], task_status="succeed") for t in newest]


async def throughput(count: int, capacity: int, *, finish_on_create: bool) -> dict[str, Any]:
    """Submit ``count`` tasks and wait for all; returns timing figures."""
    backend = InstantBackend(finish_on_create=finish_on_create)
    poll = PollPolicy(
        min_interval=0.0005,
        max_interval=0.002,
        time_scale=1e-6,
        queries_per_second=1e6,
        expected_completions=0.01,
    )
    scheduler = Scheduler(backend, capacity={"video": capacity}, poll=poll)
    requests = [TextToVideo(prompt=f"p{i}") for i in range(count)]
    gc.collect()
    started = time.perf_counter()
    cancel = scheduler.cancel
    handles = [
        TaskHandle(scheduler.submit(r, external_task_id=f"ext-{i}"), cancel)
        for i, r in enumerate(requests)
    ]
    await scheduler.drain()
    elapsed = time.perf_counter() - started
    assert all(h.done() and h.result().succeeded for h in handles)
    await scheduler.aclose()
    assert backend.creates == count
    return {
        "mode": "instant" if finish_on_create else "tracked",
        "tasks": count,
        "capacity": capacity,
        "seconds": round(elapsed, 3),
        "tasks_per_second": round(count / elapsed),
        "us_per_task": round(elapsed / count * 1e6, 1),
        "list_polls": backend.lists,
    }


async def memory_per_handle(count: int) -> dict[str, Any]:
    """Bytes allocated per queued handle (submit() only, nothing dispatched)."""
    backend = InstantBackend(finish_on_create=True)
    scheduler = Scheduler(backend, capacity={"video": 1})
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    requests = [TextToVideo(prompt=f"prompt number {i}") for i in range(count)]
    with_requests = tracemalloc.take_snapshot()
    cancel = scheduler.cancel  # one bound method for every handle, as the client does
    handles = [
        TaskHandle(scheduler.submit(r, external_task_id=f"ka-{i:032x}"), cancel)
        for i, r in enumerate(requests)
    ]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()

    def total(a: tracemalloc.Snapshot, b: tracemalloc.Snapshot) -> int:
        return sum(s.size_diff for s in b.compare_to(a, "filename"))

    handle_bytes = total(with_requests, after) / count
    request_bytes = total(base, with_requests) / count
    for handle in handles:
        handle.cancel()
    await scheduler.aclose()
    return {
        "handles": count,
        "bytes_per_queued_handle": round(handle_bytes),
        "bytes_per_request_model": round(request_bytes),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--capacity", type=int, default=200)
    parser.add_argument("--out", default="benchmarks/results/scheduler_overhead.json")
    args = parser.parse_args(argv)
    if quick_mode():
        args.tasks = min(args.tasks, 2000)

    rows = [
        asyncio.run(throughput(args.tasks, args.capacity, finish_on_create=True)),
        asyncio.run(throughput(args.tasks, args.capacity, finish_on_create=False)),
    ]
    memory = asyncio.run(memory_per_handle(args.tasks))
    print(f"{'mode':8} {'tasks':>8} {'capacity':>8} {'seconds':>8} {'tasks/s':>9} {'us/task':>8}")
    for r in rows:
        print(
            f"{r['mode']:8} {r['tasks']:8d} {r['capacity']:8d} {r['seconds']:8.2f} "
            f"{r['tasks_per_second']:9d} {r['us_per_task']:8.1f}"
        )
    print(
        f"\nmemory per queued handle: {memory['bytes_per_queued_handle']} bytes "
        f"(the request model itself: {memory['bytes_per_request_model']} bytes)"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"throughput": rows, "memory": memory}, indent=2))
    print(f"written {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
