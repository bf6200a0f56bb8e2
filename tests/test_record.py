"""The submission record's state-transition table, tested as a table, and the
handle as a read-only view of the record."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import pytest

from kling_async import HandleState, Task, TaskHandle, TextToVideo
from kling_async.scheduling._record import (
    TRANSITIONS,
    IllegalTransition,
    Submission,
    resolve,
    transition,
)

FINISHED = Task.model_validate({"task_id": "t1", "task_status": "succeed"})
FAILED = Task.model_validate({"task_id": "t1", "task_status": "failed"})


def _record(state: HandleState = HandleState.QUEUED) -> Submission:
    return Submission(
        family="text2video",
        request=TextToVideo(prompt="p"),
        external_task_id="e1",
        key="video",
        cost=1,
        seq=0,
        state=state,
    )


def _apply(record: Submission, target: HandleState) -> None:
    if target is HandleState.SUCCEEDED:
        transition(record, target, task=FINISHED)
    elif target.is_final:
        transition(record, target, error=RuntimeError(target.value))
    else:
        transition(record, target)


def _path_to(target: HandleState) -> list[HandleState]:
    """The shortest legal path from QUEUED to ``target`` (breadth first)."""
    paths = {HandleState.QUEUED: [HandleState.QUEUED]}
    todo = deque([HandleState.QUEUED])
    while todo:
        state = todo.popleft()
        for nxt in sorted(TRANSITIONS[state]):
            if nxt not in paths:
                paths[nxt] = [*paths[state], nxt]
                todo.append(nxt)
    return paths[target]


def _record_in(state: HandleState) -> Submission:
    record = _record()
    for step in _path_to(state)[1:]:
        _apply(record, step)
    assert record.state is state
    return record


def test_the_table_covers_every_state_and_final_states_have_no_exit() -> None:
    assert set(TRANSITIONS) == set(HandleState)
    for state, targets in TRANSITIONS.items():
        assert state not in targets
        assert (not targets) == state.is_final
    # every state is reachable from QUEUED, and every state can reach a final one
    for state in HandleState:
        assert _path_to(state)[-1] is state
        assert state.is_final or any(t.is_final for t in TRANSITIONS[state])


def _recorder(record: Submission, seen: list[HandleState]) -> Callable[[], None]:
    return lambda: seen.append(record.state)


@pytest.mark.parametrize("start", list(HandleState))
async def test_every_legal_transition_applies_and_every_illegal_one_is_refused(
    start: HandleState,
) -> None:
    for target in HandleState:
        record = _record_in(start)
        seen: list[HandleState] = []
        record.on_change = _recorder(record, seen)
        if target in TRANSITIONS[start]:
            _apply(record, target)
            assert record.state is target and seen == [target]
            assert record.waiter().done() == target.is_final
        else:
            with pytest.raises(IllegalTransition, match=f"{start.value} -> {target.value}"):
                _apply(record, target)
            assert record.state is start and seen == []  # nothing changed
            assert record.waiter().done() == start.is_final


async def test_a_final_state_needs_its_outcome() -> None:
    with pytest.raises(IllegalTransition, match="needs an error or a task"):
        transition(_record(), HandleState.CANCELLED)
    record = _record(HandleState.SUBMITTED)
    with pytest.raises(IllegalTransition, match="needs an error or a task"):
        transition(record, HandleState.SUCCEEDED)


async def test_records_start_only_queued_or_where_kling_says_a_task_is() -> None:
    for state in (HandleState.QUEUED, HandleState.SUBMITTED, HandleState.PROCESSING):
        assert _record(state).state is state
    for state in set(HandleState) - {
        HandleState.QUEUED,
        HandleState.SUBMITTED,
        HandleState.PROCESSING,
    }:
        with pytest.raises(IllegalTransition, match="cannot start"):
            _record(state)


async def test_resolve_decides_once_and_keeps_the_latest_task() -> None:
    record = _record(HandleState.PROCESSING)
    resolve(record, FAILED)
    assert record.state is HandleState.FAILED and record.waiter().exception() is not None
    resolve(record, FINISHED)  # already decided: only the task seen is updated
    assert record.state is HandleState.FAILED and record.task is FINISHED


async def test_the_handle_is_a_read_only_view() -> None:
    record = _record()
    cancelled: list[Submission] = []

    def cancel(r: Submission) -> bool:
        cancelled.append(r)
        return True

    handle = TaskHandle(record, cancel)
    for name in ("state", "task", "task_id", "external_task_id", "pack", "cost", "error"):
        with pytest.raises(AttributeError):
            setattr(handle, name, None)
    assert not hasattr(handle, "_future") and not hasattr(handle, "seq")
    states: list[HandleState] = []
    handle.add_listener(lambda h: states.append(h.state))
    _apply(record, HandleState.SUBMITTING)
    record.task_id = "t1"
    _apply(record, HandleState.SUBMITTED)
    assert handle.task_id == "t1" and states == [HandleState.SUBMITTING, HandleState.SUBMITTED]
    assert handle.cancel() and cancelled == [record]
    _apply(record, HandleState.SUCCEEDED)
    assert (await asyncio.wait_for(handle, 1)) is FINISHED
    assert handle.pack == "video" and "succeeded" in repr(handle)
