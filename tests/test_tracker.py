"""The tracker: when it polls (pure planning, fake clock) and how (fake backend)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from kling_async import ServerError, Task, TextToVideo
from kling_async._config import PollPolicy
from kling_async.endpoints import FAMILIES, Family
from kling_async.tracking import Tracker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeBackend:
    """Tasks by id; list pages newest first; optional failures."""

    has_api_key = False

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.calls: list[tuple[str, Any]] = []
        self.fail_next = 0

    def add(self, task_id: str, status: str = "processing") -> None:
        self.tasks[task_id] = {
            "task_id": task_id,
            "task_status": status,
            "created_at": 1_000_000,
            "updated_at": 1_100_000,
        }
        self.order.append(task_id)

    def finish(self, task_id: str) -> None:
        self.tasks[task_id]["task_status"] = "succeed"

    async def send(self, *a: Any, **k: Any) -> Task:  # pragma: no cover - unused
        raise NotImplementedError

    async def get_task(
        self,
        family_name: str | Family,
        *,
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> Task:
        self.calls.append(("get", task_id))
        return Task.model_validate(self.tasks[task_id or ""])

    async def list_page_raw(
        self, family_name: str | Family, *, page: int = 1, page_size: int = 500
    ) -> list[Mapping[str, Any]]:
        self.calls.append(("list", (page, page_size)))
        if self.fail_next:
            self.fail_next -= 1
            raise ServerError("boom", http_status=500, code=5000)
        newest = self.order[::-1][(page - 1) * page_size : page * page_size]
        return [self.tasks[t] for t in newest]


@dataclass(frozen=True)
class Followed:
    """What the tracker follows: it needs only these three (no scheduler record)."""

    family: str
    task_id: str
    external_task_id: str


PAYLOAD = TextToVideo(prompt="p").payload()


def follow(
    tracker: Tracker[Followed], task_id: str, created: float, last_seen: float | None = None
) -> Followed:
    item = Followed("text2video", task_id, f"e{task_id}")
    tracker.track(item, payload=PAYLOAD, created_at=created, last_seen=last_seen)
    return item


def planner(poll: PollPolicy, clock: Clock) -> tuple[Tracker[Followed], list[Any]]:
    spawned: list[Any] = []

    async def on_task(handle: Followed, task: Task) -> None:
        return None

    def spawn(fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        spawned.append(fn)

    return Tracker(FakeBackend(), poll, on_task=on_task, spawn=spawn, clock=clock), spawned


POLICY = PollPolicy(min_interval=1, max_interval=10_000)


async def test_first_poll_waits_for_the_prior_distribution() -> None:
    """One text2video task (prior uniform 60..580 s) is first polled when P(done) = 0.4."""
    clock = Clock()
    tracker, _ = planner(POLICY, clock)
    follow(tracker, "1", clock.now)
    assert tracker.next_poll_time("text2video", clock.now) == pytest.approx(
        clock.now + 60 + 0.4 * 520, abs=0.01
    )


async def test_more_tasks_in_flight_share_earlier_polls() -> None:
    """Ten tasks: the threshold is 0.07*10 = 0.7 completions, reached much sooner."""
    clock = Clock()
    tracker, _ = planner(POLICY, clock)
    for i in range(10):
        follow(tracker, str(i), clock.now)
    assert tracker.next_poll_time("text2video", clock.now) == pytest.approx(
        clock.now + 60 + 0.07 * 520, abs=0.01
    )


async def test_learned_durations_replace_the_prior() -> None:
    """After five ~100 s observations, a new task is polled close to 100 s."""
    clock = Clock()
    tracker, _ = planner(POLICY, clock)
    key = FAMILIES["text2video"].strategy.duration_key(
        "text2video", TextToVideo(prompt="p").payload()
    )
    for seconds in (96, 98, 100, 102, 104):
        tracker.estimator.observe(key, seconds)
    follow(tracker, "1", clock.now)
    when = tracker.next_poll_time("text2video", clock.now) - clock.now
    assert 97 < when < 100


async def test_overdue_tasks_are_polled_at_a_steady_pace() -> None:
    """A task older than anything observed is polled every ~overdue_fraction*typical/..."""
    clock = Clock()
    tracker, _ = planner(POLICY, clock)
    key = FAMILIES["text2video"].strategy.duration_key(
        "text2video", TextToVideo(prompt="p").payload()
    )
    for seconds in (100, 100, 100, 100, 100):
        tracker.estimator.observe(key, seconds)
    follow(tracker, "1", clock.now - 500, last_seen=clock.now)
    # threshold 0.4 of a step of 0.1 * 100 s -> 4 s after last seen
    assert tracker.next_poll_time("text2video", clock.now) == pytest.approx(clock.now + 4.0)


async def test_min_and_max_interval_bound_the_plan() -> None:
    """Polls are never closer than min_interval nor further apart than max_interval."""
    clock = Clock()
    tracker, _ = planner(PollPolicy(min_interval=5, max_interval=20), clock)
    follow(tracker, "1", clock.now)
    assert tracker.next_poll_time("text2video", clock.now) == clock.now + 20
    tracker._last_poll["text2video"] = clock.now
    follow(tracker, "2", clock.now - 10_000)  # surely done by now
    assert tracker.next_poll_time("text2video", clock.now) == clock.now + 5


def _loop_tracker(
    backend: FakeBackend, seen: list[tuple[str, str]], poll: PollPolicy | None = None
) -> tuple[Tracker[Followed], list[asyncio.Task[None]]]:
    jobs: list[asyncio.Task[None]] = []
    tracker: Tracker[Followed]

    async def on_task(handle: Followed, task: Task) -> None:
        seen.append((task.task_id, task.task_status.value))
        if task.is_terminal:
            tracker.untrack(handle)

    def spawn(fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        jobs.append(asyncio.ensure_future(fn()))

    tracker = Tracker(
        backend,
        poll or PollPolicy(min_interval=0.001, max_interval=0.005, time_scale=1e-6),
        on_task=on_task,
        spawn=spawn,
    )
    return tracker, jobs


async def test_one_task_uses_single_queries_many_use_the_list() -> None:
    """A lone task is queried by id; several share list requests; the loop then stops."""
    backend = FakeBackend()
    seen: list[tuple[str, str]] = []
    tracker, jobs = _loop_tracker(backend, seen)
    backend.add("solo", "succeed")
    follow(tracker, "solo", asyncio.get_running_loop().time())
    await asyncio.gather(*jobs)
    assert [c[0] for c in backend.calls] == ["get"]
    for i in range(5):
        backend.add(str(i), "succeed")
        follow(tracker, str(i), 0.0)
    await asyncio.gather(*jobs)
    assert [c[0] for c in backend.calls[1:]] == ["list"]
    assert backend.calls[1][1] == (1, 50)  # page sized to what is tracked
    assert sorted(t for t, s in seen if s == "succeed") == ["0", "1", "2", "3", "4", "solo"]
    assert tracker.in_flight == 0 and not tracker._running


async def test_tasks_beyond_the_first_page_are_found() -> None:
    """When tracked tasks sit deeper in the list, further pages (then single queries) reach them."""
    backend = FakeBackend()
    seen: list[tuple[str, str]] = []
    tracker, jobs = _loop_tracker(
        backend,
        seen,
        PollPolicy(min_interval=0.001, max_interval=0.005, time_scale=1e-6, max_list_pages=2),
    )
    for i in range(300):
        backend.add(str(i), "succeed")
    for task_id in ("0", "1", "299"):  # 0 and 1 are the oldest: pages of 50 miss them
        follow(tracker, task_id, 0.0)
    await asyncio.gather(*jobs)
    kinds = [c[0] for c in backend.calls]
    assert kinds == ["list", "list", "get", "get"]
    assert {t for t, _ in seen} == {"0", "1", "299"}


async def test_failed_polls_are_retried() -> None:
    """A poll that fails after the transport's retries is tried again later."""
    backend = FakeBackend()
    backend.fail_next = 2
    seen: list[tuple[str, str]] = []
    tracker, jobs = _loop_tracker(backend, seen)
    for i in range(3):
        backend.add(str(i), "succeed")
        follow(tracker, str(i), 0.0)
    await asyncio.gather(*jobs)
    assert tracker.failed_polls == 2 and len(seen) == 3


async def test_non_terminal_states_are_reported_until_the_end() -> None:
    """Processing is reported; tracking continues until succeed."""
    backend = FakeBackend()
    seen: list[tuple[str, str]] = []
    tracker, jobs = _loop_tracker(backend, seen)
    backend.add("a", "processing")
    follow(tracker, "a", 0.0)
    while not seen:
        await asyncio.sleep(0.001)
    backend.finish("a")
    await asyncio.gather(*jobs)
    assert seen[0] == ("a", "processing") and seen[-1] == ("a", "succeed")


class GatedBackend(FakeBackend):
    """Holds each list request until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def list_page_raw(
        self, family_name: str | Family, *, page: int = 1, page_size: int = 500
    ) -> list[Mapping[str, Any]]:
        answer = [
            dict(t)
            for t in await super().list_page_raw(family_name, page=page, page_size=page_size)
        ]  # the states as they were when the answer left
        self.entered.set()
        await self.gate.wait()
        return answer


async def test_a_confirmation_asked_during_a_round_gets_the_next_round() -> None:
    """An unsigned callback arriving while a confirming query is out (its answer taken
    before the task ended) is not dropped: the next round asks again and resolves it."""
    backend = GatedBackend()
    seen: list[tuple[str, str]] = []
    poll = PollPolicy(min_interval=0.001, max_interval=10_000)  # safety net: minutes away
    tracker, jobs = _loop_tracker(backend, seen, poll)
    tracker.callbacks = True  # polls only at the safety net, hours away
    records = []
    for task_id in ("a", "b"):
        backend.add(task_id, "processing")
        record = follow(tracker, task_id, asyncio.get_running_loop().time())
        records.append(record)
    backend.finish("a")
    tracker.confirm(records[0])
    await asyncio.wait_for(backend.entered.wait(), 5)
    backend.finish("b")  # b ends after the list answer was read...
    tracker.confirm(records[1])  # ...and its callback arrives during the round
    backend.gate.set()
    await asyncio.wait_for(asyncio.gather(*jobs), 5)
    assert ("a", "succeed") in seen and ("b", "succeed") in seen
    assert tracker.in_flight == 0
