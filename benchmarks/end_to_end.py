"""End-to-end benchmark: kling_async against a naive client, on the simulator.

Workload: N mixed tasks (60 % text-to-video, 30 % image generation with n 1-4,
10 % virtual try-on), durations ±30 % around each family's typical duration,
scaled by ``--scale``. Accounts: small (video=5, image=9, try_on=1) and large
(video=20, image=40, try_on=5), capacity known to both clients.

Measured per run, from the simulator's ground truth:
- utilization: lower bound on the makespan (slot-seconds of the bottleneck pack
  divided by its capacity) over the real makespan;
- HTTP requests per task (creates + queries), 1303 answers;
- completion-detection latency (simulator end -> handle resolved), p50 / p99, in
  milliseconds at this scale and in real-Kling seconds (divided by the scale).

The naive baseline is how users write it today: an ``asyncio.Semaphore`` per pack
(n units for image tasks) and one polling loop per task at 1/12 of the family's
typical duration.

Designs (``--designs``, default poll setting): ``v1`` = the workload on an AK/SK client
(lists, then single queries); ``v1+key`` = the same on an API-key client, so the /v1 tasks
no list page covers are asked through ``GET /tasks`` 20 to a request; ``mixed`` = half of
the text-to-video tasks go through the 2026 design (``TextToVideo2026``, kling-2.6, 5 s),
tracked with ``GET /tasks``, on the same account and scheduler as the /v1 ones.

Run:  python benchmarks/end_to_end.py            (writes benchmarks/results/end_to_end.json)
      python benchmarks/end_to_end.py --tasks 400 --accounts small --settings 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import socket
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _quick import quick_mode
from aiohttp import web

from kling_async import (
    CallbackRoute,
    ImageGeneration,
    KlingClient,
    KlingRequest,
    RetryPolicy,
    Task,
    TextToVideo,
    TextToVideo2026,
    VirtualTryOn,
)
from kling_async._config import BackoffPolicy, PollPolicy
from kling_async.endpoints import FAMILIES
from kling_async.integrations.aiohttp import KLING, setup_kling
from kling_async.simulator import Simulator

SETTINGS = {
    "fast": {"expected_completions": 0.25, "per_task_completions": 0.05},
    "default": {"expected_completions": 0.4, "per_task_completions": 0.07},
    "frugal": {"expected_completions": 0.6, "per_task_completions": 0.1},
}
"""Three poll settings: ``default`` is PollPolicy's default."""

ACCOUNTS = {
    "small": {"video": 5, "image": 9, "try_on": 1},
    "large": {"video": 20, "image": 40, "try_on": 5},
}
URL = "https://example.com/ref.png"


DESIGNS = ("v1", "v1+key", "mixed")


def workload(count: int, seed: int, design: str = "v1") -> list[KlingRequest]:
    """The benchmark's task mix, deterministic for a seed (``mixed``: half of the
    text-to-video tasks through the 2026 design)."""
    rng = random.Random(seed)
    out: list[KlingRequest] = []
    for i in range(count):
        r = rng.random()
        if r < 0.3 and design == "mixed":
            out.append(
                TextToVideo2026(model="kling-2.6", prompt=f"video {i}", settings={"duration": 5})
            )
        elif r < 0.6:
            out.append(TextToVideo(prompt=f"video {i}", duration=5))
        elif r < 0.9:
            out.append(ImageGeneration(prompt=f"image {i}", n=rng.randint(1, 4)))
        else:
            out.append(VirtualTryOn(human_image=URL, cloth_image=URL))
    return out


@dataclass
class Result:
    account: str
    client: str
    setting: str
    design: str
    tasks: int
    utilization: float
    requests_per_task: float
    count_1303: int
    latency_p50_ms: float
    latency_p99_ms: float
    latency_p50_real_s: float
    latency_p99_real_s: float
    makespan_s: float
    lower_bound_s: float
    max_in_use: dict[str, int]
    duplicates: int


def measure(
    sim: Simulator,
    account: str,
    client: str,
    setting: str,
    started: float,
    finished: float,
    resolved: dict[str, float],
    scale: float,
    design: str = "v1",
) -> Result:
    """Compute the metrics of one run from the simulator's ground truth."""
    capacity = ACCOUNTS[account]
    times = sim.stats.task_times
    slot_seconds: dict[str, float] = {}
    for _family, pack, cost, start, end in times.values():
        if pack is not None:
            slot_seconds[pack] = slot_seconds.get(pack, 0.0) + cost * (end - start)
    bound = max(slot_seconds[p] / capacity[p] for p in slot_seconds)
    makespan = finished - started
    t0 = sim.core._t0
    latencies = sorted(resolved[tid] - (t0 + times[tid][4]) for tid in resolved if tid in times)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Result(
        account=account,
        client=client,
        setting=setting,
        design=design,
        tasks=len(times),
        utilization=round(bound / makespan, 4),
        requests_per_task=round(sim.stats.total_requests / len(times), 3),
        count_1303=sim.stats.count_1303,
        latency_p50_ms=round(p50 * 1000, 2),
        latency_p99_ms=round(p99 * 1000, 2),
        latency_p50_real_s=round(p50 / scale, 1),
        latency_p99_real_s=round(p99 / scale, 1),
        makespan_s=round(makespan, 3),
        lower_bound_s=round(bound, 3),
        max_in_use=dict(sim.stats.max_in_use),
        duplicates=len(sim.stats.duplicate_creates),
    )


def _sim(account: str, scale: float, seed: int, webhook_secret: str | None = None) -> Simulator:
    return Simulator(
        capacity=ACCOUNTS[account],
        time_scale=scale,
        seed=seed,
        duration_spread=0.3,
        webhook_secret=webhook_secret,
    )


async def run_ours(
    account: str,
    requests: Sequence[KlingRequest],
    scale: float,
    setting: str,
    seed: int,
    *,
    callbacks: bool = False,
    design: str = "v1",
) -> tuple[Result, list[tuple[float, dict[str, int]]]]:
    """kling_async's scheduler; with ``callbacks`` the simulator POSTs signed callbacks
    to a real aiohttp receiver on loopback and polling is only the safety net.
    ``design`` other than ``v1`` runs on the simulator's API key (see the module doc)."""
    resolved: dict[str, float] = {}
    secret = "whsec_" + base64.b64encode(b"benchmark-webhook-secret-0123456789").decode()
    async with _sim(account, scale, seed, webhook_secret=secret if callbacks else None) as sim:
        credentials = (
            {"access_key": sim.access_key, "secret_key": sim.secret_key}
            if design == "v1"
            else {"api_key": sim.api_key}
        )
        kwargs: dict[str, Any] = {
            "base_url": sim.base_url,
            **credentials,
            "capacity": ACCOUNTS[account],
            "poll": PollPolicy.scaled(scale, **SETTINGS[setting]),
            "backoff": BackoffPolicy(initial=0.05, max_delay=0.5),
            "retry": RetryPolicy(initial_delay=0.005, max_delay=0.05),
        }
        runner: web.AppRunner | None = None
        if callbacks:
            port = _free_port()
            app = web.Application()
            kwargs.update(
                callback_route=CallbackRoute(
                    f"http://127.0.0.1:{port}/kling/callbacks", webhook_secrets=[secret]
                )
            )
            setup_kling(app, **kwargs)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            client = app[KLING]
        else:
            client = KlingClient(**kwargs)
        timeline: list[tuple[float, dict[str, int]]] = []
        started = time.monotonic()
        try:
            handles = [client.submit(r) for r in requests]

            def record(handle: Any) -> None:
                if handle.state.is_final and handle.task_id:
                    resolved[handle.task_id] = time.monotonic()

            for handle in handles:
                handle.add_listener(record)

            async def sample() -> None:
                while True:
                    timeline.append(
                        (time.monotonic() - started, {p: sim.in_use(p) for p in ACCOUNTS[account]})
                    )
                    await asyncio.sleep(max(0.01, scale * 10))

            sampler = asyncio.create_task(sample())
            await asyncio.gather(*handles)
            sampler.cancel()
        finally:
            if runner is not None:
                await runner.cleanup()
            else:
                await client.aclose()
        finished = max(resolved.values())
        label = "callbacks" if callbacks else setting
        return measure(
            sim, account, "kling_async", label, started, finished, resolved, scale, design
        ), timeline


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_naive(
    account: str, requests: Sequence[KlingRequest], scale: float, seed: int
) -> Result:
    """Semaphore per pack, one polling loop per task at 1/12 of the typical duration."""
    resolved: dict[str, float] = {}
    async with _sim(account, scale, seed) as sim:
        client: KlingClient = sim.client(retry=RetryPolicy(initial_delay=0.005, max_delay=0.05))
        sems = {p: asyncio.Semaphore(c) for p, c in ACCOUNTS[account].items()}
        locks = {p: asyncio.Lock() for p in ACCOUNTS[account]}

        async def one(request: KlingRequest) -> Task:
            fam = FAMILIES[request.family]
            assert fam.pack is not None
            pack, cost = fam.pack.value, fam.slot_cost(request)
            async with locks[pack]:  # take n units without deadlocking other image tasks
                for _ in range(cost):
                    await sems[pack].acquire()
            try:
                task = await client.create(request)
                interval = fam.typical_seconds * scale / 12
                while not task.is_terminal:
                    await asyncio.sleep(interval)
                    task = await client.get_task(fam.name, task_id=task.task_id)
                resolved[task.task_id] = time.monotonic()
                return task
            finally:
                for _ in range(cost):
                    sems[pack].release()

        started = time.monotonic()
        async with client:
            await asyncio.gather(*(one(r) for r in requests))
        finished = max(resolved.values())
        return measure(sim, account, "naive", "1/12 typical", started, finished, resolved, scale)


def print_table(results: Sequence[Result]) -> None:
    """Print the results side by side."""
    head = (
        f"{'account':7} {'client':12} {'setting':13} {'design':7} {'util':>6} {'req/task':>8} "
        f"{'1303':>5} {'p50 ms':>8} {'p99 ms':>8} {'p50 real s':>10} {'p99 real s':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r.account:7} {r.client:12} {r.setting:13} {r.design:7} {r.utilization:6.3f} "
            f"{r.requests_per_task:8.2f} {r.count_1303:5d} {r.latency_p50_ms:8.1f} "
            f"{r.latency_p99_ms:8.1f} {r.latency_p50_real_s:10.1f} {r.latency_p99_real_s:10.1f}"
        )


def save_timeline(
    path: Path, timeline: list[tuple[float, dict[str, int]]], capacity: dict[str, int]
) -> bool:
    """Plot slots in use per pack over time (needs matplotlib; skipped without it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(len(capacity), 1, figsize=(10, 2.2 * len(capacity)), sharex=True)
    for ax, (pack, cap) in zip(axes, capacity.items(), strict=True):
        ax.step([t for t, _ in timeline], [u[pack] for _, u in timeline], where="post")
        ax.axhline(cap, color="red", linestyle="--", linewidth=0.8)
        ax.set_ylabel(f"{pack} slots")
        ax.set_ylim(0, cap * 1.15)
    axes[-1].set_xlabel("seconds (scaled)")
    fig.suptitle("kling_async: slots in use per pack (dashed: capacity)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--scale", type=float, default=0.002)
    parser.add_argument("--accounts", default="small,large")
    parser.add_argument(
        "--settings",
        default="fast,default,frugal",
        help=f"poll settings to compare, among {', '.join(SETTINGS)}",
    )
    parser.add_argument(
        "--designs",
        default=",".join(DESIGNS),
        help="API designs to compare at the default setting: v1, v1+key, mixed",
    )
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-callbacks", action="store_true", help="skip the callbacks mode")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/end_to_end.json")
    args = parser.parse_args(argv)
    if quick_mode():
        args.tasks, args.scale = min(args.tasks, 20), min(args.scale, 0.0003)

    requests = workload(args.tasks, args.seed)
    results: list[Result] = []
    out = Path(args.out)
    await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
    for account in args.accounts.split(","):
        for setting in args.settings.split(","):
            result, timeline = await run_ours(account, requests, args.scale, setting, args.seed)
            results.append(result)
            print(f"  done: {account} kling_async {setting}", file=sys.stderr)
            if setting == "default" and save_timeline(
                out.with_name(f"timeline_{account}.png"), timeline, ACCOUNTS[account]
            ):
                print(f"  timeline: {out.with_name(f'timeline_{account}.png')}", file=sys.stderr)
        for design in args.designs.split(","):
            if design == "v1":
                continue  # the settings above are the v1 runs
            if design not in DESIGNS:
                parser.error(f"unknown design {design!r}; expected one of {', '.join(DESIGNS)}")
            mixed = workload(args.tasks, args.seed, design)
            result, _ = await run_ours(
                account, mixed, args.scale, "default", args.seed, design=design
            )
            results.append(result)
            print(f"  done: {account} kling_async {design}", file=sys.stderr)
        if not args.no_callbacks:
            result, _ = await run_ours(
                account, requests, args.scale, "default", args.seed, callbacks=True
            )
            results.append(result)
            print(f"  done: {account} kling_async callbacks", file=sys.stderr)
        if not args.no_naive:
            results.append(await run_naive(account, requests, args.scale, args.seed))
            print(f"  done: {account} naive", file=sys.stderr)
    print(f"\n{args.tasks} tasks, time scale {args.scale} (1 s real = {1000 * args.scale:g} ms)")
    print_table(results)
    payload = {"tasks": args.tasks, "scale": args.scale, "results": [asdict(r) for r in results]}
    await asyncio.to_thread(out.write_text, json.dumps(payload, indent=2))
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
