"""Redis slot pool: operations per second, and 4 processes versus 1.

1. acquire + release pairs against a local redis-server (one coroutine, and 8 at once);
2. end to end on the simulator: the same tasks and total capacity run by 1 process
   (in-process slot pool) and by 4 processes sharing a RedisSlotPool; utilization
   (lower bound / makespan, from the simulator's ground truth) side by side.

Needs redis-server on PATH (Debian: apt-get install redis-server).
Run:  python benchmarks/redis_pool.py   (writes benchmarks/results/redis_pool.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _quick import quick_mode

from kling_async.scheduling import RedisSlotPool
from kling_async.simulator import Simulator

ACCESS_KEY = "bench-access-key-0123456789abcdef"
SECRET_KEY = "bench-secret-key-0123456789abcdef-0123"
CAPACITY = {"video": 5, "image": 9, "try_on": 1}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_redis(folder: str) -> tuple[asyncio.subprocess.Process, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = _port()
    proc = await asyncio.create_subprocess_exec(
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        folder,
        stdout=asyncio.subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            break
        except OSError:
            await asyncio.sleep(0.02)
    return proc, f"redis://127.0.0.1:{port}/0"


async def ops_per_second(url: str, pairs: int, concurrency: int) -> dict[str, Any]:
    """acquire + release pairs per second."""
    pool = RedisSlotPool(url, account=f"ops{concurrency}")
    await pool.set_capacity("video", 10_000)

    async def worker(w: int) -> None:
        for i in range(pairs // concurrency):
            key = f"{w}-{i}"
            assert await pool.try_acquire("video", 1, key, "text2video")
            await pool.release("video", key)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.aclose()
    return {
        "concurrency": concurrency,
        "pairs": pairs,
        "pairs_per_second": round(pairs / elapsed),
        "ops_per_second": round(2 * pairs / elapsed),
    }


async def end_to_end(url: str, processes: int, tasks: int, scale: float) -> dict[str, Any]:
    """Run `tasks` across `processes` workers; utilization from the simulator."""
    async with Simulator(
        capacity=CAPACITY, time_scale=scale, seed=9, access_key=ACCESS_KEY, secret_key=SECRET_KEY
    ) as sim:
        started = time.monotonic()
        capacity = ",".join(f"{k}={v}" for k, v in CAPACITY.items())
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.redis_worker",
                "--base-url",
                sim.base_url,
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
                "--redis",
                url,
                "--worker",
                f"p{processes}w{i}",
                "--count",
                str(tasks // processes),
                "--scale",
                str(scale),
                "--capacity",
                capacity,
                "--pool",
                "redis" if processes > 1 else "local",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for i in range(processes)
        ]
        for proc in procs:
            _, err = await proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(err.decode()[-2000:])
        wall = time.monotonic() - started
        busy: dict[str, float] = {}
        first = min(s for _, _, _, s, _ in sim.stats.task_times.values())
        last = max(e for _, _, _, _, e in sim.stats.task_times.values())
        for _family, pack, cost, start, end in sim.stats.task_times.values():
            if pack:
                busy[pack] = busy.get(pack, 0.0) + cost * (end - start)
        bound = max(busy[p] / CAPACITY[p] for p in busy)
        return {
            "processes": processes,
            "tasks": sim.stats.total_creates,
            "utilization": round(bound / (last - first), 4),
            "count_1303": sim.stats.count_1303,
            "max_in_use": dict(sim.stats.max_in_use),
            "wall_seconds": round(wall, 1),
        }


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=800)
    parser.add_argument("--scale", type=float, default=0.002)
    parser.add_argument("--out", default="benchmarks/results/redis_pool.json")
    args = parser.parse_args(argv)
    if quick_mode():
        args.pairs, args.tasks = min(args.pairs, 200), min(args.tasks, 24)
        args.scale = min(args.scale, 0.0005)
    folder = tempfile.mkdtemp()
    redis_proc, url = await start_redis(folder)
    try:
        ops = [await ops_per_second(url, args.pairs, c) for c in (1, 8)]
        runs = [await end_to_end(url, n, args.tasks, args.scale) for n in (1, 4)]
    finally:
        redis_proc.terminate()
        await redis_proc.wait()
    print(f"{'coroutines':>10} {'acquire+release/s':>18} {'ops/s':>8}")
    for row in ops:
        print(f"{row['concurrency']:>10} {row['pairs_per_second']:>18} {row['ops_per_second']:>8}")
    print(f"\n{'processes':>9} {'tasks':>6} {'utilization':>11} {'1303':>5}  max in use")
    for run in runs:
        print(
            f"{run['processes']:>9} {run['tasks']:>6} {run['utilization']:>11.3f} "
            f"{run['count_1303']:>5}  {run['max_in_use']}"
        )
    gap = runs[0]["utilization"] - runs[1]["utilization"]
    print(f"\n4 processes vs 1: utilization {gap:+.3f} lower (target: within 0.02)")
    out = Path(args.out)
    await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(out.write_text, json.dumps({"ops": ops, "end_to_end": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
