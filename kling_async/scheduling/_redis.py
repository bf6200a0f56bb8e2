"""A slot pool shared by processes and hosts through Redis, with leases tied to tasks.

Keys (prefix ``kling:{account}:``; several accounts can share one Redis)::

    cap:{pack}          capacity (shared, so a learned capacity is shared too)
    used:{pack}         slots held, all holders
    q:{pack}, qa:{pack} waiting holders in arrival order / last time each asked
    lease:{ext}         hash: pack, cost, family, task_id, holder, expires, adopted
    leases              zset: ext -> lease expiry (ms, Redis server clock)
    gone:{ext}          tombstone of a released lease (expires), so a heartbeat that
                        raced with the release does not bring the lease back
    holder:{holder}     set of the holder's leases
    holders             zset: holder -> last heartbeat (ms)
    adopted             counter of leases taken over from dead holders

    epoch               names the pool's data; recover: set (one lease_ttl) after a loss

Every change is one Lua script (atomic). Time always comes from ``TIME`` on the
Redis server, never from the hosts. If Redis loses its data (``FLUSHALL``, a restart
without persistence), the epoch is gone: the first holder that notices (an acquire
or a heartbeat of a holder that knew the old epoch) starts a recovery window of one
``lease_ttl`` in which no acquire is admitted, and every live holder's heartbeat
re-creates its leases (counting their slots again) within it; so the shared count
never exceeds the capacity. A lease is created with the slots it counts and
renewed by its holder's heartbeat. When a holder dies its leases expire, but Kling
still runs those tasks, so an expired lease is **not** freed: a survivor claims it,
queries the task recorded in it (or its external id) and releases the slots only
when the task ends. Scripts use keys derived inside Lua from the prefix, which needs
a standalone Redis (not Redis Cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable
from typing import Any

from kling_async.errors import ExternalIdInUseError, MissingExtraError, UsageError
from kling_async.scheduling._redis_scripts import SCRIPTS
from kling_async.scheduling._slots import (
    Adopter,
    LeaseClaim,
    SlotPool,
    SlotPoolUnavailableError,
)
from kling_async.scheduling._stats import AccountStats, PoolStats

__all__ = ["RedisSlotPool"]

logger = logging.getLogger("kling_async.redis")

_RECOVERING = -3
"""The pool's data was lost: no acquire until the live holders re-announced."""
_REANNOUNCE = -4
"""The pool's data was lost since this holder last looked: re-announce first."""


class RedisSlotPool(SlotPool):
    """Slots shared through Redis by every process using the same ``account``.

    ``is_shared`` is True: other processes free slots without waking this one.

    Args:
        url: Redis URL (``redis://host:6379/0``).
        account: namespace; processes sharing a Kling account use the same one.
        lease_ttl: seconds a lease lives without a heartbeat (Redis server time).
        heartbeat: seconds between heartbeats (default ``lease_ttl / 3``).
        ticket_ttl: seconds after which a holder that stopped asking loses its place.
        retry_interval: seconds between acquire retries while slots are taken.
        timeout: seconds a Redis connect or command may take before Redis counts as
            unreachable (a partitioned network must not stall releases for minutes).
        client: an existing ``redis.asyncio.Redis`` to use instead of ``url``.

    Example:
        >>> pool = RedisSlotPool("redis://localhost:6379/0", account="main")  # doctest: +SKIP
        >>> client = KlingClient(capacity={"video": 5}, slots=pool)              # doctest: +SKIP
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        account: str = "default",
        lease_ttl: float = 30.0,
        heartbeat: float | None = None,
        ticket_ttl: float = 2.0,
        retry_interval: float = 0.05,
        timeout: float = 5.0,
        client: Any = None,
    ) -> None:
        try:
            import redis.asyncio as redis_asyncio
            import redis.exceptions as redis_errors
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise MissingExtraError(
                "RedisSlotPool needs: pip install 'kling-async[redis]'"
            ) from exc
        if lease_ttl <= 0 or ticket_ttl <= 0:
            raise UsageError("lease_ttl and ticket_ttl must be > 0")
        # Connection-class failures (refused, reset, timeouts, "LOADING" after a restart)
        # mean "unavailable"; anything else is a real error.
        self._unavailable: tuple[type[BaseException], ...] = (
            OSError,
            TimeoutError,
            redis_errors.ConnectionError,
            redis_errors.TimeoutError,
        )
        self._redis_error: type[BaseException] = redis_errors.RedisError
        if timeout <= 0:
            raise UsageError("timeout must be > 0")
        self._redis = client or redis_asyncio.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._owns = client is None
        self.account = account
        self.prefix = f"kling:{account}:"
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease_ttl = lease_ttl
        self.heartbeat = heartbeat or lease_ttl / 3
        self.ticket_ttl = ticket_ttl
        self.is_shared = True
        self.retry_interval: float = retry_interval
        self._leases: dict[str, tuple[str, int, str, str]] = {}
        self._epoch = ""
        """The epoch of the pool's data this holder last saw ("" before its first call)."""
        self._pending_release: dict[str, str] = {}
        self._capacity: dict[str, int] = {}
        self.available = True
        self.adopted_here = 0
        self._snapshot: dict[str, Any] = {}
        # Releases, heartbeats and claims change ``_leases`` and the leases in Redis
        # together; run one at a time so a heartbeat never renews (re-creates) a lease
        # whose release is on its way, and a claim never hands back one being released.
        self._lock = asyncio.Lock()
        self._tomb_ms = int(max(60.0, 10 * lease_ttl) * 1000)
        self._scripts = {name: self._redis.register_script(body) for name, body in SCRIPTS.items()}

    def __repr__(self) -> str:
        return f"<RedisSlotPool account={self.account!r} holder={self.holder!r}>"

    async def _call(self, name: str, *args: Any) -> Any:
        """Run one Lua script; connection-class failures become SlotPoolUnavailableError."""
        return await self._guarded(self._scripts[name](args=list(args)))

    async def _guarded(self, command: Awaitable[Any]) -> Any:
        """Await one Redis command; connection-class failures mark Redis unavailable."""
        try:
            result = await command
        except self._unavailable as exc:
            self._down(exc)
            raise SlotPoolUnavailableError(f"Redis unreachable: {type(exc).__name__}") from None
        if not self.available:
            logger.warning("Redis is reachable again; dispatch resumes")
        self.available = True
        return result

    def _down(self, exc: BaseException) -> None:
        if self.available:
            logger.warning(
                "Redis unreachable (%s); no new creates until it returns", type(exc).__name__
            )
        self.available = False

    async def check(self) -> None:
        """Fail fast with a clear error when Redis cannot be reached."""
        try:
            await self._redis.ping()
        except Exception as exc:
            raise SlotPoolUnavailableError(
                f"cannot reach Redis for the slot pool ({type(exc).__name__}: {exc})"
            ) from None

    # -- SlotPool ---------------------------------------------------------------------

    async def try_acquire(
        self, slot_key: str, cost: int, external_task_id: str, family: str = ""
    ) -> bool:
        """Take slots under the shared capacity, in arrival order across processes.

        Idempotent for this holder: if an earlier acquire of ``external_task_id`` ran
        in Redis but its reply was lost, asking again returns True and counts the
        slots once.

        Raises:
            ExternalIdInUseError: another holder has a live lease for that id.
            SlotPoolUnavailableError: Redis cannot be reached.
        """
        pack, key = slot_key, external_task_id
        if key in self._pending_release:  # requeued while Redis was away: free it first
            async with self._lock:
                await self._flush_release(key)
        for _ in range(2):
            reply = await self._call(
                "acquire",
                self.prefix,
                pack,
                self.holder,
                key,
                cost,
                family,
                int(self.lease_ttl * 1000),
                int(self.ticket_ttl * 1000),
                self._epoch,
                secrets.token_hex(8),
            )
            result = int(reply[0])
            if result != _REANNOUNCE:
                self._epoch = str(reply[1])
                break
            # Redis lost its data: put this holder's live leases back first
            logger.warning(
                "the slot pool's data was lost; re-announcing %d lease(s)", len(self._leases)
            )
            async with self._lock:
                await self._renew()
        if result in (_RECOVERING, _REANNOUNCE):
            return False  # every live holder re-announces within one lease_ttl
        if result == -2:
            raise ExternalIdInUseError(
                f"external_task_id {key!r} already holds a lease in the shared slot pool "
                "(another process submitted the same id)",
                external_task_id=key,
            )
        if result == 1:
            self._leases[key] = (pack, cost, family, "")
        return result == 1

    async def adopt(
        self,
        slot_key: str,
        cost: int,
        external_task_id: str,
        family: str = "",
        task_id: str | None = None,
    ) -> None:
        """Count an existing task's slots (attach after a restart)."""
        pack, key = slot_key, external_task_id
        await self._call(
            "adopt",
            self.prefix,
            pack,
            self.holder,
            key,
            cost,
            family,
            task_id or "",
            int(self.lease_ttl * 1000),
        )
        self._leases[key] = (pack, cost, family, task_id or "")

    async def release(self, slot_key: str, external_task_id: str) -> int:
        """Free the id's slots; during an outage the release is retried later."""
        pack, key = slot_key, external_task_id
        async with self._lock:
            local = self._leases.pop(key, None)
            try:
                return int(await self._call("release", self.prefix, key, self._tomb_ms))
            except SlotPoolUnavailableError:
                if local is None:
                    return 0
                self._pending_release[key] = pack
                return local[1]

    async def note_task_id(self, slot_key: str, external_task_id: str, task_id: str) -> None:
        """Store the task id in the lease, so a survivor can find the task."""
        key = external_task_id
        if key in self._leases:
            lp, cost, family, _ = self._leases[key]
            self._leases[key] = (lp, cost, family, task_id)
        # During an outage the next heartbeat re-creates the lease with the task id.
        with contextlib.suppress(SlotPoolUnavailableError):
            await self._call("note", self.prefix, key, task_id)

    async def in_use(self, slot_key: str) -> int:
        """Slots held under ``slot_key`` by every holder."""
        value = await self._guarded(self._redis.get(self.prefix + f"used:{slot_key}"))
        return int(value or 0)

    async def capacity(self, slot_key: str) -> int | None:
        """The shared capacity of ``slot_key``."""
        value = await self._guarded(self._redis.get(self.prefix + f"cap:{slot_key}"))
        return None if value is None else int(value)

    async def set_capacity(self, slot_key: str, capacity: int) -> None:
        """Set the shared capacity of ``slot_key``."""
        if capacity < 1:
            raise UsageError("capacity must be >= 1")
        self._capacity[slot_key] = capacity
        await self._guarded(self._redis.set(self.prefix + f"cap:{slot_key}", capacity))

    async def maintain(self, adopt: Adopter) -> None:
        """Heartbeat, retry pending releases, restore capacities, adopt expired leases."""
        while True:
            try:
                await self._upkeep(adopt)
            except SlotPoolUnavailableError:
                pass
            except self._unavailable as exc:
                self._down(exc)
            except self._redis_error as exc:  # Redis refused a command: say so, go on
                logger.error("slot pool upkeep failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self.heartbeat if self.available else self.retry_interval * 4)

    async def _upkeep(self, adopt: Adopter) -> None:
        async with self._lock:
            for key in list(self._pending_release):
                await self._flush_release(key)
            for pack, capacity in self._capacity.items():
                await self._redis.set(self.prefix + f"cap:{pack}", capacity, nx=True)
            await self._renew()
            found = await self._call(
                "claim", self.prefix, self.holder, int(self.lease_ttl * 1000), 100
            )
            claims = []
            for i in range(0, len(found or []), 5):
                key, pack, cost, family, task_id = found[i : i + 5]
                self._leases[key] = (pack, int(cost), family, task_id or "")
                self.adopted_here += 1
                claims.append(LeaseClaim(key, pack, int(cost), family, task_id or None))
        for claim in claims:  # outside the lock: adopting may release the lease
            logger.info(
                "adopted lease %s (%s, task %s) from a dead holder",
                claim.external_task_id,
                claim.slot_key,
                claim.task_id,
            )
            await adopt(claim)  # its faults come back as a forgotten lease, retried later
        self._snapshot = await self.snapshot()

    async def _renew(self) -> None:
        """Heartbeat: renew this holder's leases, re-create those Redis lost (call
        with the lock held)."""
        args: list[Any] = [
            self.prefix,
            self.holder,
            int(self.lease_ttl * 1000),
            self._epoch,
            secrets.token_hex(8),
        ]
        for key, (pack, cost, family, task_id) in self._leases.items():
            args += [key, pack, cost, family, task_id]
        reply = await self._call("renew", *args)
        self._epoch = str(reply[0])
        for key in reply[1:]:
            self._leases.pop(key, None)  # released elsewhere, or another holder took it

    async def _flush_release(self, key: str) -> None:
        """Send a release queued during an outage (call with the lock held)."""
        if key in self._pending_release:
            await self._call("release", self.prefix, key, self._tomb_ms)
            del self._pending_release[key]

    def forget(self, external_task_id: str) -> None:
        """Stop renewing the id's lease (its adoption failed; it will expire and be
        retried)."""
        self._leases.pop(external_task_id, None)

    def stats(self) -> PoolStats:
        """This holder's figures plus the account-wide picture from the last heartbeat
        (slots in use per pack, live holders, leases, adopted leases); see
        :meth:`snapshot` for a fresh read."""
        return PoolStats(
            shared=True,
            available=self.available,
            holder=self.holder,
            leases_here=len(self._leases),
            adopted_here=self.adopted_here,
            account=AccountStats.from_snapshot(self._snapshot) if self._snapshot else None,
        )

    async def snapshot(self) -> dict[str, Any]:
        """Account-wide picture from Redis: slots in use, capacity, live holders, adopted."""
        r = self._redis
        packs = {}
        for pack in ("video", "image", "try_on"):
            used, cap = (
                await r.get(self.prefix + f"used:{pack}"),
                await r.get(self.prefix + f"cap:{pack}"),
            )
            packs[pack] = {"in_use": int(used or 0), "capacity": None if cap is None else int(cap)}
        now_s, now_us = await r.time()
        now_ms = int(now_s) * 1000 + int(now_us) // 1000
        live = await r.zrangebyscore(
            self.prefix + "holders", now_ms - int(self.lease_ttl * 1000), "+inf"
        )
        return {
            "packs": packs,
            "holders": list(live),
            "leases": await r.zcard(self.prefix + "leases"),
            "adopted": int(await r.get(self.prefix + "adopted") or 0),
        }

    async def aclose(self) -> None:
        """Close the Redis connection if this pool opened it."""
        if self._owns:
            await self._redis.aclose()
