"""The ``kling-async`` command.

Subcommands: ``simulate`` (the fake Kling server), ``batch run|resume|status|report``,
``task get``, ``account``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections.abc import Sequence

from kling_async.cli._output import say
from kling_async.errors import UsageError

__all__ = ["main"]


def _add_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="run the Kling simulator (a fake Kling API) until interrupted",
        description="Serve a fake Kling API on 127.0.0.1 for tests and demos.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    p.add_argument("--video", type=int, default=5, help="video pack concurrency")
    p.add_argument("--image", type=int, default=9, help="image pack concurrency (n-weighted)")
    p.add_argument("--try-on", type=int, default=1, help="virtual try-on pack concurrency")
    p.add_argument(
        "--time-scale",
        type=float,
        default=0.02,
        help="multiplies task durations (default 0.02: a 300 s video takes 6 s)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--without-pack",
        action="append",
        default=[],
        choices=("video", "image", "try_on"),
        help="the account lacks this resource pack: its creates answer 429/1102 "
        "'Account balance not enough' as live Kling does (repeatable)",
    )
    p.add_argument("--access-key", help="accepted access key (random when omitted)")
    p.add_argument("--secret-key", help="accepted secret key (random when omitted)")
    p.add_argument("--api-key", help="also accept this API key as the bearer")
    p.add_argument("--webhook-secret", help="sign callbacks with this whsec_... secret")
    p.add_argument("--failure-rate", type=float, default=0.0, help="fraction of tasks that fail")
    p.add_argument(
        "--server-error-rate",
        type=float,
        default=0.0,
        help="fraction of requests answered 5000/5001/5002",
    )
    p.add_argument(
        "--rate-limit-rate",
        type=float,
        default=0.0,
        help="chance a request starts a burst of 1302 answers",
    )
    p.add_argument("--latency", type=float, default=0.0, help="max extra seconds per request")
    p.add_argument(
        "--drop-after-create-rate",
        type=float,
        default=0.0,
        help="fraction of creates that create the task, then drop the connection",
    )
    p.add_argument(
        "--drop-before-create-rate",
        type=float,
        default=0.0,
        help="fraction of creates whose connection is dropped before the task is made",
    )
    p.add_argument(
        "--rate-limit-burst", type=int, default=3, help="consecutive 1302 answers per burst"
    )
    p.add_argument("--retry-after", type=float, help="send this Retry-After on 1302/1303/5001")
    p.add_argument("--callback-drop-rate", type=float, default=0.0)
    p.add_argument("--callback-duplicate-rate", type=float, default=0.0)
    p.add_argument(
        "--duration-spread", type=float, default=0.3, help="task durations vary by ±this fraction"
    )
    p.add_argument(
        "--plain-shapes",
        action="store_true",
        help="answer only in the documented shapes (default: every shape live Kling sends)",
    )
    p.add_argument(
        "--not-found",
        choices=("live", "1203"),
        default="live",
        help="unknown task ids: live = HTTP 400 / 1201 'Task not found…', 1203 = HTTP 404 / 1203",
    )
    p.add_argument(
        "--concurrency-scope",
        choices=("pack", "pack_model"),
        default="pack",
        help="count concurrency per pack, or per pack and model version",
    )
    p.add_argument(
        "--balance",
        help="units in each pack, e.g. video=20,image=100 (default: plenty); a used-up pack "
        "answers 1102",
    )
    p.add_argument("--json", action="store_true", help="print the start-up info as JSON")


def _balances(text: str | None) -> dict[str, float] | None:
    """``--balance video=20,image=100`` as a mapping (ValueError names a bad part)."""
    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            out[name.strip().replace("-", "_")] = float(value)
        except ValueError:
            raise UsageError(f"--balance: expected pack=units, got {part!r}") from None
    return out


async def _simulate(args: argparse.Namespace) -> int:
    from kling_async.simulator import Faults, Simulator

    try:
        faults = Faults(
            failure_rate=args.failure_rate,
            server_error_rate=args.server_error_rate,
            rate_limit_rate=args.rate_limit_rate,
            latency=args.latency,
            drop_after_create_rate=args.drop_after_create_rate,
            drop_before_create_rate=args.drop_before_create_rate,
            callback_drop_rate=args.callback_drop_rate,
            callback_duplicate_rate=args.callback_duplicate_rate,
            rate_limit_burst=args.rate_limit_burst,
            retry_after=args.retry_after,
        )
        sim = Simulator(
            capacity={"video": args.video, "image": args.image, "try_on": args.try_on},
            time_scale=args.time_scale,
            seed=args.seed,
            faults=faults,
            access_key=args.access_key,
            secret_key=args.secret_key,
            api_key=args.api_key,
            webhook_secret=args.webhook_secret,
            duration_spread=args.duration_spread,
            live_shapes=not args.plain_shapes,
            not_found=args.not_found,
            concurrency_scope=args.concurrency_scope,
            host=args.host,
            port=args.port,
            balances=_balances(args.balance),
        )
    except ValueError as exc:
        say(f"kling-async simulate: {exc}", err=True)
        return 2
    for pack in args.without_pack:
        sim.set_pack(pack, available=False)
    try:
        await sim.start()
    except OSError as exc:
        say(
            f"kling-async simulate: cannot listen on {args.host}:{args.port}: {exc}",
            err=True,
        )
        return 1
    # Ctrl-C from the moment the banner is out stops the server cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    env = {
        "KLING_BASE_URL": sim.base_url,
        "KLING_ACCESS_KEY": sim.access_key,
        "KLING_SECRET_KEY": sim.secret_key,
        "KLING_API_KEY": sim.api_key,
        "KLING_POLL_SCALE": f"{args.time_scale:g}",
    }
    info = {
        "base_url": sim.base_url,
        "access_key": sim.access_key,
        "secret_key": sim.secret_key,
        "api_key": sim.api_key,
        "capacity": {"video": args.video, "image": args.image, "try_on": args.try_on},
        "time_scale": args.time_scale,
        "poll_scale": args.time_scale,
        "webhook_secret": args.webhook_secret,
        "stats_url": f"{sim.base_url}/__stats",
        "env": env,
    }
    if args.json:
        say(json.dumps(info))
    else:
        # The simulator's own made-up credentials are printed on purpose: they are
        # what a user needs to point a client (or curl) at it.
        say(f"Kling simulator listening on {sim.base_url}")
        say("Point a client at it (KlingClient() and kling-async read these):")
        for name, value in env.items():
            say(f"  export {name}={value}")
        say(
            f"capacity {info['capacity']}, time scale {args.time_scale:g} (a 300 s video "
            f"takes {300 * args.time_scale:g} s); KLING_POLL_SCALE makes clients poll at "
            "that pace"
        )
        if args.webhook_secret:
            say("callbacks are signed with the --webhook-secret given")
        say(f"ground truth: GET {sim.base_url}/__stats   (Ctrl-C to stop)")
    try:
        await stop.wait()
    finally:
        await sim.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kling-async``."""
    from kling_async import __version__

    parser = argparse.ArgumentParser(
        prog="kling-async",
        description="Kling AI client tools: simulator, tasks, batches. "
        "KLING_LOG=debug turns on logging.",
    )
    parser.add_argument("--version", action="version", version=f"kling-async {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_simulate(sub)
    from kling_async.cli._commands import add_commands

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kling-async`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "simulate":
        return asyncio.run(_simulate(args))
    from kling_async.cli._commands import run_command

    return run_command(args)
