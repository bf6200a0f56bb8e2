"""The per-pack scheduling core: a plain state machine with no I/O and no clock.

Every method takes ``now`` (seconds, any monotonic origin), so tests drive it with
a fake clock. It decides *which* queued submission goes next and *when* the pack
may dispatch; the slot pool decides whether the slots are really free.

Queue order is priority (higher first), then FIFO (submission sequence). Items
are kept in one heap per slot cost, so the head and the best *fitting* item are
both found in O(distinct costs · log n). The heaps hold plain integer keys
(priority and sequence folded into one int, see :func:`order_key`) and a dict maps
each key to its item: no tuple per queued item for the garbage collector to scan.

Image packing uses bounded backfill: while
the head does not fit, smaller items may use the free slots, until the head has
waited ``max_backfill_wait`` seconds; then smaller items are held back so slots
drain until the head fits.
"""

from __future__ import annotations

import heapq
import random
from typing import Generic, Protocol, TypeVar

from kling_async._config import BackoffPolicy, LearnPolicy
from kling_async.errors import InternalError, UsageError
from kling_async.wire._retry import backoff_delay

__all__ = ["PackCore", "Queued"]


class Queued(Protocol):
    """What the core reads of a queued submission (it never writes one)."""

    @property
    def cost(self) -> int:
        """Slots it needs."""
        ...

    @property
    def priority(self) -> int:
        """Higher goes first."""
        ...

    @property
    def seq(self) -> int:
        """FIFO order among equal priorities (unique among queued items)."""
        ...

    @property
    def deadline(self) -> float | None:
        """When it expires unspent (core clock), if ever."""
        ...


T = TypeVar("T", bound=Queued)


_SEQ_SPAN = 1 << 63


def order_key(priority: int, seq: int) -> int:
    """One int that sorts like ``(-priority, seq)`` (``0 <= seq < 2**63``)."""
    return seq - priority * _SEQ_SPAN


def pause_delay(
    refusals: int, policy: BackoffPolicy, retry_after: float | None, rng: random.Random
) -> float:
    """Pause after the ``refusals``-th refusal in a row (0-based).

    ``initial + uniform(0, min(max_delay, initial * 2**refusals) - initial)``; a
    ``retry_after`` from the server wins, capped at ``max_retry_after`` (but never
    below ``initial``: Kling asks for at least that much after 1303).
    """
    if retry_after is not None:
        return max(policy.initial, min(retry_after, policy.max_retry_after))
    return backoff_delay(
        refusals, initial=policy.initial, cap=policy.max_delay, floor=policy.initial, rng=rng
    )


class PackCore(Generic[T]):
    """Queue, backoff and capacity of one resource pack (generic over its queued item).

    Args:
        capacity: the configured capacity, or None to learn it.
        backoff: pauses after 1302/1303.
        learn: how an unknown capacity is learned.
        max_backfill_wait: seconds a blocked head lets smaller items pass it.
        rng: jitter source (seed it in tests).
    """

    def __init__(
        self,
        name: str,
        *,
        capacity: int | None,
        backoff: BackoffPolicy,
        learn: LearnPolicy,
        max_backfill_wait: float,
        rng: random.Random | None = None,
    ) -> None:
        if capacity is not None and capacity < 1:
            raise UsageError(f"capacity of pack {name!r} must be >= 1, got {capacity}")
        self.name = name
        self.configured = capacity
        self._learned = learn.initial
        self.backoff = backoff
        self.learn = learn
        self.max_backfill_wait = max_backfill_wait
        self.rng = rng or random.Random()
        self._buckets: dict[int, list[int]] = {}
        self._items: dict[int, T] = {}
        self._deadlines: list[tuple[float, int, T]] = []
        self.queued = 0
        self.in_use = 0
        self._paused_until = float("-inf")
        self.refusals = 0
        self._blocked: T | None = None
        self._blocked_since = 0.0
        self._successes_since_cut = 0
        self._probe_after = learn.probe_after
        self._last_cut: float | None = None
        self._grow_credit = 0
        self.created = 0
        self.count_1302 = 0
        self.count_1303 = 0
        self.count_unreachable = 0

    # -- capacity -----------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """The capacity in force: configured, or learned so far."""
        return self.configured if self.configured is not None else self._learned

    @property
    def is_learned(self) -> bool:
        """True when the capacity is being learned rather than configured."""
        return self.configured is None

    def share_learned(self, shared: int) -> None:
        """Take the learned capacity every user of a shared slot pool agreed on."""
        if self.configured is None:
            self._learned = shared

    @property
    def paused_until(self) -> float:
        """When the pause after a refusal ends (core clock; -inf: not paused)."""
        return self._paused_until

    def wake_by(self, when: float) -> None:
        """Shorten the pause so the pack looks again by ``when`` (e.g. when an
        unreachable window runs out)."""
        self._paused_until = min(self._paused_until, when)

    # -- queue ----------------------------------------------------------------------

    def push(self, item: T) -> None:
        """Queue ``item`` (its ``seq``, unique among queued items, fixes its FIFO
        place; re-pushing keeps it)."""
        key = order_key(item.priority, item.seq)
        if key in self._items:
            raise InternalError("item is already queued")
        self._items[key] = item
        heapq.heappush(self._buckets.setdefault(item.cost, []), key)
        if item.deadline is not None:
            heapq.heappush(self._deadlines, (item.deadline, item.seq, item))
        self.queued += 1

    def is_queued(self, item: T) -> bool:
        """True while ``item`` waits in this core's queue."""
        return self._items.get(order_key(item.priority, item.seq)) is item

    def remove(self, item: T) -> bool:
        """Take a queued ``item`` out (its heap entry is dropped lazily); False if it
        was not queued."""
        key = order_key(item.priority, item.seq)
        if self._items.get(key) is not item:
            return False
        del self._items[key]
        self.queued -= 1
        if self._blocked is item:
            self._blocked = None
        return True

    def _top(self, bucket: list[int]) -> int | None:
        # Keys of removed items are dropped lazily. A removed item pushed again
        # before its old key was dropped has that key twice: the first is used, the
        # second finds no queued item and is dropped then.
        items = self._items
        while bucket:
            key = bucket[0]
            if key in items:
                return key
            heapq.heappop(bucket)
        return None

    def _best(self, max_cost: int | None) -> T | None:
        best: int | None = None
        for cost, bucket in self._buckets.items():
            if max_cost is not None and cost > max_cost:
                continue
            top = self._top(bucket)
            if top is not None and (best is None or top < best):
                best = top
        return None if best is None else self._items[best]

    def head(self) -> T | None:
        """The next item by priority then FIFO, or None when the queue is empty."""
        return self._best(None)

    def _take(self, item: T) -> T:
        bucket = self._buckets[item.cost]
        key = self._top(bucket)
        assert key is not None and self._items[key] is item
        heapq.heappop(bucket)
        del self._items[key]
        self.queued -= 1
        return item

    def expire(self, now: float) -> list[T]:
        """Remove and return queued items whose deadline has passed."""
        expired: list[T] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, item = heapq.heappop(self._deadlines)
            if self.remove(item):
                expired.append(item)
        return expired

    def clear(self) -> list[T]:
        """Remove and return every queued item (priority, then FIFO order)."""
        items = []
        while (head := self.head()) is not None:
            items.append(self._take(head))
        self._deadlines.clear()
        self._buckets.clear()
        self._items.clear()
        return items

    def pick(self, now: float, free: int) -> T | None:
        """Choose the item to dispatch with ``free`` slots, and dequeue it.

        None when the pack is paused, the queue is empty, or nothing may go now.
        """
        if now < self._paused_until:
            return None
        head = self.head()
        if head is None:
            return None
        if head.cost <= free:
            self._blocked = None
            return self._take(head)
        if self._blocked is not head:
            self._blocked, self._blocked_since = head, now
        if now - self._blocked_since >= self.max_backfill_wait:
            return None  # hold smaller items back until the head fits
        fitting = self._best(free)
        return self._take(fitting) if fitting is not None else None

    def next_wakeup(self, now: float) -> float | None:
        """When something time-based may change: end of a pause, or a deadline."""
        times = []
        if now < self._paused_until and self.queued:
            times.append(self._paused_until)
        while self._deadlines and not self.is_queued(self._deadlines[0][2]):
            heapq.heappop(self._deadlines)
        if self._deadlines:
            times.append(self._deadlines[0][0])
        return min(times) if times else None

    # -- outcomes -------------------------------------------------------------------

    def on_acquired(self, cost: int) -> None:
        """``cost`` slots were taken for a create."""
        self.in_use += cost

    def on_released(self, cost: int) -> None:
        """``cost`` slots were given back (task ended, or its create definitely failed)."""
        self.in_use -= cost
        if self.in_use < 0:
            raise InternalError(f"pack {self.name}: released more slots than held")

    def on_created(self, now: float) -> None:
        """A create succeeded; resets backoff and may grow a learned capacity."""
        self.created += 1
        self.refusals = 0
        if self.configured is not None:
            return
        self._successes_since_cut += 1
        if self.in_use > self._learned:
            self._learned = self.in_use  # a probe past the estimate was accepted
            return
        if self.in_use < self._learned:
            return  # not limited by our own estimate: no evidence more would fit
        if self._last_cut is None:
            self._grow_credit += 1
            if self._grow_credit >= self.learn.grow_after:
                self._grow_credit = 0
                self._learned += 1
        elif (
            self._successes_since_cut >= self._probe_after
            and now - self._last_cut >= self.learn.probe_interval
        ):
            self._learned += 1  # probe: one more slot than the last cut allowed
            self._successes_since_cut = 0

    def on_concurrency_refused(self, now: float, retry_after: float | None = None) -> float:
        """A create got 1303: cut a learned capacity, pause the pack. Returns the pause."""
        self.count_1303 += 1
        if self.configured is None:
            if self._last_cut is not None:
                self._probe_after = min(self.learn.max_probe_after, self._probe_after * 2)
            self._learned = max(1, min(self._learned, self.in_use))
            self._last_cut = now
            self._successes_since_cut = 0
            self._grow_credit = 0
        return self._pause(now, retry_after)

    def on_rate_limited(self, now: float, retry_after: float | None = None) -> float:
        """A create got 1302 (or could not be sent): pause the pack. Returns the pause."""
        self.count_1302 += 1
        return self._pause(now, retry_after)

    def on_unreachable(self, now: float) -> float:
        """A create provably never left (network down): pause like a refusal."""
        self.count_unreachable += 1
        return self._pause(now, None)

    def _pause(self, now: float, retry_after: float | None) -> float:
        delay = pause_delay(self.refusals, self.backoff, retry_after, self.rng)
        if now >= self._paused_until:
            self.refusals += 1  # one burst of refusals counts once
        self._paused_until = max(self._paused_until, now + delay)
        return delay

    def __repr__(self) -> str:
        kind = "learned" if self.is_learned else "given"
        return (
            f"<PackCore {self.name} {self.in_use}/{self.capacity} ({kind}) "
            f"queued={self.queued} created={self.created} 1303={self.count_1303}>"
        )
