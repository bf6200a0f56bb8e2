"""The submission record's state-transition table, tested as a table, and the
handle as a read-only view of the record."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import pytest

from kling_async import HandleState, Pack, Task, TaskHandle, TextToVideo
from kling_async.endpoints import SlotKey, family
from kling_async.scheduling._record import (
    TRANSITIONS,
    IllegalTransition,
    Submission,
    resolve,
    transition,
)
from kling_async.wire._task_calls import prepare_create

FINISHED = Task.model_validate({"task_id": "t1", "task_status": "succeed"})
FAILED = Task.model_validate({"task_id": "t1", "task_status": "failed"})


RUNNING = Task.model_validate({"task_id": "t1", "task_status": "processing"})


def _record(state: HandleState = HandleState.QUEUED) -> Submission:
    return Submission(
        family="text2video",
        call=prepare_create(
            family("text2video"), TextToVideo(prompt="p"), external_task_id="e1", callback_url=None
        ),
        external_task_id="e1",
        key=SlotKey(Pack.VIDEO),
        cost=1,
        seq=0,
        state=state,
        task=None if state is HandleState.QUEUED else RUNNING,
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
        record.listen(_recorder(record, seen))
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
    record.note_task(Task.model_validate({"task_id": "t1", "task_status": "submitted"}))
    _apply(record, HandleState.SUBMITTED)
    assert handle.task_id == "t1" and states == [HandleState.SUBMITTING, HandleState.SUBMITTED]
    assert handle.cancel() and cancelled == [record]
    _apply(record, HandleState.SUCCEEDED)
    assert (await asyncio.wait_for(handle, 1)) is FINISHED
    assert handle.pack == "video" and "succeeded" in repr(handle)


def test_what_happens_to_a_record_cannot_be_written_from_outside() -> None:
    """state, task, task_id, error, attempts and holds_slots are read-only: they change
    only through the record's own methods and ``transition``."""
    record = _record()
    for name in ("state", "task", "task_id", "error", "attempts", "holds_slots", "final"):
        with pytest.raises(AttributeError):
            setattr(record, name, None)
    assert record.begin_attempt() == 1 and record.attempts == 1
    assert record.hold_slots() and not record.hold_slots() and record.holds_slots
    assert record.free_slots() and not record.free_slots() and not record.holds_slots
    record.note_task(RUNNING)
    with pytest.raises(IllegalTransition, match="not about t1"):
        record.note_task(Task.model_validate({"task_id": "t2", "task_status": "succeed"}))
    assert record.task_id == "t1" and record.task is RUNNING


def test_no_module_but_the_record_writes_a_record() -> None:
    """Where records travel (the scheduler's parts, the tracker, the face), no
    assignment targets a record's attributes (the parts call its methods), and no
    part writes another part's private fields: every ``x.field = ...`` or
    ``x._name = ...`` on something other than ``self`` is a finding."""
    import ast
    from pathlib import Path

    import kling_async

    root = Path(kling_async.__file__).parent
    fields = set(Submission.__slots__) | {name.lstrip("_") for name in Submission.__slots__}
    where = [*root.glob("scheduling/*.py"), *root.glob("tracking/*.py")]
    where += [root / "_handle.py", root / "_client.py", root / "_conveniences.py"]
    findings = []
    for path in sorted(where):
        if path.name == "_record.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if not isinstance(sub, ast.Attribute) or not isinstance(sub.ctx, ast.Store):
                        continue
                    if not isinstance(sub.value, ast.Name) or sub.attr.startswith("__"):
                        continue
                    owner = sub.value.id
                    if owner in ("self", "cls"):
                        continue
                    if sub.attr in fields or sub.attr.startswith("_"):
                        findings.append(f"{path.relative_to(root)}:{sub.lineno} {owner}.{sub.attr}")
    assert findings == []
