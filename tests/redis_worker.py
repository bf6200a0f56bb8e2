"""One worker process of the multi-process Redis tests (run with ``python -m``).

Submits ``count`` mixed tasks under ``external_task_id = <worker>-<n>`` through a
client sharing a RedisSlotPool, waits for them (and for any leases it adopts from
dead workers), then prints a JSON summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from kling_async import (
    BackoffPolicy,
    KlingClient,
    PollPolicy,
    RetryPolicy,
)
from kling_async.scheduling._redis import RedisSlotPool
from tests._workload import mixed_requests


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--scale", type=float, default=0.001)
    parser.add_argument("--linger", type=float, default=0.0)
    parser.add_argument("--pool", choices=["redis", "local"], default="redis")
    parser.add_argument("--capacity", default="video=3,image=6,try_on=1")
    args = parser.parse_args()
    capacity = {k: int(v) for k, v in (part.split("=") for part in args.capacity.split(","))}
    pool = (
        RedisSlotPool(
            args.redis,
            account="test",
            lease_ttl=1.0,
            heartbeat=0.2,
            ticket_ttl=0.5,
            retry_interval=0.01,
        )
        if args.pool == "redis"
        else None
    )
    client = KlingClient(
        base_url=args.base_url,
        access_key=args.access_key,
        secret_key=args.secret_key,
        capacity=capacity,
        slots=pool,
        poll=PollPolicy.scaled(args.scale),
        backoff=BackoffPolicy(initial=0.05, max_delay=0.5),
        retry=RetryPolicy(max_attempts=6, initial_delay=0.01, max_delay=0.1),
    )
    async with client:
        # SIGUSR1: print what this worker is waiting for (the tests ask on a timeout).
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGUSR1,
            lambda: print(
                json.dumps(client.stats().as_dict(), default=str), file=sys.stderr, flush=True
            ),
        )
        handles = [
            client.submit(r, external_task_id=f"{args.worker}-{i}")
            for i, r in enumerate(mixed_requests(args.count, sum(map(ord, args.worker)), max_n=3))
        ]
        print(json.dumps({"worker": args.worker, "submitted": len(handles)}), flush=True)
        results = await asyncio.gather(*handles, return_exceptions=True)
        await client.drain()
        if args.linger:
            await asyncio.sleep(args.linger)  # stay to adopt dead workers' leases
            await client.drain()
        ok = sum(1 for r in results if not isinstance(r, BaseException))
        errors = sorted(
            {f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)}
        )
        adopted = pool.adopted_here if pool is not None else 0
        print(
            json.dumps({"worker": args.worker, "ok": ok, "errors": errors, "adopted": adopted}),
            flush=True,
        )
    if pool is not None:
        await pool.aclose()


if __name__ == "__main__":
    asyncio.run(main())
