"""Exactly-once creation paths, driven by a scripted backend (invariant 3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from kling_async import (
    CreateOutcomeUnknownError,
    ExternalIdInUseError,
    InvalidRequestError,
    KlingError,
    Task,
    TaskHandle,
    TaskMismatchError,
    TaskNotFoundError,
    TextToVideo,
    TransportError,
)
from kling_async._config import BackoffPolicy, PollPolicy
from kling_async.endpoints import Family
from kling_async.models import KlingRequest
from kling_async.scheduling._scheduler import Scheduler
from kling_async.scheduling._stats import SchedulerStats
from kling_async.wire._task_calls import CreateCall


class Scripted:
    """create() and get_task() answer from scripts; records every call."""

    has_api_key = False

    def __init__(self, creates: list[Any], queries: list[Any]) -> None:
        self.creates, self.queries = creates, queries
        self.calls: list[tuple[str, str | None]] = []

    def _task(self, ext: str | None, status: str = "succeed") -> Task:
        return Task.model_validate(
            {"task_id": "t1", "task_status": status, "task_info": {"external_task_id": ext}}
        )

    async def send(self, call: CreateCall) -> Task:
        self.calls.append(("create", call.external_task_id))
        step = self.creates.pop(0)
        if isinstance(step, BaseException):
            raise step
        return self._task(call.external_task_id, step)

    async def get_task(
        self,
        family_name: str | Family,
        *,
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> Task:
        self.calls.append(("query", external_task_id or task_id))
        step = self.queries.pop(0)
        if isinstance(step, BaseException):
            raise step
        return self._task(external_task_id, step)

    async def list_page_raw(
        self, family_name: str | Family, *, page: int = 1, page_size: int = 500
    ) -> list[Mapping[str, Any]]:
        return []


class Harness:
    """A scheduler whose records are wrapped in handles, as the client does."""

    def __init__(self, backend: Scripted) -> None:
        self.scheduler = Scheduler(
            backend,
            capacity={"video": 1},
            backoff=BackoffPolicy(initial=0.001, max_delay=0.002),
            poll=PollPolicy(min_interval=0.001, max_interval=0.002, time_scale=1e-6),
        )

    def submit(self, request: KlingRequest, *, external_task_id: str) -> TaskHandle:
        record = self.scheduler.submit(request, external_task_id=external_task_id)
        return TaskHandle(record, self.scheduler.cancel)

    def stats(self) -> SchedulerStats:
        return self.scheduler.stats()

    async def aclose(self) -> None:
        await self.scheduler.aclose()


def scheduler(backend: Scripted) -> Harness:
    return Harness(backend)


def _unknown() -> CreateOutcomeUnknownError:
    return CreateOutcomeUnknownError("text2video", "job", TimeoutError())


def _not_found() -> TaskNotFoundError:
    return TaskNotFoundError("nope", http_status=404, code=1203)


async def test_unknown_outcome_found_by_query_is_adopted() -> None:
    """A create that timed out but happened is adopted, never created twice."""
    backend = Scripted(creates=[_unknown()], queries=["succeed"])
    s = scheduler(backend)
    task = await s.submit(TextToVideo(prompt="p"), external_task_id="job")
    await s.aclose()
    assert task.succeeded
    assert backend.calls == [("create", "job"), ("query", "job")]


async def test_unknown_outcome_not_found_twice_is_created_again_with_the_same_id() -> None:
    """Only a confirmed 'not found' leads to a second create, with the same external id."""
    backend = Scripted(creates=[_unknown(), "succeed"], queries=[_not_found(), _not_found()])
    s = scheduler(backend)
    task = await s.submit(TextToVideo(prompt="p"), external_task_id="job")
    await s.aclose()
    assert task.succeeded
    assert backend.calls == [
        ("create", "job"),
        ("query", "job"),
        ("query", "job"),
        ("create", "job"),
    ]


async def test_resolution_retries_until_kling_answers() -> None:
    """Query failures while resolving do not lead to a blind create."""
    fault = TransportError("down", request_sent=True)
    backend = Scripted(creates=[_unknown()], queries=[fault, fault, "succeed"])
    s = scheduler(backend)
    task = await s.submit(TextToVideo(prompt="p"), external_task_id="job")
    await s.aclose()
    assert task.succeeded and [c[0] for c in backend.calls].count("create") == 1


async def test_duplicate_external_id_answer_adopts_the_existing_task() -> None:
    """A 'duplicate external_task_id' refusal is resolved by query, not failed."""
    dup = InvalidRequestError("external_task_id already exists", http_status=400, code=1201)
    backend = Scripted(creates=[dup], queries=["succeed"])
    s = scheduler(backend)
    task = await s.submit(TextToVideo(prompt="p"), external_task_id="job")
    await s.aclose()
    assert task.succeeded and backend.calls == [("create", "job"), ("query", "job")]


async def test_unreachable_create_is_requeued_and_sent_when_possible() -> None:
    """A create that provably never left goes back to the queue and is sent later."""
    never_left = TransportError("refused", request_sent=False)
    backend = Scripted(creates=[never_left, "succeed"], queries=[])
    s = scheduler(backend)
    task = await s.submit(TextToVideo(prompt="p"), external_task_id="job")
    stats = s.stats().packs["video"]
    await s.aclose()
    assert task.succeeded and backend.calls == [("create", "job"), ("create", "job")]
    assert stats.count_unreachable == 1 and stats.count_1302 == 0
    assert stats.in_use == 0


async def test_a_server_that_never_keeps_its_tasks_fails_the_handle_after_a_bound() -> None:
    """Unknown outcome, confirmed missing, again and again: after MAX_RECREATES creates
    again the handle fails with the unknown outcome (never a silent endless loop)."""
    from kling_async.scheduling._creator import MAX_RECREATES

    rounds = MAX_RECREATES + 1
    backend = Scripted(creates=[_unknown()] * rounds, queries=[_not_found()] * (2 * rounds))
    s = scheduler(backend)
    handle = s.submit(TextToVideo(prompt="p"), external_task_id="job")
    with pytest.raises(CreateOutcomeUnknownError):
        await handle
    stats = s.stats().packs["video"]
    await s.aclose()
    assert [c[0] for c in backend.calls].count("create") == rounds
    assert stats.in_use == 0


async def test_duplicate_id_that_cannot_be_found_fails_and_is_never_created_again() -> None:
    """'already exists' but no lookup finds it (a task of another family holds the id):
    the handle fails with ExternalIdInUseError quoting Kling's refusal."""
    dup = InvalidRequestError("External_task_id job already exists", http_status=400, code=1201)
    backend = Scripted(creates=[dup], queries=[_not_found(), _not_found()])
    s = scheduler(backend)
    handle = s.submit(TextToVideo(prompt="p"), external_task_id="job")
    with pytest.raises(ExternalIdInUseError, match="already exists") as info:
        await handle
    assert "nothing created, nothing adopted" in str(info.value)
    await s.aclose()
    assert [c[0] for c in backend.calls] == ["create", "query", "query"]


@pytest.mark.parametrize(
    "definite",
    [
        TaskMismatchError("names another task", asked="job", got_task_id="t9"),
        InvalidRequestError("invalid parameter: task_id", http_status=400, code=1201),
    ],
)
async def test_resolution_stops_at_a_definite_answer(definite: KlingError) -> None:
    """A lookup answering another task, or a real bad request, fails the handle at once:
    nothing adopted, nothing created again, the slot given back."""
    backend = Scripted(creates=[_unknown()], queries=[definite])
    s = scheduler(backend)
    handle = s.submit(TextToVideo(prompt="p"), external_task_id="job")
    with pytest.raises(type(definite)):
        await handle
    stats = s.stats().packs["video"]
    await s.aclose()
    assert [c[0] for c in backend.calls] == ["create", "query"]
    assert stats.in_use == 0
