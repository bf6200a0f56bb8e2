"""The per-pack scheduling core as a state machine: fake clock, no event loop."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kling_async._config import BackoffPolicy, LearnPolicy
from kling_async.scheduling._pack import PackCore, order_key, pause_delay


@dataclass(eq=False)
class Item:
    cost: int
    priority: int = 0
    seq: int = 0
    deadline: float | None = None
    in_queue: bool = False
    name: str = ""


_counter = iter(range(10**9))


def item(cost: int = 1, priority: int = 0, deadline: float | None = None, name: str = "") -> Item:
    return Item(cost=cost, priority=priority, seq=next(_counter), deadline=deadline, name=name)


def core(capacity: int | None = 4, *, wait: float = 10.0, **learn: int | float) -> PackCore:
    return PackCore(
        "image",
        capacity=capacity,
        backoff=BackoffPolicy(initial=1.0, max_delay=8.0, max_retry_after=20.0),
        learn=LearnPolicy(**learn),  # type: ignore[arg-type]
        max_backfill_wait=wait,
        rng=random.Random(0),
    )


def test_priority_first_then_fifo() -> None:
    """Higher priority goes first; equal priorities keep submission order."""
    c = core()
    a, b, hi, d = item(name="a"), item(name="b"), item(priority=5, name="hi"), item(name="d")
    for x in (a, b, hi, d):
        c.push(x)
    order = [c.pick(0, 1) for _ in range(4)]
    assert [x.name for x in order if isinstance(x, Item)] == ["hi", "a", "b", "d"]
    assert c.pick(0, 1) is None and c.queued == 0


def test_requeued_item_keeps_its_place() -> None:
    """An item pushed back after a refusal is again ahead of later submissions."""
    c = core()
    first, second = item(name="first"), item(name="second")
    c.push(first)
    c.push(second)
    taken = c.pick(0, 4)
    assert taken is first
    c.push(first)  # e.g. 1303: back to the head
    assert c.pick(0, 4) is first


def test_backfill_is_bounded() -> None:
    """Small items pass a blocked big head until it has waited max_backfill_wait."""
    c = core(capacity=8, wait=10.0)
    big = item(cost=8, name="big")
    smalls = [item(cost=1) for _ in range(5)]
    c.push(big)
    for s in smalls:
        c.push(s)
    assert c.pick(0.0, 3) is smalls[0]  # head blocked: backfill
    assert c.pick(5.0, 3) is smalls[1]
    assert c.pick(10.0, 3) is None  # head waited 10 s: hold the rest back
    assert c.pick(11.0, 7) is None  # still not enough for the head
    assert c.pick(12.0, 8) is big  # slots drained: the head goes
    assert c.pick(12.0, 1) is smalls[2]


def test_backfill_picks_best_fitting_by_priority() -> None:
    """Among items that fit, priority then FIFO decides."""
    c = core(capacity=9)
    head = item(cost=9)
    low3, hi2, low1 = item(cost=3), item(cost=2, priority=1), item(cost=1)
    for x in (head, low3, hi2, low1):
        c.push(x)
    assert c.pick(0, 3) is hi2
    assert c.pick(0, 3) is low3
    assert c.pick(0, 0) is None


def test_remove_and_deadlines() -> None:
    """Cancelled items leave the queue; expired ones are returned once."""
    c = core()
    keep, gone, late = item(), item(), item(deadline=5.0)
    for x in (keep, gone, late):
        c.push(x)
    assert c.remove(gone) and not c.remove(gone)
    assert c.next_wakeup(0.0) == 5.0
    assert c.expire(4.9) == []
    assert c.expire(5.0) == [late] and c.expire(6.0) == []
    assert c.queued == 1 and c.pick(6.0, 4) is keep
    assert c.next_wakeup(6.0) is None


def test_dispatched_item_does_not_expire() -> None:
    """Once taken for creation, a deadline no longer applies."""
    c = core()
    x = item(deadline=1.0)
    c.push(x)
    assert c.pick(0.0, 1) is x
    assert c.expire(2.0) == []


def test_1303_pauses_the_pack_at_least_one_second() -> None:
    """After 1303 nothing is picked until the pause (>= initial) ends."""
    c = core()
    x = item()
    c.push(x)
    pause = c.on_concurrency_refused(now=100.0)
    assert pause >= 1.0
    assert c.pick(100.0 + pause - 0.001, 4) is None
    assert c.next_wakeup(100.0) == pytest.approx(100.0 + pause)
    assert c.pick(100.0 + pause, 4) is x


def test_retry_after_wins_and_is_capped() -> None:
    """A Retry-After header sets the pause, capped at max_retry_after, floored at initial."""
    c = core()
    assert c.on_rate_limited(0.0, retry_after=5.0) == 5.0
    assert c.on_rate_limited(100.0, retry_after=999.0) == 20.0
    assert c.on_rate_limited(200.0, retry_after=0.0) == 1.0


def test_backoff_grows_exponentially_and_resets_on_success() -> None:
    """Consecutive refusals widen the pause ceiling; a success resets it."""
    policy = BackoffPolicy(initial=1.0, max_delay=8.0)
    rng = random.Random(1)
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0]
    for k, ceiling in enumerate(ceilings):
        draws = [pause_delay(k, policy, None, rng) for _ in range(200)]
        assert all(1.0 <= d <= ceiling for d in draws)
    c = core()
    now = 0.0
    for _ in range(3):
        now = c.paused_until + 0.01 if c.paused_until > now else now
        c.on_concurrency_refused(now)
    assert c.refusals == 3
    c.on_created(now + 50)
    assert c.refusals == 0


def test_a_burst_of_refusals_counts_once() -> None:
    """Several creates refused within one pause do not compound the backoff."""
    c = core()
    c.on_concurrency_refused(0.0)
    c.on_concurrency_refused(0.1)
    c.on_concurrency_refused(0.2)
    assert c.refusals == 1 and c.count_1303 == 3


def test_learned_capacity_grows_while_full_and_cuts_on_1303() -> None:
    """Unknown capacity: start low, +1 per success at full, cut to held on 1303."""
    c = core(capacity=None, initial=2, grow_after=1, probe_after=3, probe_interval=10.0)
    assert c.is_learned and c.capacity == 2
    c.on_acquired(1)
    c.on_created(0.0)
    assert c.capacity == 2  # not full: no evidence
    c.on_acquired(1)
    c.on_created(0.0)
    assert c.capacity == 3  # full: grow
    c.on_acquired(1)
    c.on_created(0.0)
    assert c.capacity == 4
    c.on_acquired(1)
    c.on_released(1)  # that create got 1303: its slot is returned first
    c.on_concurrency_refused(1.0)
    assert c.capacity == 3 and c.count_1303 == 1
    # probing again needs probe_after successes at full AND probe_interval seconds
    for t in (2.0, 3.0, 4.0):
        c.on_created(t)
    assert c.capacity == 3
    c.on_created(12.0)
    assert c.capacity == 4


def test_failed_probe_doubles_the_wait() -> None:
    """A probe that meets 1303 again doubles the successes needed before the next."""
    c = core(capacity=None, initial=3, probe_after=2, probe_interval=0.0)
    c.on_acquired(3)
    c.on_concurrency_refused(0.0)  # first cut
    assert c._probe_after == 2
    c.on_concurrency_refused(5.0)  # the probe failed
    assert c._probe_after == 4


def test_learned_capacity_never_below_one() -> None:
    """A 1303 with nothing held (another client is using the pack) leaves 1 slot."""
    c = core(capacity=None, initial=5)
    c.on_concurrency_refused(0.0)
    assert c.capacity == 1


def test_configured_capacity_never_changes() -> None:
    """A given capacity is not learned: 1303 only pauses."""
    c = core(capacity=5)
    c.on_acquired(2)
    c.on_concurrency_refused(0.0)
    assert c.capacity == 5


def test_over_release_is_a_bug() -> None:
    """Releasing more than held raises instead of corrupting the count."""
    c = core()
    c.on_acquired(1)
    with pytest.raises(RuntimeError):
        c.on_released(2)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["push", "pick", "cancel", "tick"]),
            st.integers(1, 6),
            st.integers(0, 2),
            st.integers(0, 9),
        ),
        max_size=80,
    )
)
def test_core_never_hands_out_more_than_free(ops: list[tuple[str, int, int, int]]) -> None:
    """Whatever happens, a pick fits the free slots (or the head waits), counts stay true."""
    c = core(capacity=6, wait=3.0)
    queued: list[Item] = []
    now = 0.0
    for op, cost, prio, free in ops:
        if op == "push":
            x = item(cost=cost, priority=prio)
            c.push(x)
            queued.append(x)
        elif op == "pick":
            got = c.pick(now, free)
            if got is not None:
                assert isinstance(got, Item) and got.cost <= free and got in queued
                queued.remove(got)
                assert not got.in_queue
        elif op == "cancel" and queued:
            victim = queued.pop(cost % len(queued))
            assert c.remove(victim)
        else:
            now += cost
        assert c.queued == len(queued)
        head = c.head()
        if queued:
            best = min(queued, key=lambda q: (-q.priority, q.seq))
            assert head is best
        else:
            assert head is None


def test_clear_returns_everything_in_order() -> None:
    """clear() empties the queue, deadlines included, in dispatch order."""
    c = core()
    a, b, hi = item(name="a"), item(deadline=9.0, name="b"), item(priority=2, name="hi")
    for x in (a, b, hi):
        c.push(x)
    assert c.clear() == [hi, a, b]
    assert c.queued == 0 and c.head() is None and c.next_wakeup(0.0) is None


def test_accepted_probe_raises_the_learned_capacity() -> None:
    """A lone large task accepted beyond the estimate proves that much capacity."""
    c = core(capacity=None, initial=2)
    c.on_acquired(6)
    c.on_created(0.0)
    assert c.capacity == 6


@given(
    st.lists(
        st.tuples(st.integers(-(10**12), 10**12), st.integers(0, 2**63 - 1)),
        min_size=2,
        max_size=20,
    )
)
def test_order_keys_sort_like_priority_then_fifo(pairs: list[tuple[int, int]]) -> None:
    """One int per item orders exactly like (-priority, seq)."""
    by_key = sorted(pairs, key=lambda p: order_key(*p))
    by_tuple = sorted(pairs, key=lambda p: (-p[0], p[1]))
    assert by_key == by_tuple


def test_an_item_removed_and_pushed_again_is_queued_once() -> None:
    c = PackCore[Item](
        "video", capacity=2, backoff=BackoffPolicy(), learn=LearnPolicy(), max_backfill_wait=1
    )
    a, b = item(1), item(1)
    c.push(a)
    c.push(b)
    assert c.remove(a)
    c.push(a)  # its old key is still in the heap
    assert c.queued == 2
    assert c.pick(0.0, 2) is a and c.pick(0.0, 2) is b
    assert c.pick(0.0, 2) is None and c.queued == 0
