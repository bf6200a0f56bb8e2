"""The tracker: one poll loop per family for every task in flight.

Per family, the loop sleeps until the expected number of tasks that finished
since they were last seen reaches ``PollPolicy.expected_completions`` (from the
learned duration distributions), within ``[min_interval, max_interval]``, then runs
one round of queries (``_queries.Queries``: the family's list, ``GET /tasks`` or
single queries) and reports every task state seen. The loop ends when the family has
nothing in flight. It follows anything :class:`Tracked` (a family, a task id, an
external id) and keeps its own notes on each; it never imports the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping
from typing import Any, Generic

from kling_async._clock import wait_event
from kling_async._config import PollPolicy
from kling_async.endpoints import family as family_of
from kling_async.errors import KlingError
from kling_async.models import Task
from kling_async.tracking._backend import Backend
from kling_async.tracking._estimator import DurationEstimator
from kling_async.tracking._queries import Queries, T, Tracked
from kling_async.tracking._stats import TrackerStats
from kling_async.wire._retry import backoff_delay

__all__ = ["Tracked", "Tracker"]

logger = logging.getLogger("kling_async.tracker")

_OVERDUE_CDF = 0.999
_SEARCH_STEPS = 24


class _Entry:
    """The tracker's own notes on one followed task."""

    __slots__ = ("created_at", "key", "last_seen")

    def __init__(self, key: tuple[Hashable, ...], created_at: float, last_seen: float) -> None:
        self.key = key
        self.created_at = created_at
        self.last_seen = last_seen


class Tracker(Generic[T]):
    """Polls Kling for tracked tasks and reports what it sees.

    Owns: which tasks are followed (with its own notes on each: when it started,
    when it was last seen, what its duration is learned under), the duration
    estimates, when to poll and the query rate cap. It never changes what it
    follows: it reports every task state it sees through ``on_task``, and each
    poll round's failure or success through ``on_poll``; its owner decides.

    Args:
        backend: issues the queries (the low-level task calls, or a fake).
        poll: the polling policy.
        on_task: called with (item, task) for every task state seen.
        spawn: starts a coroutine in the owner's task group.
        clock: monotonic seconds.
        callbacks: True when a callback route feeds the client: polling becomes a
            safety net for lost deliveries.
        share: this process's share of the account's tasks of a family (a shared
            slot pool); polls are spaced so that all processes together poll as one.
        on_poll: told of each failed poll round (the error), and with None when a
            round answers again after failures (the owner's stop rules decide when
            failing polls mean Kling is gone).
        rng: jitter source of the pause after a failed round.

    A poll round that fails with a :class:`~kling_async.KlingError` (Kling or the
    network) is tried again after a backoff; any other exception is a bug and ends
    the loop, and with it the owner's task group (nothing is swallowed).
    """

    def __init__(
        self,
        backend: Backend,
        poll: PollPolicy,
        *,
        on_task: Callable[[T, Task], Awaitable[None]],
        spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
        clock: Callable[[], float] = time.monotonic,
        callbacks: bool = False,
        share: Callable[[str], float] | None = None,
        on_poll: Callable[[BaseException | None], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.backend = backend
        self.poll = poll
        self.on_task = on_task
        self.spawn = spawn
        self.clock = clock
        self.estimator = DurationEstimator(time_scale=poll.time_scale)
        self._queries: Queries[T] = Queries(backend, poll)
        self.share: Callable[[str], float] = share or (lambda family: 1.0)
        self.callbacks = callbacks
        self.on_poll = on_poll
        self._rng = rng or random.Random()
        self._by_id: dict[str, T] = {}
        self._confirm: dict[str, set[T]] = {}
        self._tracked: dict[str, dict[T, _Entry]] = {}
        self._running: set[str] = set()
        self._wake: dict[str, asyncio.Event] = {}
        self._last_poll: dict[str, float] = {}
        self._not_before: dict[str, float] = {}
        self.failed_polls = 0
        self._failing_since: float | None = None
        self._last_error = ""

    # -- membership ---------------------------------------------------------------

    def track(
        self,
        item: T,
        *,
        payload: Mapping[str, Any] | None = None,
        created_at: float | None = None,
        last_seen: float | None = None,
    ) -> None:
        """Start following ``item`` (it must have a ``task_id``).

        ``payload`` is the body it was created with (its duration is learned under
        what the family's API design reads there); ``created_at`` when it started
        (tracker clock; default now), ``last_seen`` when its state was last known
        (default ``created_at``).
        """
        fam = family_of(item.family)
        started = self.clock() if created_at is None else created_at
        entry = _Entry(
            fam.strategy.duration_key(fam.name, payload),
            started,
            started if last_seen is None else last_seen,
        )
        self._tracked.setdefault(item.family, {})[item] = entry
        if item.task_id is not None:
            self._by_id[item.task_id] = item
        self._wake.setdefault(item.family, asyncio.Event()).set()
        if item.family not in self._running:
            self._running.add(item.family)
            family = item.family
            self.spawn(lambda: self._run(family))

    def untrack(self, item: T) -> None:
        """Stop following ``item``."""
        self._tracked.get(item.family, {}).pop(item, None)
        self._confirm.get(item.family, set()).discard(item)
        if item.task_id is not None and self._by_id.get(item.task_id) is item:
            del self._by_id[item.task_id]

    def items(self) -> list[T]:
        """Everything followed now, all families."""
        return [item for tasks in self._tracked.values() for item in tasks]

    def by_task_id(self, task_id: str) -> T | None:
        """The followed item of ``task_id``, if any."""
        return self._by_id.get(task_id)

    def confirm(self, item: T) -> None:
        """Query ``item`` soon (an unsigned callback said it ended); batched per family."""
        if self.is_tracked(item):
            self._confirm.setdefault(item.family, set()).add(item)
            self.nudge(item.family)

    def is_tracked(self, item: T) -> bool:
        """True while ``item`` is followed."""
        return item in self._tracked.get(item.family, {})

    def observe_end(self, item: T, task: Task) -> None:
        """Learn the duration of a finished task from Kling's timestamps."""
        entry = self._tracked.get(item.family, {}).get(item)
        if entry is None:
            return
        if task.created_at is not None and task.updated_at is not None:
            seconds = (task.updated_at - task.created_at) / 1000
        else:
            seconds = self.clock() - entry.created_at
        self.estimator.observe(entry.key, seconds)

    def nudge(self, family: str) -> None:
        """Make ``family``'s loop re-plan at once (e.g. after a callback hint)."""
        event = self._wake.get(family)
        if event is not None:
            event.set()

    @property
    def in_flight(self) -> int:
        """Tasks being followed, all families."""
        return sum(len(tasks) for tasks in self._tracked.values())

    def stats(self) -> TrackerStats:
        """Requests made and tasks followed per family."""
        return TrackerStats(
            tracked={f: len(t) for f, t in self._tracked.items() if t},
            list_requests=self._queries.list_requests,
            single_requests=self._queries.single_requests,
            tasks_requests=self._queries.tasks_requests,
            failed_polls=self.failed_polls,
            callbacks=self.callbacks,
            failing_for=0.0 if self._failing_since is None else self.clock() - self._failing_since,
            last_error=self._last_error if self._failing_since is not None else "",
        )

    # -- planning -------------------------------------------------------------------

    def expected_completions(self, family: str, t: float) -> float:
        """Expected number of ``family``'s tracked tasks finished between last seen and ``t``."""
        total = 0.0
        poll = self.poll
        for entry in self._tracked.get(family, {}).values():
            key, seen = entry.key, entry.last_seen
            base = self.estimator.cdf(key, seen - entry.created_at)
            if base >= _OVERDUE_CDF:
                step = max(poll.min_interval, poll.overdue_fraction * self.estimator.typical(key))
                total += min(1.0, (t - seen) / step)
            else:
                done = self.estimator.cdf(key, t - entry.created_at)
                total += (done - base) / (1.0 - base)
        return total

    def next_poll_time(self, family: str, now: float) -> float:
        """When ``family`` should be polled next (may be ``now``)."""
        tasks = self._tracked.get(family)
        if not tasks:
            return float("inf")
        poll = self.poll
        min_gap = poll.min_interval
        max_gap = poll.max_interval * (poll.callback_slowdown if self.callbacks else 1.0)
        last = self._last_poll.get(family)
        low = now if last is None else max(now, last + min_gap)
        low = max(low, self._not_before.get(family, now))
        if self._confirm.get(family):
            return low  # unsigned terminal callbacks wait for this (batched) query
        if self.callbacks:
            return self._safety_net_time(family, low, max_gap)
        oldest_seen = min(entry.last_seen for entry in tasks.values())
        high = max(low, oldest_seen + max_gap)
        # With a shared pool, each process tracks only its share of the account's tasks:
        # scale the threshold so that together they poll as one process would.
        share = min(1.0, max(0.05, self.share(family)))
        account_tasks = len(tasks) / share
        target = max(poll.expected_completions, poll.per_task_completions * account_tasks) * share
        if self.expected_completions(family, low) >= target:
            return low
        if self.expected_completions(family, high) < target:
            return high
        for _ in range(_SEARCH_STEPS):
            mid = (low + high) / 2
            if self.expected_completions(family, mid) >= target:
                high = mid
            else:
                low = mid
        return high

    def _safety_net_time(self, family: str, low: float, max_gap: float) -> float:
        """With callbacks: poll only tasks overdue past the longest duration seen.

        A task whose callback arrives is resolved by it; one still unresolved after
        the longest learned duration plus a grace period may have lost its callback.
        """
        tasks = self._tracked[family]
        due = min(entry.last_seen for entry in tasks.values()) + max_gap
        for entry in tasks.values():
            key = entry.key
            step = max(
                self.poll.min_interval, self.poll.overdue_fraction * self.estimator.typical(key)
            )
            late = entry.created_at + self.estimator.high(key) + step
            if entry.last_seen >= late:
                late = entry.last_seen + step
            due = min(due, late)
        return max(low, due)

    # -- the loop ------------------------------------------------------------------------

    async def _run(self, family: str) -> None:
        wake = self._wake.setdefault(family, asyncio.Event())
        failures = 0
        try:
            while self._tracked.get(family):
                now = self.clock()
                when = self.next_poll_time(family, now)
                if when > now:
                    wake.clear()
                    await wait_event(wake, when - now)
                    continue
                self._last_poll[family] = now
                try:
                    await self._poll(family, now)
                except KlingError as error:  # Kling or the network: ask again later
                    failures += 1
                    self.failed_polls += 1
                    if self._failing_since is None:
                        self._failing_since = now
                    self._last_error = f"{type(error).__name__}: {error}"
                    delay = backoff_delay(
                        failures - 1,
                        initial=self.poll.min_interval,
                        cap=self.poll.max_interval,
                        floor=self.poll.min_interval,
                        rng=self._rng,
                    )
                    self._not_before[family] = self.clock() + delay
                    logger.warning(
                        "polling %s failed (%s); next try in %.2fs",
                        family,
                        type(error).__name__,
                        delay,
                    )
                    if self.on_poll is not None:
                        self.on_poll(error)
                    continue
                failures = 0
                if self._failing_since is not None:
                    self._failing_since = None
                    if self.on_poll is not None:
                        self.on_poll(None)
        finally:
            self._running.discard(family)

    async def _poll(self, family: str, started: float) -> None:
        tasks = self._tracked.get(family, {})
        records = [item for item in tasks if item.task_id is not None]
        if not records:
            return
        fam = family_of(family)
        # Confirmations asked for from here on wait for the next round: this round's
        # answers may predate their callbacks. A failed round keeps them.
        confirming = self._confirm.pop(family, None)
        try:
            seen = await self._queries.round(fam, records, self.is_tracked)
        except BaseException:
            if confirming:
                self._confirm.setdefault(family, set()).update(confirming)
            raise
        for record in records:
            task = seen.get(record.task_id or "")
            entry = tasks.get(record)
            if task is not None and entry is not None and self.is_tracked(record):
                entry.last_seen = started
                await self.on_task(record, task)
