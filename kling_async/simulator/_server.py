"""The simulator's HTTP server: a fake Kling over real loopback HTTP.

Request pipeline (one aiohttp middleware, then the handler)::

    count request -> added latency -> JWT / API-key check (1000-1004, HTTP 401)
      -> faults: 1302 burst, 5000/5001/5002 -> route:
         POST create: validate (1201) -> maybe drop before creating (fault)
                      -> duplicate external id (1201)
                      -> pack capacity (1303, HTTP 429) -> create task
                      -> maybe drop the connection without answering (fault)
         GET {path}/{task_id or external_task_id}   (lookup; unknown -> 400/1201)
         GET {path}?pageNum&pageSize  (list; any other parameter is ignored)
         synchronous calls, /account/costs, result files, /__stats

Every answer uses Kling's envelope: ``{code, message, request_id, data}`` on success,
``{code, message, request_id}`` (no ``data``, sometimes no ``request_id``) on errors,
as live Kling answers (``kling_api_2026.md`` A2, A5).
Callbacks are POSTed on each status change when ``callback_url`` was given,
signed with Standard Webhooks headers when a webhook secret is configured.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

import jwt
from aiohttp import web

from kling_async.errors import UsageError
from kling_async.simulator._billing import Billing, units_for
from kling_async.simulator._callbacks import CallbackSender
from kling_async.simulator._design2026 import AKSK_REFUSED, add_routes, is_api_key_only
from kling_async.simulator._errors import Answer as _Answer
from kling_async.simulator._errors import json_body
from kling_async.simulator._files import result_file
from kling_async.simulator._persist import StateFile
from kling_async.simulator._slots import SlotBook
from kling_async.simulator._spec import SIM_FAMILIES, SimFamily, validate_body
from kling_async.simulator._state import QUIRK_BITS, Faults, SimStats, SimTask
from kling_async.simulator._sync import NO_DATA, sync_answer

__all__ = ["DEFAULT_CAPACITY", "Faults", "SimulatorCore"]

logger = logging.getLogger("kling_async.simulator")

DEFAULT_CAPACITY = {"video": 5, "image": 9, "try_on": 1}

NOT_FOUND_STYLES = ("live", "1203")
"""How an unknown task id is answered: ``live`` = HTTP 400, code 1201, ``Task not found
by id/external id: <id>`` (what live Kling says); ``1203`` = HTTP 404, code 1203 (the
reading of older docs, kept so the client's defensive handling can be tested)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SimulatorCore:
    """State and request handling; :class:`kling_async.simulator.Simulator` runs it."""

    def __init__(
        self,
        *,
        capacity: dict[str, int],
        time_scale: float,
        seed: int,
        faults: Faults,
        access_key: str,
        secret_key: str,
        api_key: str | None,
        webhook_secret: str | None,
        durations: dict[str, float],
        duration_spread: float,
        live_shapes: bool = True,
        not_found: str = "live",
        concurrency_scope: str = "pack",
        balances: Mapping[str, float] | None = None,
    ) -> None:
        unknown = set(capacity) - set(DEFAULT_CAPACITY)
        if unknown:
            raise UsageError(f"unknown pack(s) in capacity: {sorted(unknown)}")
        if time_scale <= 0:
            raise UsageError("time_scale must be > 0")
        if not 0 <= duration_spread < 1:
            raise UsageError("duration_spread must be in [0, 1)")
        self.slots = SlotBook(
            {name: capacity.get(name, default) for name, default in DEFAULT_CAPACITY.items()},
            concurrency_scope,
        )
        self.packs = self.slots.packs
        self.time_scale = time_scale
        self.rng = random.Random(seed)
        self.faults = faults
        self.access_key = access_key
        self._secret_key = secret_key
        self._api_key = api_key
        self.durations = durations
        self.duration_spread = duration_spread
        if not_found not in NOT_FOUND_STYLES:
            raise UsageError(f"not_found must be one of {', '.join(NOT_FOUND_STYLES)}")
        self.live_shapes = live_shapes
        self.not_found = not_found
        # A separate stream: live shapes never shift the seeded durations and faults.
        self._shape_rng = random.Random(seed + 1)
        self.stats = SimStats(max_in_use={name: 0 for name in DEFAULT_CAPACITY})
        self.tasks: dict[str, SimTask] = {}
        self.deleted: set[str] = set()
        """Voice and element ids deleted through the delete endpoints."""
        self.by_family: dict[str, list[SimTask]] = {}
        self.missing_packs: set[str] = set()
        """Packs the account lacks: their creates answer 429 / 1102."""
        self.external: dict[str, SimTask] = {}
        self.state_file: StateFile | None = None
        """Where created tasks are kept across restarts (``Simulator(state_file=)``)."""
        self.base_url = ""
        self._burst_left = 0
        self._seq = 0
        self._t0 = time.monotonic()
        self.callbacks = CallbackSender(self, webhook_secret)
        self.billing = Billing(balances, self.now)
        """Pack balances and the deduction ledger (units deducted when tasks succeed)."""

    # -- time -------------------------------------------------------------------

    def next_seq(self) -> int:
        """The next task sequence number (task ids are made from it)."""
        self._seq += 1
        return self._seq

    def now(self) -> float:
        """Simulator time in real seconds since start (monotonic)."""
        return time.monotonic() - self._t0

    # -- middleware ---------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count, delay, authenticate and inject faults before the handler runs."""
        route = request.match_info.route.resource
        key = f"{request.method} {route.canonical if route is not None else request.path}"
        self.stats.requests_by_endpoint[key] += 1
        if request.path.startswith(("/__files/", "/__stats")):
            return await handler(request)
        try:
            if self.faults.latency:
                await asyncio.sleep(self.rng.uniform(self.faults.latency / 2, self.faults.latency))
            self._check_auth(request.headers.get("Authorization"), is_api_key_only(request.path))
            self._inject_faults()
            return await handler(request)
        except _Answer as answer:
            return self.envelope(None, answer.http, answer.code, answer.message, answer.retry_after)
        except web.HTTPNotFound:
            return self.envelope(None, 404, 1203, "requested resource does not exist")
        except web.HTTPMethodNotAllowed:
            return self.envelope(None, 404, 1202, "invalid request method")

    def _check_auth(self, header: str | None, api_key_only: bool = False) -> None:
        if not header:
            raise _Answer(401, 1001, "Authorization is empty")
        if not header.startswith("Bearer ") or len(header) <= 7:
            raise _Answer(401, 1002, "Authorization is invalid")
        token = header[7:]
        if self._api_key is not None and token == self._api_key:
            return
        if api_key_only:
            # The 2026 design takes API keys only; a JWT gets the documented refusal.
            if token.count(".") == 2:
                raise _Answer(401, 1002, AKSK_REFUSED)
            raise _Answer(401, 1000, "authentication failed")
        try:
            claims = jwt.decode(
                token,
                self._secret_key,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False, "require": ["iss", "exp"]},
            )
        except jwt.InvalidSignatureError:
            raise _Answer(401, 1000, "authentication failed") from None
        except jwt.PyJWTError:
            raise _Answer(401, 1002, "Authorization is invalid") from None
        if claims.get("iss") != self.access_key:
            raise _Answer(401, 1000, "authentication failed")
        wall = time.time()
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf > wall:
            raise _Answer(401, 1003, "Authorization is not yet valid")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= wall:
            raise _Answer(401, 1004, "Authorization has expired")

    def _inject_faults(self) -> None:
        faults = self.faults
        if self._burst_left > 0:
            self._burst_left -= 1
            self.stats.count_1302 += 1
            raise _Answer(429, 1302, "request too fast", faults.retry_after)
        if faults.rate_limit_rate and self.rng.random() < faults.rate_limit_rate:
            self._burst_left = faults.rate_limit_burst - 1
            self.stats.count_1302 += 1
            raise _Answer(429, 1302, "request too fast", faults.retry_after)
        if faults.server_error_rate and self.rng.random() < faults.server_error_rate:
            code = self.rng.choice((5000, 5001, 5002))
            self.stats.count_5xxx += 1
            http = {5000: 500, 5001: 503, 5002: 504}[code]
            raise _Answer(
                http, code, "simulated server fault", faults.retry_after if code == 5001 else None
            )

    def envelope(
        self,
        data: Any,
        http: int = 200,
        code: int = 0,
        message: str = "SUCCEED",
        retry_after: float | None = None,
    ) -> web.Response:
        body: dict[str, Any] = {"code": code, "message": message}
        if code == 0:
            body["request_id"] = str(uuid.uuid4())
            if data is not NO_DATA:
                body["data"] = data
        elif not (self.live_shapes and self._shape_rng.random() < 0.2):
            body["request_id"] = str(uuid.uuid4())  # some live error captures lack it
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        return web.json_response(body, status=http, headers=headers)

    # -- creates ----------------------------------------------------------------

    def create_handler(self, fam: SimFamily) -> Handler:
        """Build the POST handler that creates a task of ``fam``."""

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await json_body(request)
            problem = validate_body(fam, body)
            if problem:
                raise _Answer(400, 1201, f"invalid parameter: {problem}")
            return await self.answer_create(request, fam, body)

        return handle

    async def answer_create(
        self, request: web.Request, fam: SimFamily, body: dict[str, Any], design: str = "v1"
    ) -> web.StreamResponse:
        """Create a validated request's task and answer it (with the drop faults)."""
        if self.faults.drop_before_create_rate and (
            self.rng.random() < self.faults.drop_before_create_rate
        ):
            self.stats.dropped_before_create += 1
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        task = self.create_task(fam, body, design=design)
        if self.faults.drop_after_create_rate and (
            self.rng.random() < self.faults.drop_after_create_rate
        ):
            self.stats.dropped_connections += 1
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        return self.envelope(task.to_json(self.now(), create=True))

    def create_task(self, fam: SimFamily, body: dict[str, Any], design: str = "v1") -> SimTask:
        """Create a task as Kling would (raises ``_Answer`` for 1201 / 1303)."""
        ext = body.get("external_task_id")
        if ext is not None and ext in self.external:
            # Account-wide, across families; refused for free (live, 2026-09-22).
            raise _Answer(400, 1201, f"External_task_id {ext} already exists")
        now = self.now()
        cost = fam.cost(body)
        typical = self.durations.get(fam.name, fam.typical_seconds) * self.time_scale
        spread = self.duration_spread
        duration = typical * self.rng.uniform(1 - spread, 1 + spread) if spread else typical
        ends_at = now + duration
        if fam.pack is not None and fam.pack in self.missing_packs:
            # Live (kling_api_2026.md): no pack of the product type -> 429 / 1102.
            raise _Answer(429, 1102, "Account balance not enough")
        if fam.pack is not None and self.billing.empty(fam.pack):
            raise _Answer(429, 1102, "Account balance not enough")  # pack used up
        model_key = body.get("model_name") or fam.name
        if fam.pack is not None:
            pack = self.slots.for_task(fam.pack, model_key)
            if not pack.try_acquire(cost, ends_at, now):
                self.stats.count_1303 += 1
                raise _Answer(
                    429, 1303, "parallel task over resource pack limit", self.faults.retry_after
                )
            self.stats.max_in_use[fam.pack] = max(self.stats.max_in_use[fam.pack], pack.max_in_use)
        task_id = str(860000000000000000 + self.next_seq())
        fails = bool(self.faults.failure_rate) and self.rng.random() < self.faults.failure_rate
        prompt = str(body.get("prompt") or "")
        fails = fails or any(word in prompt for word in self.faults.risky_words)
        task = SimTask(
            task_id=task_id,
            family=fam.name,
            path=fam.path,
            pack=fam.pack,
            cost=cost,
            external_task_id=ext,
            callback_url=body.get("callback_url"),
            created_at=now,
            processing_at=now + duration * 0.1,
            ends_at=ends_at,
            fails=fails,
            failure_msg="simulated failure: content risk control" if fails else "",
            created_ms=int(time.time() * 1000),
            duration_ms=int(duration * 1000),
            params=body,
            result_kind=fam.result,
            base_url=self.base_url,
            seq=self._seq,
            quirks=self._shape_rng.randrange(QUIRK_BITS) if self.live_shapes else 0,
            units=units_for(fam.name, body, cost),
            design=design,
        )
        if self.state_file is not None:
            self.state_file.record(task, str(model_key))  # before the create is answered
        self._add(task)
        self.billing.track(task)
        if task.callback_url:
            self.callbacks.schedule(task)
        return task

    def _add(self, task: SimTask) -> None:
        self.tasks[task.task_id] = task
        self.by_family.setdefault(task.family, []).append(task)
        ext = task.external_task_id
        if ext is not None:
            self.external[ext] = task
            self.stats.creates_by_external_id[ext] += 1
        self.stats.total_creates += 1
        self.stats.task_times[task.task_id] = (
            task.family,
            task.pack,
            task.cost,
            task.created_at,
            task.ends_at,
        )

    def restore_task(self, task: SimTask, model_key: str) -> None:
        """Take back a task of an earlier run (from the state file): its slots stay
        held until it ends and its external id stays taken."""
        task.units = units_for(task.family, task.params, task.cost)
        if task.pack is not None and task.ends_at > self.now():
            self.slots.for_task(task.pack, model_key).hold(task.cost, task.ends_at)
            self.billing.track(task)  # ended ones were billed by the earlier run
        self._seq = max(self._seq, task.seq)
        self._add(task)

    def capacities(self) -> dict[str, int]:
        """Concurrency per pack (for the pack names ``/account/costs`` shows)."""
        return {name: p.capacity for name, p in self.packs.items()}

    def in_use(self, pack: str) -> int:
        """Slots of ``pack`` held now (every model of it with ``pack_model`` scope)."""
        return self.slots.in_use(pack, self.now())

    # -- queries ------------------------------------------------------------------

    def query_handler(self, fam: SimFamily) -> Handler:
        """GET ``{path}``: the family's list, newest first.

        ``?external_task_id=`` is not a documented lookup: like the list endpoint it
        is, the simulator ignores it and answers the plain list.
        """

        async def handle(request: web.Request) -> web.StreamResponse:
            now = self.now()
            page = _int_param(request, "pageNum", 1, 1, 1000)
            size = _int_param(request, "pageSize", 30, 1, 500)
            tasks = self.by_family.get(fam.name, [])
            end = len(tasks) - (page - 1) * size
            chosen = tasks[max(0, end - size) : max(0, end)][::-1]
            return self.envelope([t.to_json(now) for t in chosen])

        return handle

    def single_handler(self, fam: SimFamily) -> Handler:
        """GET ``{path}/{id}``: one task by task id or external id (live: both match)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            key = request.match_info["task_id"]
            task = self.tasks.get(key)
            if task is None or task.family != fam.name:
                task = self.external.get(key)
            if task is None or task.family != fam.name:
                raise self._task_not_found(key)
            return self.envelope(task.to_json(self.now()))

        return handle

    def _task_not_found(self, key: str) -> _Answer:
        if self.not_found == "1203":
            return _Answer(404, 1203, "requested resource does not exist")
        return _Answer(400, 1201, f"Task not found by id/external id: {key}")

    async def close(self) -> None:
        """Stop callback deliveries and close the callback session."""
        await self.callbacks.close()

    # -- files and sync endpoints -----------------------------------------------

    async def file_handler(self, request: web.Request) -> web.StreamResponse:
        """Serve a small, real result file with the right type and length."""
        task = self.tasks.get(request.match_info["task_id"])
        name = request.match_info["name"]
        if task is None or task.status(self.now()) != "succeed":
            return web.Response(status=404, text="not found")
        seconds = float(task.params.get("duration", 5) or 5) if name.endswith(".mp4") else 5.0
        content_type, body = result_file(task.task_id, name, seconds)
        return web.Response(body=body, content_type=content_type)

    async def stats_handler(self, request: web.Request) -> web.StreamResponse:
        """``GET /__stats``: the ground truth as JSON."""
        return web.json_response(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """Stats plus current slots in use per pack."""
        data = self.stats.to_dict()
        data["in_use"] = {name: self.in_use(name) for name in self.packs}
        data["capacity"] = {name: p.capacity for name, p in self.packs.items()}
        data["max_in_use_by_model"] = {k: s.max_in_use for k, s in self.slots.by_model.items()}
        return data

    def sync_handler(self, kind: str) -> Handler:
        """Handlers of the synchronous endpoints (answer inline, no slot)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await json_body(request) if request.method == "POST" else {}
            return self.envelope(sync_answer(self, kind, body, request))

        return handle

    # -- application ------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application serving every route."""
        app = web.Application(middlewares=[self.middleware], client_max_size=64 * 1024 * 1024)
        router = app.router
        for fam in SIM_FAMILIES.values():
            router.add_post(fam.path, self.create_handler(fam))
            router.add_get(fam.path, self.query_handler(fam))
            router.add_get(fam.path + "/{task_id}", self.single_handler(fam))
        sync_routes = {
            "/v1/videos/identify-face": "identify_face",
            "/v1/videos/image-recognize": "image_recognize",
            "/v1/audio/tts": "tts",
            "/v1/videos/multi-elements/init-selection": "init_selection",
            "/v1/videos/multi-elements/add-selection": "add_selection",
            "/v1/videos/multi-elements/delete-selection": "delete_selection",
            "/v1/videos/multi-elements/clear-selection": "clear_selection",
            "/v1/videos/multi-elements/preview-selection": "preview_selection",
        }
        for path, kind in sync_routes.items():
            router.add_post(path, self.sync_handler(kind))
        router.add_get("/account/costs", self.sync_handler("account_costs"))
        router.add_post("/account/billing/package", self.sync_handler("billing_package"))
        router.add_post("/account/billing/balance", self.sync_handler("billing_balance"))
        router.add_get("/v1/general/presets-voices", self.sync_handler("presets_voices"))
        router.add_get(
            "/v1/general/advanced-presets-elements", self.sync_handler("presets_elements")
        )
        router.add_post("/v1/general/delete-voices", self.sync_handler("delete_voice"))
        for path in ("/v1/general/delete-advanced-elements", "/v1/general/delete-elements"):
            router.add_post(path, self.sync_handler("delete_element"))
        add_routes(self, router)
        router.add_get("/__files/{task_id}/{name}", self.file_handler)
        router.add_get("/__stats", self.stats_handler)
        return app

    def set_faults(self, **changes: Any) -> Faults:
        """Change fault settings at run time; returns the new :class:`Faults`."""
        self.faults = replace(self.faults, **changes)
        return self.faults


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Answer(400, 1201, f"invalid parameter: {name} must be an integer") from None
    if not low <= value <= high:
        raise _Answer(400, 1201, f"invalid parameter: {name} must be in [{low}, {high}]")
    return value
