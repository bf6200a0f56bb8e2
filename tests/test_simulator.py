"""The simulator's own behaviour, driven with plain aiohttp requests (not the client)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from kling_async.simulator import Faults, Simulator
from tests.conftest import ACCESS_KEY, SECRET_KEY

T2V = "/v1/videos/text2video"
IMG = "/v1/images/generations"
WEBHOOK_SECRET = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI="


def token(
    *, iss: str = ACCESS_KEY, key: str = SECRET_KEY, exp: float = 1800, nbf: float = -5
) -> str:
    now = int(time.time())
    return jwt.encode({"iss": iss, "exp": now + exp, "nbf": now + nbf}, key, algorithm="HS256")


class Raw:
    """Plain aiohttp calls against a simulator."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        self.sim, self.session = sim, session
        self.headers = {"Authorization": f"Bearer {token()}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        async with self.session.request(
            method,
            self.sim.base_url + path,
            json=body,
            params=params,
            headers=self.headers if headers is None else headers,
        ) as resp:
            return resp.status, await resp.json()

    async def create(self, path: str = T2V, **body: Any) -> tuple[int, dict[str, Any]]:
        body.setdefault("prompt", "a fox")
        return await self.call("POST", path, body=body)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def sim_for(**kw: Any) -> Simulator:
    kw.setdefault("access_key", ACCESS_KEY)
    kw.setdefault("secret_key", SECRET_KEY)
    return Simulator(**kw)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, 1001),
        ("Basic abc", 1002),
        ("Bearer not-a-jwt", 1002),
        (f"Bearer {token(key='another-secret-key-of-32-chars-or-more')}", 1000),
        (f"Bearer {token(iss='someone-else')}", 1000),
        (f"Bearer {token(nbf=+600)}", 1003),
        (f"Bearer {token(exp=-10)}", 1004),
    ],
)
async def test_auth_errors(session: aiohttp.ClientSession, header: str | None, code: int) -> None:
    """JWT problems are answered HTTP 401 with the documented code."""
    async with sim_for() as sim:
        raw = Raw(sim, session)
        status, body = await raw.call(
            "GET", T2V, headers={} if header is None else {"Authorization": header}
        )
    assert (status, body["code"]) == (401, code)
    # Live error envelopes carry no data (and some no request_id).
    assert {"code", "message"} <= set(body) <= {"code", "message", "request_id"}


async def test_api_key_is_accepted_when_configured(session: aiohttp.ClientSession) -> None:
    """A console API key works as the bearer when the simulator knows it."""
    async with sim_for(api_key="console-key-0123456789abcdefghijkl") as sim:
        status, body = await Raw(sim, session).call(
            "GET", T2V, headers={"Authorization": "Bearer console-key-0123456789abcdefghijkl"}
        )
    assert status == 200 and body["code"] == 0 and body["message"] == "SUCCEED"


async def test_image_slots_are_n_weighted_and_1303_creates_nothing(
    session: aiohttp.ClientSession,
) -> None:
    """Image tasks hold n slots; over capacity → 429/1303 and no task."""
    async with sim_for(capacity={"image": 4}, time_scale=100) as sim:
        raw = Raw(sim, session)
        s1, _ = await raw.create(IMG, n=3)
        s2, b2 = await raw.create(IMG, n=2, external_task_id="too-big")
        s3, _ = await raw.create(IMG, n=1)
        status, found = await raw.call("GET", f"{IMG}/too-big")
    assert (s1, s3) == (200, 200)
    assert (s2, b2["code"], b2["message"]) == (429, 1303, "parallel task over resource pack limit")
    assert (status, found["code"]) == (400, 1201)
    assert found["message"] == "Task not found by id/external id: too-big"
    assert sim.stats.count_1303 == 1 and sim.stats.total_creates == 2
    assert sim.stats.max_in_use["image"] == 4 and sim.in_use("image") == 4


async def test_slots_are_held_until_the_task_ends_even_when_it_fails(
    session: aiohttp.ClientSession,
) -> None:
    """A failed task keeps its slot until it ends, then frees it."""
    async with sim_for(
        capacity={"video": 1}, time_scale=0.001, duration_spread=0, faults=Faults(failure_rate=1.0)
    ) as sim:
        raw = Raw(sim, session)
        _, first = await raw.create()
        status, busy = await raw.create()
        assert (status, busy["code"]) == (429, 1303)
        task_id = first["data"]["task_id"]
        while True:
            _, got = await raw.call("GET", f"{T2V}/{task_id}")
            if got["data"]["task_status"] == "failed":
                break
            await asyncio.sleep(0.05)
        assert got["data"]["task_status_msg"]
        status, again = await raw.create()
    assert status == 200 and again["code"] == 0


async def test_duplicate_external_id_is_refused(session: aiohttp.ClientSession) -> None:
    """A second create with the same external_task_id creates nothing."""
    async with sim_for(time_scale=100) as sim:
        raw = Raw(sim, session)
        s1, _ = await raw.create(external_task_id="job-1")
        s2, b2 = await raw.create(external_task_id="job-1")
    assert s1 == 200 and (s2, b2["code"]) == (400, 1201)
    assert b2["message"] == "External_task_id job-1 already exists" and "data" not in b2
    assert sim.stats.creates_by_external_id["job-1"] == 1 and sim.stats.total_creates == 1


@pytest.mark.parametrize(
    ("params", "ok"),
    [
        ({"pageNum": "0"}, False),
        ({"pageNum": "1001"}, False),
        ({"pageSize": "0"}, False),
        ({"pageSize": "501"}, False),
        ({"pageSize": "x"}, False),
        ({"pageNum": "1000", "pageSize": "500"}, True),
        ({"pageNum": "1", "pageSize": "1"}, True),
    ],
)
async def test_list_paging_bounds(
    session: aiohttp.ClientSession, params: dict[str, str], ok: bool
) -> None:
    """pageNum must be 1-1000 and pageSize 1-500, else 1201."""
    async with sim_for() as sim:
        status, body = await Raw(sim, session).call("GET", T2V, params=params)
    assert (status == 200) is ok
    if not ok:
        assert body["code"] == 1201 and (
            "pageNum" in body["message"] or "pageSize" in body["message"]
        )


async def test_list_is_newest_first_and_paged(session: aiohttp.ClientSession) -> None:
    """Lists return the family's tasks newest first, page by page."""
    async with sim_for(capacity={"video": 10}, time_scale=100) as sim:
        raw = Raw(sim, session)
        for i in range(5):
            await raw.create(external_task_id=f"j{i}")
        await raw.create(IMG, external_task_id="other-family")
        _, p1 = await raw.call("GET", T2V, params={"pageNum": "1", "pageSize": "2"})
        _, p3 = await raw.call("GET", T2V, params={"pageNum": "3", "pageSize": "2"})
        _, p4 = await raw.call("GET", T2V, params={"pageNum": "4", "pageSize": "2"})
    ext = [[t["task_info"]["external_task_id"] for t in p["data"]] for p in (p1, p3, p4)]
    assert ext == [["j4", "j3"], ["j0"], []]


async def test_lifecycle_goes_submitted_processing_succeed(session: aiohttp.ClientSession) -> None:
    """A task is observed submitted, then processing, then succeed with results."""
    async with sim_for(time_scale=0.004, duration_spread=0) as sim:  # 320 s -> 1.28 s
        raw = Raw(sim, session)
        _, created = await raw.create(duration="5")
        assert created["data"]["task_status"] == "submitted"
        seen = ["submitted"]
        task_id = created["data"]["task_id"]
        while seen[-1] != "succeed":
            await asyncio.sleep(0.03)
            _, got = await raw.call("GET", f"{T2V}/{task_id}")
            if got["data"]["task_status"] != seen[-1]:
                seen.append(got["data"]["task_status"])
    assert seen == ["submitted", "processing", "succeed"]
    data = got["data"]
    assert data["updated_at"] > data["created_at"]
    assert data["task_result"]["videos"][0]["url"].startswith(sim.base_url)
    assert data["final_unit_deduction"] == "1"


async def test_result_files_are_real_downloads(session: aiohttp.ClientSession) -> None:
    """Result URLs serve small files with the right content type and length."""
    async with sim_for(time_scale=0.0005, capacity={"image": 9}) as sim:
        raw = Raw(sim, session)
        _, created = await raw.create(IMG, n=2)
        task_id = created["data"]["task_id"]
        await asyncio.sleep(0.1)
        _, got = await raw.call("GET", f"{IMG}/{task_id}")
        urls = [img["url"] for img in got["data"]["task_result"]["images"]]
        files = []
        for url in urls:
            async with session.get(url) as resp:
                files.append(
                    (resp.status, resp.content_type, resp.content_length, await resp.read())
                )
    assert len(urls) == 2
    for status, ctype, length, body in files:
        assert status == 200 and ctype == "image/png"
        assert length == len(body) > 1000 and body.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (T2V, {"prompt": "a", "duration": 5}, "duration"),
        (T2V, {"prompt": "a", "mode": "ultra"}, "mode"),
        (T2V, {}, "prompt"),
        (T2V, {"prompt": "x" * 2501}, "prompt"),
        (IMG, {"prompt": "a", "n": 10}, "n"),
        ("/v1/videos/image2video", {"image": "data:image/png;base64,AAAA"}, "image"),
        ("/v1/images/kolors-virtual-try-on", {"human_image": "https://x/h.png"}, "cloth_image"),
        (T2V, {"prompt": "a", "external_task_id": 5}, "external_task_id"),
    ],
)
async def test_invalid_parameters_are_1201_naming_the_field(
    session: aiohttp.ClientSession, path: str, body: dict[str, Any], field: str
) -> None:
    """The simulator's own validation catches client mistakes (code 1201)."""
    async with sim_for() as sim:
        status, answer = await Raw(sim, session).call("POST", path, body=body)
    assert (status, answer["code"]) == (400, 1201) and field in answer["message"]
    assert sim.stats.total_creates == 0


async def test_unknown_path_and_wrong_method_use_the_envelope(
    session: aiohttp.ClientSession,
) -> None:
    """Unknown resources answer 1203, wrong methods 1202, in Kling's envelope."""
    async with sim_for() as sim:
        raw = Raw(sim, session)
        s1, b1 = await raw.call("GET", "/v1/videos/nonexistent")
        s2, b2 = await raw.call("DELETE", T2V)
    assert (s1, b1["code"]) == (404, 1203) and (s2, b2["code"]) == (404, 1202)


class Receiver:
    """A real callback receiver on loopback."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.calls.append((dict(request.headers), await request.read()))
        return web.Response(text="ok")

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/cb", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/cb"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def _wait_for(predicate: Any) -> None:
    async with asyncio.timeout(10):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_callbacks_are_posted_on_each_status_change_and_signed(
    session: aiohttp.ClientSession,
) -> None:
    """With callback_url set, each status change is POSTed; signatures verify."""
    async with Receiver() as rx, sim_for(time_scale=0.002, webhook_secret=WEBHOOK_SECRET) as sim:
        _, created = await Raw(sim, session).create(callback_url=rx.url, external_task_id="cb-1")
        # the simulator counts a delivery once it has read the receiver's answer
        await _wait_for(lambda: len(rx.calls) >= 3 and sim.stats.callbacks_sent >= 3)
    import json

    statuses = []
    for headers, body in rx.calls:
        Webhook(WEBHOOK_SECRET).verify(body, headers)  # raises when the signature is wrong
        assert headers["Content-Type"].startswith("application/json")
        payload = json.loads(body)
        assert payload["task_id"] == created["data"]["task_id"]
        assert payload["task_info"]["external_task_id"] == "cb-1"
        statuses.append(payload["task_status"])
    assert sorted(statuses) == sorted(["submitted", "processing", "succeed"])
    assert len({h["webhook-id"] for h, _ in rx.calls}) == 3
    assert sim.stats.callbacks_sent == 3


async def test_callbacks_unsigned_without_secret_and_droppable(
    session: aiohttp.ClientSession,
) -> None:
    """No secret → no signature headers; callback_drop_rate=1 → nothing delivered."""
    async with Receiver() as rx, sim_for(time_scale=0.001) as sim:
        raw = Raw(sim, session)
        await raw.create(callback_url=rx.url)
        await _wait_for(lambda: len(rx.calls) >= 3)
        assert all("webhook-signature" not in h for h, _ in rx.calls)
        sim.set_faults(callback_drop_rate=1.0)
        rx.calls.clear()
        await raw.create(callback_url=rx.url)
        await _wait_for(lambda: sim.stats.callbacks_dropped >= 3)
    assert rx.calls == []


async def test_server_error_fault(session: aiohttp.ClientSession) -> None:
    """server_error_rate answers 5000/5001/5002 with matching HTTP statuses, creating nothing."""
    async with sim_for(faults=Faults(server_error_rate=1.0), seed=3) as sim:
        raw = Raw(sim, session)
        answers = [await raw.create() for _ in range(30)]
    pairs = {(s, b["code"]) for s, b in answers}
    assert pairs == {(500, 5000), (503, 5001), (504, 5002)}
    assert sim.stats.total_creates == 0 and sim.stats.count_5xxx == 30


async def test_rate_limit_bursts(session: aiohttp.ClientSession) -> None:
    """A 1302 burst refuses rate_limit_burst consecutive requests, with Retry-After."""
    async with sim_for(
        faults=Faults(rate_limit_rate=1.0, rate_limit_burst=3, retry_after=2)
    ) as sim:
        raw = Raw(sim, session)
        async with session.get(sim.base_url + T2V, headers=raw.headers) as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "2"
            assert (await resp.json())["code"] == 1302
        sim.set_faults(rate_limit_rate=0.0)
        rest = [await raw.call("GET", T2V) for _ in range(3)]
    assert [b["code"] for _, b in rest] == [1302, 1302, 0]
    assert sim.stats.count_1302 == 3


async def test_latency_fault_delays_answers(session: aiohttp.ClientSession) -> None:
    """With latency L every answer waits at least L/2: a client timeout of L/4 fires."""
    async with sim_for(faults=Faults(latency=0.4)) as sim:
        raw = Raw(sim, session)
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(
                sim.base_url + T2V, headers=raw.headers, timeout=aiohttp.ClientTimeout(total=0.1)
            ):
                pass
        sim.set_faults(latency=0.0)
        status, _ = await raw.call("GET", T2V)
    assert status == 200


async def test_drop_after_create_creates_then_hangs_up(session: aiohttp.ClientSession) -> None:
    """The nasty fault: the task exists but the caller gets no answer."""
    async with sim_for(faults=Faults(drop_after_create_rate=1.0), time_scale=100) as sim:
        raw = Raw(sim, session)
        with pytest.raises(aiohttp.ClientError):
            await raw.create(external_task_id="lost-answer")
        sim.set_faults(drop_after_create_rate=0.0)
        status, found = await raw.call("GET", f"{T2V}/lost-answer")
    assert status == 200 and found["data"]["task_info"]["external_task_id"] == "lost-answer"
    assert sim.stats.dropped_connections == 1
    assert sim.stats.creates_by_external_id["lost-answer"] == 1


async def test_stats_endpoint(session: aiohttp.ClientSession) -> None:
    """GET /__stats exposes the ground truth as JSON."""
    async with sim_for(time_scale=100, capacity={"video": 3}) as sim:
        raw = Raw(sim, session)
        await raw.create(external_task_id="s1")
        await raw.create(IMG, n=2)
        async with session.get(sim.base_url + "/__stats") as resp:
            stats = await resp.json()
    assert stats["max_in_use"] == {"video": 1, "image": 2, "try_on": 0}
    assert stats["in_use"] == {"video": 1, "image": 2, "try_on": 0}
    assert stats["capacity"]["video"] == 3
    assert stats["creates_by_external_id"] == {"s1": 1} and stats["duplicate_creates"] == {}
    assert stats["requests_by_endpoint"]["POST /v1/videos/text2video"] == 1
    assert len(stats["tasks"]) == 2


async def test_injected_tasks_share_the_account(session: aiohttp.ClientSession) -> None:
    """A task created 'by another client' occupies the same pack."""
    async with sim_for(capacity={"video": 1}, time_scale=100) as sim:
        sim.inject_task(T2V, {"prompt": "theirs"})
        status, body = await Raw(sim, session).create()
        with pytest.raises(ValueError, match="1303"):
            sim.inject_task(T2V, {"prompt": "again"})
    assert (status, body["code"]) == (429, 1303)


async def test_sync_endpoints_answer_inline(session: aiohttp.ClientSession) -> None:
    """TTS, identify-face, recognize and account costs answer without a task to poll."""
    async with sim_for() as sim:
        raw = Raw(sim, session)
        _, tts = await raw.call(
            "POST", "/v1/audio/tts", body={"text": "hi", "voice_id": "v", "voice_language": "en"}
        )
        _, faces = await raw.call("POST", "/v1/videos/identify-face", body={"video_id": "1"})
        s_bad, bad = await raw.call("GET", "/account/costs")
        _, costs = await raw.call(
            "GET", "/account/costs", params={"start_time": "1", "end_time": "2"}
        )
    assert tts["data"]["task_status"] == "succeed" and tts["data"]["task_result"]["audios"]
    assert faces["data"]["face_data"][0]["face_id"] == "0"
    assert (s_bad, bad["code"]) == (400, 1201)
    assert costs["data"]["resource_pack_subscribe_infos"]


async def test_load_2000_creates_never_exceed_capacity_5() -> None:
    """2,000 creates from concurrent clients: the pack never holds more than 5."""
    target, workers = 2000, 10
    created = 0

    async with sim_for(capacity={"video": 5}, time_scale=0.00002, seed=7) as sim:

        async def worker() -> None:
            nonlocal created
            async with aiohttp.ClientSession() as s:
                raw = Raw(sim, s)
                while created < target:
                    status, _ = await raw.create()
                    if status == 200:
                        created += 1
                    else:
                        await asyncio.sleep(0.003)

        await asyncio.gather(*(worker() for _ in range(workers)))
    assert sim.stats.total_creates >= target
    assert sim.stats.max_in_use["video"] == 5
    assert sim.stats.count_1303 > 0  # the limit was really pressed
