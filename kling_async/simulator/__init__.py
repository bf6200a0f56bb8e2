"""A faithful fake Kling server for tests, benchmarks, demos and your own tests.

Example::

    async with Simulator(capacity={"video": 2, "image": 4, "try_on": 1},
                         time_scale=0.01, seed=0) as sim:
        async with sim.client() as client:
            task = await client.create(TextToVideo(prompt="a fox"))
        print(sim.stats.max_in_use)

From the shell: ``kling-async simulate --port 8787`` or
``python -m kling_async.simulator``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from kling_async.errors import UsageError
from kling_async.simulator._billing import DEFAULT_BALANCES
from kling_async.simulator._persist import StateFile
from kling_async.simulator._server import DEFAULT_CAPACITY, Faults, SimulatorCore
from kling_async.simulator._spec import SIM_FAMILIES
from kling_async.simulator._state import SimStats, SimTask

if TYPE_CHECKING:
    from kling_async._client import KlingClient

__all__ = ["DEFAULT_BALANCES", "DEFAULT_CAPACITY", "Faults", "SimStats", "SimTask", "Simulator"]


class Simulator:
    """Runs a fake Kling API on 127.0.0.1 (a free port unless ``port`` is given).

    Args:
        capacity: concurrency per pack (``video``, ``image``, ``try_on``); packs
            not given use :data:`DEFAULT_CAPACITY`.
        time_scale: multiplies every task duration (0.01 → a 300 s video takes 3 s).
        seed: seeds durations, failures and faults, for repeatable runs.
        faults: injected faults (:class:`Faults`), off by default.
        access_key: the access key the server accepts (random when omitted).
        secret_key: the secret key it accepts (random when omitted).
        api_key: the console-style API key it accepts (random when omitted); the
            2026 design's paths and ``/tasks`` accept only this key.
        webhook_secret: sign callbacks with Standard Webhooks (``whsec_...``).
        durations: typical seconds per family name, before ``time_scale``.
        duration_spread: each task's duration varies ±this fraction (default 0.3).
        live_shapes: answer in every shape live Kling was seen to use (default): some
            create answers without ``task_info``, succeed results with ``null`` /
            ``[]`` sibling lists, missing ``final_unit_deduction``, error envelopes
            without ``request_id``. False gives the plain documented shapes.
        not_found: how an unknown task is answered: ``"live"`` (HTTP 400, 1201,
            ``Task not found by id/external id: <id>``) or ``"1203"`` (HTTP 404, 1203).
        concurrency_scope: ``"pack"`` (default: one limit per pack type) or
            ``"pack_model"`` (one per pack type and model version, each with the
            pack's capacity; a request without ``model_name`` counts under its
            family's name), the two readings of Kling's concurrency pages.
        host: the address to listen on.
        port: the port (0: a free one).
        state_file: keep every created task in this file (JSON lines) and load the
            tasks already in it when starting: a simulator restarted with the same
            file still answers for them, downloads included, and refuses their
            external ids (``batch run --simulate`` keeps one in the output folder so
            the batch can be resumed). Remaining times run in wall-clock seconds.
        balances: units in each pack (default :data:`DEFAULT_BALANCES`). Units are
            deducted when a task succeeds (``final_unit_deduction``; failed tasks cost
            nothing), ``/account/costs`` reports what is left, the billing ledger lists
            the deductions, and a create in a pack with nothing left answers
            429 / 1102. Top up with :meth:`top_up`.
    """

    def __init__(
        self,
        *,
        capacity: dict[str, int] | None = None,
        time_scale: float = 1.0,
        seed: int = 0,
        faults: Faults | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        api_key: str | None = None,
        webhook_secret: str | None = None,
        durations: dict[str, float] | None = None,
        duration_spread: float = 0.3,
        live_shapes: bool = True,
        not_found: str = "live",
        concurrency_scope: str = "pack",
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        balances: Mapping[str, float] | None = None,
    ) -> None:
        self.access_key = access_key or f"sim-ak-{secrets.token_hex(8)}"
        self.secret_key = secret_key or f"sim-sk-{secrets.token_hex(16)}"
        self.api_key = api_key or f"sim-key-{secrets.token_hex(16)}"
        self.webhook_secret = webhook_secret
        self.core = SimulatorCore(
            capacity=dict(capacity or {}),
            time_scale=time_scale,
            seed=seed,
            faults=faults or Faults(),
            access_key=self.access_key,
            secret_key=self.secret_key,
            api_key=self.api_key,
            webhook_secret=webhook_secret,
            durations=dict(durations or {}),
            duration_spread=duration_spread,
            live_shapes=live_shapes,
            not_found=not_found,
            concurrency_scope=concurrency_scope,
            balances=balances,
        )
        self._host = host
        self._port = port
        self._state_path = None if state_file is None else Path(state_file)
        self._header = {"time_scale": time_scale, "seed": seed}
        self.restored = 0
        """Tasks loaded from ``state_file`` at start."""
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        """Bind and start serving; sets :attr:`base_url`."""
        if self._runner is not None:
            raise UsageError("simulator already started")
        runner = web.AppRunner(self.core.build_app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        await site.start()
        self._runner = runner
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self._port
        self.base_url = f"http://{self._host}:{port}"
        self.core.base_url = self.base_url
        if self._state_path is not None:
            state = StateFile(self._state_path)
            state.set_header(**self._header)
            try:
                self.restored = state.load(self.core)
            except BaseException:
                await self.stop()
                raise
            self.core.state_file = state

    async def stop(self) -> None:
        """Stop serving and close callback connections."""
        await self.core.close()
        if self.core.state_file is not None:
            self.core.state_file.close()
            self.core.state_file = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def stats(self) -> SimStats:
        """Ground truth: max slots in use per pack, creates per external id, 1302/1303..."""
        return self.core.stats

    def snapshot(self) -> dict[str, Any]:
        """Stats as JSON-ready data, plus slots in use now (same as ``GET /__stats``)."""
        return self.core.snapshot()

    def in_use(self, pack: str) -> int:
        """Slots of ``pack`` held right now."""
        return self.core.in_use(pack)

    def set_faults(self, **changes: Any) -> Faults:
        """Change fault settings while running (e.g. ``set_faults(server_error_rate=0.2)``)."""
        return self.core.set_faults(**changes)

    def set_capacity(self, pack: str, capacity: int) -> None:
        """Change one pack's concurrency limit while running."""
        self.core.slots.set_capacity(pack, capacity)

    def balances(self) -> dict[str, float]:
        """Units left in each pack (tasks that succeeded so far deducted)."""
        self.core.billing.sweep()
        return dict(self.core.billing.remaining)

    def top_up(self, pack: str, units: float) -> None:
        """Add ``units`` to ``pack`` (a used-up pack accepts creates again)."""
        self.core.billing.top_up(pack, units)

    def ledger(self) -> list[dict[str, Any]]:
        """Every deduction so far, as ``/account/billing/package`` lists them."""
        self.core.billing.sweep()
        return list(self.core.billing.ledger)

    def set_pack(self, pack: str, *, available: bool) -> None:
        """Give the account a resource pack (``video``, ``image``, ``try_on``) or take
        it away: creates of a pack the account lacks are answered 429 / 1102
        "Account balance not enough", as live Kling does (e.g. an image create on a
        video-only account)."""
        if available:
            self.core.missing_packs.discard(pack)
        else:
            self.core.missing_packs.add(pack)

    def inject_task(self, path: str, body: dict[str, Any]) -> SimTask:
        """Create a task directly, as another client of the same account would.

        Raises ``ValueError`` when the pack is full (that client would get 1303).
        """
        from kling_async.simulator._errors import Answer as _Answer

        try:
            return self.core.create_task(SIM_FAMILIES[path], dict(body))
        except _Answer as answer:
            raise UsageError(f"[{answer.code}] {answer.message}") from None

    def client(self, *, auth: str = "jwt", **kwargs: Any) -> KlingClient:
        """A :class:`~kling_async.KlingClient` pointed at this simulator.

        ``auth="jwt"`` (default) signs with the access key / secret key (``/v1``
        only: 2026-design requests raise :class:`~kling_async.APIKeyRequiredError`);
        ``auth="api_key"`` sends the simulator's API key (both designs).
        """
        from kling_async._client import KlingClient

        if auth == "api_key":
            return KlingClient(api_key=self.api_key, base_url=self.base_url, **kwargs)
        if auth != "jwt":
            raise UsageError(f"auth must be 'jwt' or 'api_key', got {auth!r}")
        return KlingClient(
            access_key=self.access_key,
            secret_key=self.secret_key,
            base_url=self.base_url,
            **kwargs,
        )

    def __repr__(self) -> str:
        return (
            f"Simulator(base_url={self.base_url!r}, access_key=<hidden>, secret_key=<hidden>, "
            "api_key=<hidden>)"
        )
