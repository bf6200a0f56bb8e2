"""The simulator's callback deliveries, as Kling sends them.

Data flow: a task created with ``callback_url`` -> :meth:`CallbackSender.schedule`
sets three timers (submitted now, processing, ended) -> at each, the task's JSON at
that moment is POSTed (maybe dropped, maybe sent twice: faults) -> signed with
Standard Webhooks headers when a webhook secret is configured -> counted in the
simulator's stats (sent / failed / dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid

import aiohttp

from kling_async.simulator._host import SimHost
from kling_async.simulator._state import SimTask

__all__ = ["CallbackSender"]

logger = logging.getLogger("kling_async.simulator")


class CallbackSender:
    """POSTs status changes of the simulator's tasks to their ``callback_url``."""

    def __init__(self, core: SimHost, webhook_secret: str | None) -> None:
        self._core = core
        self._webhook_secret = webhook_secret
        self._session: aiohttp.ClientSession | None = None
        self._background: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        signed = "signed" if self._webhook_secret else "unsigned"
        return f"<CallbackSender {signed}, {len(self._background)} in flight>"

    def schedule(self, task: SimTask) -> None:
        """Deliver ``task``'s status now, when it starts processing and when it ends."""
        loop = asyncio.get_running_loop()
        now = self._core.now()
        for at in (now, task.processing_at, task.ends_at):
            loop.call_at(loop.time() + max(0.0, at - now), self._spawn, task, at)

    def _spawn(self, task: SimTask, at: float) -> None:
        core = self._core
        faults = core.faults
        if faults.callback_drop_rate and core.rng.random() < faults.callback_drop_rate:
            core.stats.callbacks_dropped += 1
            return
        body = json.dumps(task.to_json(at))
        twice = faults.callback_duplicate_rate and (
            core.rng.random() < faults.callback_duplicate_rate
        )
        for _ in range(2 if twice else 1):
            job = asyncio.ensure_future(self._post(task.callback_url or "", body))
            self._background.add(job)
            job.add_done_callback(self._background.discard)

    async def _post(self, url: str, body: str) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self._webhook_secret:
            from datetime import UTC, datetime

            from standardwebhooks.webhooks import Webhook

            msg_id = f"msg_{uuid.uuid4().hex}"
            stamp = datetime.now(UTC)
            headers["webhook-id"] = msg_id
            headers["webhook-timestamp"] = str(int(stamp.timestamp()))
            headers["webhook-signature"] = Webhook(self._webhook_secret).sign(msg_id, stamp, body)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        stats = self._core.stats
        try:
            async with self._session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                stats.callbacks_sent += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            stats.callbacks_failed += 1
            logger.info("callback to %s failed: %s", url, type(exc).__name__)

    async def close(self) -> None:
        """Stop deliveries in flight and close the session."""
        for job in list(self._background):
            job.cancel()
        for job in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        if self._session is not None:
            await self._session.close()
