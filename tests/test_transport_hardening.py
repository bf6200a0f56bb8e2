"""The transport against a hostile API host: redirects, huge bodies, 429 pages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from kling_async import (
    BackoffPolicy,
    InsufficientBalanceError,
    KlingClient,
    KlingError,
    Limits,
    RateLimitError,
    ResponseError,
    RetryPolicy,
)

TASK = {
    "task_id": "t1",
    "task_status": "succeed",
    "task_result": {"videos": [{"id": "v", "url": "https://cdn.example/v.mp4"}]},
}


class Host:
    """An aiohttp app whose answer to every request is set by the test."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.answers: list[web.StreamResponse] = []
        self.fallback: Any = None
        self.base = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.answers:
            return self.answers.pop(0)
        assert self.fallback is not None
        result: web.StreamResponse = await self.fallback(request)
        return result


@pytest.fixture
async def hosts() -> AsyncIterator[tuple[Host, Host]]:
    made: list[tuple[Host, web.AppRunner]] = []
    for _ in range(2):
        host = Host()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", host.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        host.base = f"http://127.0.0.1:{port}"
        made.append((host, runner))
    try:
        yield made[0][0], made[1][0]
    finally:
        for _, runner in made:
            await runner.cleanup()


def client(base: str, **kwargs: Any) -> KlingClient:
    kwargs.setdefault("retry", RetryPolicy(initial_delay=0.001, max_delay=0.01))
    return KlingClient(
        base_url=base,
        access_key="a" * 32,
        secret_key="s" * 40,
        capacity={"video": 2},
        backoff=BackoffPolicy(initial=0.01, max_delay=0.02),
        **kwargs,
    )


def envelope(data: Any, code: int = 0, status: int = 200) -> web.Response:
    body = {"code": code, "message": "SUCCEED" if code == 0 else "error", "data": data}
    return web.json_response(body, status=status)


async def test_a_307_to_another_host_is_an_error_and_nothing_is_reposted(
    hosts: tuple[Host, Host],
) -> None:
    """A create answered with a redirect to another host: the body is not sent
    there; the submission fails with an error naming the target."""
    api, other = hosts

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect(f"{other.base}/v1/videos/text2video?sig=secret")

    api.fallback = redirect
    other.fallback = lambda request: asyncio.sleep(0, envelope(TASK))
    async with client(api.base) as kling:
        with pytest.raises(KlingError, match="redirect") as failure:
            await asyncio.wait_for(kling.text_to_video(prompt="x"), 10)
        with pytest.raises(ResponseError, match=f"307 redirect to '{other.base}"):
            await kling.get_task("text2video", task_id="t1")
    assert other.requests == []
    assert "sig=secret" not in str(failure.value)


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversized_answers_are_refused_without_reading_them(
    hosts: tuple[Host, Host], chunked: bool
) -> None:
    api, _ = hosts
    big = json.dumps({"code": 0, "data": {"task_id": "t1", "pad": "x" * 3_000_000}}).encode()

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(big)
        await response.prepare(request)
        for start in range(0, len(big), 65536):
            await response.write(big[start : start + 65536])
        return response

    api.fallback = huge
    async with client(
        api.base, limits=Limits(max_response_bytes=1_000_000), retry=RetryPolicy.disabled()
    ) as kling:
        with pytest.raises(ResponseError, match="max_response_bytes"):
            await kling.get_task("text2video", task_id="t1")


async def test_a_429_is_a_rate_limit_whatever_its_body(hosts: tuple[Host, Host]) -> None:
    """A gateway's HTML 429 is a RateLimitError (queries retry it, creates pause and
    try again); a 429 carrying Kling's 1102 envelope stays an account error."""
    api, _ = hosts
    api.fallback = lambda request: asyncio.sleep(
        0, web.Response(status=429, text="<html>Too Many Requests</html>", content_type="text/html")
    )
    async with client(api.base, retry=RetryPolicy.disabled()) as kling:
        with pytest.raises(RateLimitError, match="429"):
            await kling.get_task("text2video", task_id="t1")
    api.answers = [
        web.Response(status=429, text="<html>slow down</html>", content_type="text/html"),
        web.Response(status=429, text="", content_type="text/plain"),
    ]
    api.fallback = lambda request: asyncio.sleep(0, envelope(TASK))
    async with client(api.base) as kling:
        task = await asyncio.wait_for(kling.text_to_video(prompt="x"), 10)
        assert task.task_id == "t1"
        assert kling.stats().packs["video"].count_1302 >= 1
    api.answers = []
    api.fallback = lambda request: asyncio.sleep(
        0,
        web.json_response(
            {"code": 1102, "message": "Account balance not enough", "request_id": "r"},
            status=429,
        ),
    )
    async with client(api.base) as kling:
        with pytest.raises(InsufficientBalanceError):
            await asyncio.wait_for(kling.text_to_video(prompt="x"), 10)
