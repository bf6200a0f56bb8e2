"""Callbacks end to end: the simulator POSTs to a real aiohttp service on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from kling_async import (
    CallbackRoute,
    HandleState,
    KlingClient,
    PollPolicy,
    RetryPolicy,
    TextToVideo,
)
from kling_async._callbacks import CallbackReceiver
from kling_async.integrations.aiohttp import KLING, setup_kling
from kling_async.simulator import Faults, Simulator

SECRET = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI="
OTHER_SECRET = "whsec_b3RoZXJzZWNyZXRvdGhlcnNlY3JldG90aGVyc2VjcmV0MzQ="
SCALE = 0.001
#: polling so slow it cannot happen within a test: resolution must come from callbacks
NO_POLL = PollPolicy(min_interval=60, max_interval=600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def service(
    sim: Simulator,
    *,
    secrets: list[str] | None = None,
    trust_unsigned: bool = False,
    **client_kwargs: Any,
) -> AsyncIterator[tuple[KlingClient, str]]:
    """A real aiohttp app owning a client whose callback route the simulator calls."""
    port = free_port()
    route = f"http://127.0.0.1:{port}/kling/callbacks"
    app = web.Application()
    client_kwargs.setdefault("poll", NO_POLL)
    setup_kling(
        app,
        base_url=sim.base_url,
        access_key=sim.access_key,
        secret_key=sim.secret_key,
        callback_route=CallbackRoute(
            route,
            webhook_secrets=secrets if secrets is not None else [SECRET],
            trust_unsigned=trust_unsigned,
        ),
        capacity={"video": 5, "image": 9, "try_on": 1},
        retry=RetryPolicy(initial_delay=0.005, max_delay=0.05),
        **client_kwargs,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield app[KLING], route
    finally:
        await runner.cleanup()


async def settle(condition: Any) -> None:
    """Wait (bounded) until the simulator's counters catch up."""
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


def signed_headers(
    body: str, secret: str = SECRET, *, age: float = 0.0, msg_id: str = "msg_1"
) -> dict[str, str]:
    stamp = datetime.now(UTC) - timedelta(seconds=age)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, stamp, body),
    }


async def test_signed_callback_resolves_before_any_poll() -> None:
    """A handle resolves from signed callbacks; not a single query is sent."""
    async with (
        Simulator(time_scale=SCALE, webhook_secret=SECRET) as sim,
        service(sim) as (client, route),
    ):
        assert client.callback_url is not None and client.callback_url.startswith(route + "/")
        handles = [client.submit(TextToVideo(prompt=f"p{i}")) for i in range(8)]
        tasks = await asyncio.wait_for(asyncio.gather(*handles), 10)
        stats = client.stats()
        receiver = client.callbacks
        assert receiver is not None
        await settle(lambda: sim.stats.callbacks_sent >= 24)  # counted after the answer
    assert all(t.succeeded and t.result_urls() for t in tasks)
    assert stats.tracker.list_requests == 0 and stats.tracker.single_requests == 0
    assert sim.stats.callbacks_sent >= 24 and receiver.accepted >= 8
    assert stats.packs["video"].in_use == 0


async def test_forged_stale_replayed_and_unsigned_deliveries_resolve_nothing() -> None:
    """Bad signature, stale timestamp, missing headers → 401; replay → ignored."""
    durations = {"text2video": 100_000}  # runs for the whole test
    async with (
        Simulator(time_scale=SCALE, durations=durations, webhook_secret=SECRET) as sim,
        service(sim) as (client, _route),
        aiohttp.ClientSession() as http,
    ):
        handle = client.submit(TextToVideo(prompt="victim"))
        while handle.task_id is None:
            await asyncio.sleep(0.005)
        url = client.callback_url
        assert url is not None
        forged = json.dumps(
            {
                "task_id": handle.task_id,
                "task_status": "succeed",
                "task_result": {"videos": [{"url": "https://evil/x.mp4"}]},
            }
        )

        async def post(body: str, headers: dict[str, str], target: str = url) -> int:
            async with http.post(target, data=body, headers=headers) as resp:
                return resp.status

        assert await post(forged, signed_headers(forged, OTHER_SECRET, msg_id="m1")) == 401
        assert await post(forged, signed_headers(forged, age=600, msg_id="m2")) == 401
        assert await post(forged, {"content-type": "application/json"}) == 401
        assert await post(forged, signed_headers(forged), url.rsplit("/", 1)[0] + "/guess") == 404
        big = json.dumps({"task_id": handle.task_id, "pad": "x" * 300_000})
        assert await post(big, signed_headers(big, msg_id="m3")) == 413
        assert not handle.done() and handle.state is not HandleState.SUCCEEDED
        processing = json.dumps({"task_id": handle.task_id, "task_status": "processing"})
        assert await post(processing, signed_headers(processing, msg_id="m4")) == 200
        assert handle.state is HandleState.PROCESSING
        submitted = json.dumps({"task_id": handle.task_id, "task_status": "submitted"})
        assert await post(submitted, signed_headers(submitted, msg_id="m5")) == 200
        assert handle.state is HandleState.PROCESSING  # older status ignored
        replay = signed_headers(processing, msg_id="m4")
        assert await post(processing, replay) == 200
        receiver = client.callbacks
        assert receiver is not None
        # 3 bad signatures + 1 wrong token; the 413 is refused by the route unread
        assert receiver.duplicates == 1 and receiver.rejected == 4
        handle.cancel()


async def test_duplicated_callbacks_resolve_once_with_the_newest_status() -> None:
    """Every callback delivered twice: each handle resolves once, succeeded."""
    seen: list[HandleState] = []
    async with (
        Simulator(
            time_scale=SCALE, webhook_secret=SECRET, faults=Faults(callback_duplicate_rate=1.0)
        ) as sim,
        service(sim) as (client, _route),
    ):
        handles = [client.submit(TextToVideo(prompt=f"d{i}")) for i in range(5)]
        handles[0].add_listener(lambda h: seen.append(h.state))
        await asyncio.wait_for(asyncio.gather(*handles), 10)
        await settle(lambda: sim.stats.callbacks_sent >= 2 * 3 * 5)  # late duplicates
    assert all(h.state is HandleState.SUCCEEDED for h in handles)
    assert seen.count(HandleState.SUCCEEDED) == 1 and seen[-1] is HandleState.SUCCEEDED
    assert sim.stats.callbacks_sent >= 2 * 3 * 5


async def test_lost_callbacks_are_covered_by_polling() -> None:
    """With every callback dropped, polling (the safety net) still resolves all handles."""
    async with (
        Simulator(
            time_scale=SCALE, webhook_secret=SECRET, faults=Faults(callback_drop_rate=1.0)
        ) as sim,
        service(sim, poll=PollPolicy.scaled(SCALE)) as (client, _route),
    ):
        handles = [client.submit(TextToVideo(prompt=f"l{i}")) for i in range(6)]
        await asyncio.wait_for(asyncio.gather(*handles), 20)
        stats = client.stats()
    assert sim.stats.callbacks_sent == 0 and sim.stats.callbacks_dropped > 0
    assert stats.tracker.list_requests + stats.tracker.single_requests > 0


async def test_unsigned_terminal_callbacks_are_confirmed_by_one_batched_query() -> None:
    """No secret: a terminal callback is confirmed by a query; several share one list."""
    # Regular polls only at the safety net (hours away); confirmation rounds may follow
    # each other quickly, so callbacks that arrive during a round get the next one.
    poll = PollPolicy(min_interval=0.05, max_interval=600)
    async with (
        Simulator(time_scale=SCALE, duration_spread=0) as sim,
        service(sim, secrets=[], poll=poll) as (client, _route),
    ):
        handles = [client.submit(TextToVideo(prompt=f"u{i}")) for i in range(5)]
        await asyncio.wait_for(asyncio.gather(*handles), 10)
        stats = client.stats()
    assert stats.tracker.list_requests >= 1
    assert stats.tracker.list_requests + stats.tracker.single_requests <= 4
    assert (
        sim.stats.requests_by_endpoint["GET /v1/videos/text2video"] == stats.tracker.list_requests
    )


async def test_trusting_unsigned_callbacks_skips_confirmation() -> None:
    """CallbackRoute(trust_unsigned=True) resolves on the callback alone."""
    async with (
        Simulator(time_scale=SCALE) as sim,
        service(sim, secrets=[], trust_unsigned=True) as (client, _route),
    ):
        handles = [client.submit(TextToVideo(prompt=f"t{i}")) for i in range(4)]
        await asyncio.wait_for(asyncio.gather(*handles), 10)
        stats = client.stats()
    assert stats.tracker.list_requests == 0 and stats.tracker.single_requests == 0


async def test_secret_rotation_accepts_old_and_new() -> None:
    """With two secrets configured, deliveries signed with either are accepted."""
    async with (
        Simulator(time_scale=SCALE, webhook_secret=OTHER_SECRET) as sim,
        service(sim, secrets=[SECRET, OTHER_SECRET]) as (client, _route),
    ):
        task = await asyncio.wait_for(client.text_to_video(prompt="rotated"), 10)
        stats = client.stats()
    assert task.succeeded and stats.tracker.list_requests == 0


def test_receiver_configuration_errors() -> None:
    """Three secrets, a short token, a secret that is not whsec_, a route that is not a
    route are refused; the token and secrets appear in no repr."""
    kw: dict[str, Any] = {"access_key": "a" * 32, "secret_key": "s" * 32}
    with pytest.raises(ValueError, match="CallbackRoute or a URL"):
        KlingClient(callback_route=[SECRET], **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two"):
        KlingClient(
            callback_route=CallbackRoute("https://x/cb", webhook_secrets=[SECRET] * 3), **kw
        )
    with pytest.raises(ValueError, match="16"):
        KlingClient(callback_route=CallbackRoute("https://x/cb", token="short"), **kw)
    with pytest.raises(ValueError, match="whsec"):
        KlingClient(
            callback_route=CallbackRoute("https://x/cb", webhook_secrets=["not-base64!"]), **kw
        )
    route = CallbackRoute("https://x/cb", token="t" * 20, webhook_secrets=SECRET)
    client = KlingClient(callback_route=route, **kw)
    assert client.callback_url == "https://x/cb/" + "t" * 20
    assert KlingClient(callback_route="https://x/cb", **kw).callbacks is not None
    for shown in (repr(client.callbacks), repr(route), repr(client)):
        assert "t" * 20 not in shown and SECRET not in shown


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"task_id": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"task_id": "1", "created_at": ' + b"9" * 10_000 + b"}",
        b'{"task_id": "1", "task_status": "succeed", "task_result": {"videos": '
        + b'{"a": ' * 5000
        + b"1"
        + b"}" * 5000
        + b"}}",
        b"\xff\xfe not utf-8",
        b'"just a string"',
    ],
)
async def test_malformed_callback_bodies_of_any_shape_answer_400(body: bytes) -> None:
    """Deep nesting, integers past Python's digit limit, bad UTF-8: 400, never 500."""
    seen: list[Any] = []

    async def on_callback(task: Any, *, signed: bool, trusted: bool) -> bool:
        seen.append(task)
        return True

    receiver = CallbackReceiver(on_callback, public_url="https://x/cb", token="t" * 20)
    result = await receiver.handle("t" * 20, body, {})
    assert result.status == 400 and seen == []


async def test_an_unsigned_callback_never_changes_what_a_handle_shows() -> None:
    """Without a signature, a `processing` callback carrying attacker-chosen URLs does
    not reach handle.task; a terminal one only triggers a confirming query."""
    async with (
        Simulator(time_scale=SCALE, durations={"text2video": 5000}) as sim,
        service(sim, secrets=[]) as (client, _route),
    ):
        handle = client.submit(TextToVideo(prompt="slow"))
        async with asyncio.timeout(10):
            while handle.task_id is None:
                await asyncio.sleep(0.005)
        before = handle.task
        assert client.callbacks is not None
        token = client.callbacks.url.rsplit("/", 1)[1]
        forged = {
            "task_id": handle.task_id,
            "task_status": "processing",
            "task_result": {"videos": [{"id": "v", "url": "https://evil.example/x.mp4"}]},
        }
        result = await client.callbacks.handle(token, json.dumps(forged).encode(), {})
        assert result.status == 200
        assert handle.task is before and "evil" not in repr(handle.task)
        forged["task_status"] = "succeed"
        queries = client.stats().tracker.single_requests + client.stats().tracker.list_requests
        await client.callbacks.handle(token, json.dumps(forged).encode(), {})
        async with asyncio.timeout(10):
            while (
                client.stats().tracker.single_requests + client.stats().tracker.list_requests
                == queries
            ):
                await asyncio.sleep(0.005)
        assert not handle.done() and "evil" not in repr(handle.task)
        handle.cancel()
