"""Transport retries, timeouts and envelope decoding against a real local server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Coroutine
from typing import Any

import jwt
import pytest

from kling_async import (
    AuthenticationError,
    CreateOutcomeUnknownError,
    KlingClient,
    RateLimitError,
    ResponseError,
    RetryPolicy,
    ServerError,
    TextToVideo,
    Timeouts,
    TransportError,
)
from kling_async.wire._auth import JWTAuth
from kling_async.wire._transport import Transport, decode_envelope
from tests._scripted import ScriptedServer, Step, envelope
from tests.conftest import ACCESS_KEY, SECRET_KEY

TASK = {"task_id": "1", "task_status": "submitted", "task_info": {"external_task_id": "e1"}}


class Sleeps:
    """Fake sleep: records requested delays, returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def make_transport(
    url: str, sleeps: Sleeps, *, attempts: int = 4, read: float = 5.0, **kw: Any
) -> Transport:
    return Transport(
        url,
        kw.pop("auth", JWTAuth(ACCESS_KEY, SECRET_KEY)),
        retry=RetryPolicy(
            max_attempts=attempts, initial_delay=0.5, max_delay=4, max_retry_after=30
        ),
        timeouts=Timeouts(connect=1.0, read=read),
        sleep=sleeps,
        **kw,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Call = Callable[[Transport], Coroutine[Any, Any, Any]]


async def test_query_is_retried_on_5000_then_succeeds() -> None:
    """A GET answered 5000 is retried with backoff and returns the later answer."""
    async with ScriptedServer(
        Step(500, envelope(code=5000, message="boom")), Step(200, envelope(TASK))
    ) as srv:
        sleeps = Sleeps()
        t = make_transport(srv.url, sleeps)
        env = await t.request("GET", "/v1/videos/text2video/1", idempotent=True)
        await t.close()
    assert env.data == TASK and len(srv.seen) == 2 and len(sleeps.delays) == 1
    assert 0 <= sleeps.delays[0] <= 0.5


async def test_query_retries_are_bounded() -> None:
    """After max_attempts the last ServerError is raised."""
    async with ScriptedServer(Step(504, envelope(code=5002, message="late"))) as srv:
        t = make_transport(srv.url, Sleeps(), attempts=3)
        with pytest.raises(ServerError) as info:
            await t.request("GET", "/x", idempotent=True)
        await t.close()
    assert info.value.code == 5002 and len(srv.seen) == 3


async def test_gateway_html_page_is_a_response_error_and_retried_for_queries() -> None:
    """A 502 HTML page from a proxy becomes ResponseError and a query retries it."""
    async with ScriptedServer(
        Step(502, "<html>Bad Gateway</html>"), Step(200, envelope(TASK))
    ) as srv:
        t = make_transport(srv.url, Sleeps())
        env = await t.request("GET", "/x", idempotent=True)
        await t.close()
    assert env.data == TASK and len(srv.seen) == 2


async def test_create_is_not_retried_on_5000_and_reports_unknown_outcome() -> None:
    """A create answered 5000 is sent once and surfaces as outcome unknown."""
    async with ScriptedServer(Step(500, envelope(code=5000))) as srv:
        client = KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=srv.url)
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await client.create(TextToVideo(prompt="fox"), external_task_id="job-1")
        await client.aclose()
    assert len(srv.seen) == 1
    assert info.value.external_task_id == "job-1"
    assert isinstance(info.value.__cause__, ServerError)


async def test_read_timeout_retries_queries() -> None:
    """A query whose answer is too slow is retried and then succeeds."""
    async with ScriptedServer(
        Step(200, envelope(TASK), delay=1.0), Step(200, envelope(TASK))
    ) as srv:
        t = make_transport(srv.url, Sleeps(), read=0.2)
        env = await t.request("GET", "/x", idempotent=True)
        await t.close()
    assert env.data == TASK and len(srv.seen) == 2


async def test_read_timeout_on_create_is_unknown_outcome_not_resent() -> None:
    """A create that timed out after sending is never re-POSTed."""
    async with ScriptedServer(Step(200, envelope(TASK), delay=1.0)) as srv:
        client = KlingClient(
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            base_url=srv.url,
            timeouts=Timeouts(connect=1, read=0.2),
        )
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await client.create(TextToVideo(prompt="fox"))
        await client.aclose()
    assert len(srv.seen) == 1
    cause = info.value.__cause__
    assert isinstance(cause, TransportError) and cause.request_sent


async def test_connection_reset_on_create_is_unknown_outcome() -> None:
    """A dropped connection after a create was sent is reported, not resent."""
    async with ScriptedServer(Step(drop=True)) as srv:
        client = KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=srv.url)
        with pytest.raises(CreateOutcomeUnknownError):
            await client.create(TextToVideo(prompt="fox"))
        await client.aclose()
    assert len(srv.seen) == 1


async def test_connection_reset_on_query_is_retried() -> None:
    """A dropped connection on a query is retried."""
    async with ScriptedServer(Step(drop=True), Step(200, envelope(TASK))) as srv:
        t = make_transport(srv.url, Sleeps())
        env = await t.request("GET", "/x", idempotent=True)
        await t.close()
    assert env.data == TASK and len(srv.seen) == 2


async def test_connect_failure_lets_a_create_be_resent() -> None:
    """When nothing listens, the create provably never left: it is retried, bounded."""
    sleeps = Sleeps()
    t = make_transport(f"http://127.0.0.1:{_free_port()}", sleeps, attempts=3)
    with pytest.raises(TransportError) as info:
        await t.request("POST", "/v1/videos/text2video", json_body={}, idempotent=False)
    await t.close()
    assert info.value.request_sent is False
    assert t.request_count == 3 and len(sleeps.delays) == 2


async def test_retry_after_is_honoured_and_capped() -> None:
    """1302 with Retry-After waits that long; an absurd value is capped."""
    async with ScriptedServer(
        Step(429, envelope(code=1302), headers={"Retry-After": "7"}),
        Step(429, envelope(code=1302), headers={"Retry-After": "99999"}),
        Step(200, envelope(TASK)),
    ) as srv:
        sleeps = Sleeps()
        t = make_transport(srv.url, sleeps)
        await t.request("GET", "/x", idempotent=True)
        await t.close()
    assert sleeps.delays == [7.0, 30.0]


async def test_1302_on_create_is_raised_for_the_scheduler() -> None:
    """A create refused with 1302 is a definite refusal: raised, not resent."""
    async with ScriptedServer(Step(429, envelope(code=1302), headers={"Retry-After": "2"})) as srv:
        client = KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=srv.url)
        with pytest.raises(RateLimitError) as info:
            await client.create(TextToVideo(prompt="fox"))
        await client.aclose()
    assert info.value.retry_after == 2.0 and len(srv.seen) == 1


class StepClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        self.now += 10  # every mint sees a later second, so tokens differ
        return self.now


async def test_expired_token_is_reminted_once() -> None:
    """1004 drops the cached token; the resend carries a fresh one."""
    async with ScriptedServer(Step(401, envelope(code=1004)), Step(200, envelope(TASK))) as srv:
        auth = JWTAuth(ACCESS_KEY, SECRET_KEY, clock=StepClock(), refresh_margin=1, ttl=100000)
        t = make_transport(srv.url, Sleeps(), auth=auth)
        await t.request("POST", "/v1/videos/text2video", json_body={}, idempotent=False)
        await t.close()
    tokens = [s.headers["Authorization"] for s in srv.seen]
    assert len(tokens) == 2 and tokens[0] != tokens[1] and auth.mint_count == 2
    claims = jwt.decode(
        tokens[1][7:],
        SECRET_KEY,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert claims["iss"] == ACCESS_KEY


async def test_reauth_happens_only_once() -> None:
    """A second 1004 in a row is raised instead of looping."""
    async with ScriptedServer(Step(401, envelope(code=1004))) as srv:
        t = make_transport(srv.url, Sleeps())
        with pytest.raises(AuthenticationError):
            await t.request("GET", "/x", idempotent=True)
        await t.close()
    assert len(srv.seen) == 2


async def test_bad_credentials_are_not_retried() -> None:
    """1000 (authentication failed) fails at once."""
    async with ScriptedServer(Step(401, envelope(code=1000))) as srv:
        t = make_transport(srv.url, Sleeps())
        with pytest.raises(AuthenticationError):
            await t.request("GET", "/x", idempotent=True)
        await t.close()
    assert len(srv.seen) == 1


async def test_requests_carry_bearer_and_json_content_type() -> None:
    """Every request sends `Authorization: Bearer <token>` and JSON content type."""
    async with ScriptedServer(Step(200, envelope(TASK))) as srv:
        t = make_transport(srv.url, Sleeps())
        await t.request("POST", "/p", json_body={"a": 1}, idempotent=False)
        await t.close()
    seen = srv.seen[0]
    assert seen.headers["Authorization"].startswith("Bearer ")
    assert seen.headers["Authorization"].count(" ") == 1
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.body == {"a": 1}


@pytest.mark.parametrize(
    ("status", "body", "match"),
    [
        (200, b"not json", "not JSON"),
        (200, b"[1, 2]", "JSON object"),
        (200, b'{"message": "x"}', "integer 'code'"),
        (200, b'{"code": "abc"}', "integer 'code'"),
        (500, b'{"code": 0}', "HTTP 500 with code 0"),
        (200, b"\xff\xfe", "not JSON"),
    ],
)
def test_malformed_bodies_become_response_errors(status: int, body: bytes, match: str) -> None:
    """Never a bare KeyError/JSONDecodeError: a ResponseError saying what was wrong."""
    with pytest.raises(ResponseError, match=match):
        decode_envelope(status, body)


def test_string_code_zero_is_accepted() -> None:
    """A code sent as the string "0" still reads as success."""
    assert decode_envelope(200, b'{"code": "0", "data": {"x": 1}}').data == {"x": 1}


async def test_create_with_malformed_success_body_is_unknown_outcome() -> None:
    """A 200 that cannot be parsed may still have created the task."""
    async with ScriptedServer(Step(200, envelope({"no_task_id": True}))) as srv:
        client = KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=srv.url)
        with pytest.raises(CreateOutcomeUnknownError):
            await client.create(TextToVideo(prompt="fox"))
        await client.aclose()


async def test_injected_session_is_used_and_not_closed() -> None:
    """A caller's aiohttp session is used for requests and left open."""
    import aiohttp

    async with ScriptedServer(Step(200, envelope(TASK))) as srv, aiohttp.ClientSession() as s:
        client = KlingClient(
            access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=srv.url, session=s
        )
        await client.get_task("text2video", task_id="1")
        await client.aclose()
        assert not s.closed
