"""Every answer shape live Kling was seen to send parses (``kling_api_2026.md`` A5, A6, A8).

A table-driven corpus written from the reference: each case is a real shape (or the
reference's description of one) and what the client must read from it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kling_async import Task, TaskStatus
from kling_async.errors import InvalidRequestError, ResponseError
from kling_async.models import AccountCosts, SyncResult
from kling_async.wire._transport import decode_envelope

URL = "https://v15-kling-fdl.klingai.com/x.mp4?x-expires=1790000000&sign=abc"

# (name, raw task object, checks: attribute path -> expected value)
TASKS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "succeed with images null beside videos (2024)",
        {
            "task_id": "CjI17WevH1IAAAAAAHmgsw",
            "task_status": "succeed",
            "task_info": {"external_task_id": "job-1"},
            "task_result": {
                "videos": [{"id": "v1", "url": URL, "duration": "5.1"}],
                "images": None,
            },
            "created_at": 1722769557708,
            "updated_at": 1722769617708,
        },
        {"succeeded": True, "urls": [URL], "external_task_id": "job-1", "images": []},
    ),
    (
        "succeed with empty sibling lists (2025-12)",
        {
            "task_id": "867283741759111202",
            "task_status": "succeed",
            "task_result": {"images": [], "videos": [{"id": "v", "url": URL}], "audios": []},
        },
        {"succeeded": True, "urls": [URL], "external_task_id": None},
    ),
    (
        "processing with task_result {}",
        {"task_id": "1", "task_status": "processing", "task_info": {}, "task_result": {}},
        {"succeeded": False, "terminal": False, "urls": []},
    ),
    (
        "failed: code 0, task_result {}",
        {
            "task_id": "1",
            "task_status": "failed",
            "task_status_msg": "Image pixel is invalid",
            "task_result": {},
        },
        {"succeeded": False, "terminal": True, "msg": "Image pixel is invalid"},
    ),
    (
        "create answer: no task_result, no task_info",
        {"task_id": "926484082518392851", "task_status": "submitted", "created_at": 1},
        {"terminal": False, "external_task_id": None, "urls": []},
    ),
    (
        "task_info and task_result null",
        {"task_id": "1", "task_status": "submitted", "task_info": None, "task_result": None},
        {"external_task_id": None, "urls": []},
    ),
    (
        "task_info with an empty external id",
        {"task_id": "1", "task_status": "submitted", "task_info": {"external_task_id": ""}},
        {"external_task_id": None},
    ),
    (
        "video ids as UUIDs (2024), numbers as strings",
        {
            "task_id": "a5f9b3f6-2d6e-4c4e-9d8b-6f1f1b2f0c11",
            "task_status": "succeed",
            "final_unit_deduction": "2.4",
            "created_at": "1722769557708",
            "updated_at": 1722769617708.0,
            "task_result": {"videos": [{"id": 123, "url": URL, "duration": 14.666}]},
        },
        {"units": "2.4", "created_at": 1722769557708, "updated_at": 1722769617708},
    ),
    (
        "final_unit_deduction as a number, watermark_info missing (2025-11)",
        {"task_id": 867283741759111202, "task_status": "succeed", "final_unit_deduction": 5},
        {"task_id": "867283741759111202", "units": "5", "watermark": None},
    ),
    (
        "unknown fields and an unknown status word",
        {"task_id": "1", "task_status": "queueing", "brand_new": {"x": 1}},
        {"succeeded": False, "terminal": False, "status": TaskStatus.UNKNOWN},
    ),
    (
        "new-design status spelling",
        {"task_id": "1", "task_status": "succeeded"},
        {"succeeded": True},
    ),
    (
        "garbage in optional fields",
        {
            "task_id": "1",
            "task_status": 7,
            "task_status_msg": None,
            "watermark_info": "yes",
            "final_balance_deduction": [],
            "created_at": "yesterday",
            "task_info": "none",
            "task_result": {"videos": ["not-an-object", {"url": URL}], "images": {"url": URL}},
        },
        {"status": TaskStatus.UNKNOWN, "created_at": None, "urls": [URL, URL]},
    ),
    (
        "element result with a 15-digit id",
        {
            "task_id": "1",
            "task_status": "succeed",
            "task_result": {"elements": [{"element_id": 321922438904313, "status": "succeed"}]},
        },
        {"element_id": "321922438904313"},
    ),
    (
        "real legacy callback body (2025-12-12): no deduction",
        {
            "task_id": "860000000000000001",
            "task_status": "succeed",
            "task_info": {},
            "task_result": {
                "images": [],
                "videos": [{"id": "v", "url": URL, "duration": "5.1"}],
                "audios": [],
            },
            "task_status_msg": "",
            "created_at": 1765500000000,
            "updated_at": 1765500100000,
        },
        {"succeeded": True, "units": None, "urls": [URL]},
    ),
]


def _read(task: Task, what: str) -> Any:
    return {
        "succeeded": lambda: task.succeeded,
        "terminal": lambda: task.is_terminal,
        "urls": lambda: task.result_urls(),
        "external_task_id": lambda: task.external_task_id,
        "images": lambda: task.task_result.images,
        "msg": lambda: task.task_status_msg,
        "units": lambda: task.final_unit_deduction,
        "created_at": lambda: task.created_at,
        "updated_at": lambda: task.updated_at,
        "task_id": lambda: task.task_id,
        "watermark": lambda: task.watermark_info,
        "status": lambda: task.task_status,
        "element_id": lambda: task.task_result.elements[0].element_id,
    }[what]()


@pytest.mark.parametrize(("name", "raw", "checks"), TASKS, ids=[t[0] for t in TASKS])
def test_live_task_shapes_parse(name: str, raw: dict[str, Any], checks: dict[str, Any]) -> None:
    """The task object parses, and reads as the reference says it should."""
    task = Task.model_validate(json.loads(json.dumps(raw)))
    for what, expected in checks.items():
        assert _read(task, what) == expected, what


def test_a_task_without_an_id_is_not_a_task() -> None:
    """Only task_id is required: an answer that does not name its task is unusable."""
    with pytest.raises(ValueError, match="task_id"):
        Task.model_validate({"task_status": "succeed"})


# -- envelopes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"code": 0, "message": "SUCCEED", "request_id": "r", "data": {"task_id": "1"}},
        {"code": 0, "message": "成功", "request_id": "r", "data": {"task_id": "1"}},
        {"code": 0, "message": "success", "data": {"task_id": "1"}},  # no request_id
        {"code": "0", "data": {"task_id": "1"}},  # code as a string, no message
    ],
)
def test_success_envelopes_never_depend_on_message(body: dict[str, Any]) -> None:
    """Success is code 0, whatever the message says (relays rewrite it)."""
    envelope = decode_envelope(200, json.dumps(body).encode())
    assert envelope.data == {"task_id": "1"}


@pytest.mark.parametrize(
    "body",
    [
        {"code": 1201, "message": "Task not found by id/external id: x", "request_id": "r"},
        {"code": 1201, "message": "Voice id not found"},  # no request_id, no data
    ],
)
def test_error_envelopes_without_data_or_request_id(body: dict[str, Any]) -> None:
    """Errors carry {code, message, request_id?} and no data."""
    with pytest.raises(InvalidRequestError) as caught:
        decode_envelope(400, json.dumps(body).encode())
    assert caught.value.code == 1201 and caught.value.request_id == body.get("request_id")


def test_success_without_data_is_an_empty_answer() -> None:
    """Deletes answer code 0 with no data at all (A6): that is a success, data None."""
    envelope = decode_envelope(200, b'{"code":0,"message":"SUCCEED","request_id":"r"}')
    assert envelope.data is None


def test_non_object_bodies_are_response_errors() -> None:
    """Anything that is not an envelope is a ResponseError, never a KeyError."""
    with pytest.raises(ResponseError):
        decode_envelope(200, b"[1, 2]")


def test_account_costs_nested_code_and_float_quantities() -> None:
    """/account/costs: data.code 0, data.msg 'success', float quantities (live)."""
    costs = AccountCosts.model_validate(
        {
            "code": 0,
            "msg": "success",
            "resource_pack_subscribe_infos": [
                {
                    "resource_pack_name": "Trial-Video-100Units-5Con-1Months",
                    "resource_pack_type": "decreasing_total",
                    "total_quantity": 100.0,
                    "remaining_quantity": "95.2",
                    "effective_time": 1758000000000,
                    "status": "online",
                },
                None,
            ],
        }
    )
    pack = costs.resource_pack_subscribe_infos[0]
    assert len(costs.resource_pack_subscribe_infos) == 1
    assert (pack.total_quantity, pack.remaining_quantity) == (100.0, 95.2)


def test_sync_answer_with_null_result() -> None:
    """A synchronous answer whose task_result is null or garbage still parses."""
    assert SyncResult.model_validate({"task_result": None}).task_result is None
    assert SyncResult.model_validate({"task_result": "x", "status": "0"}).status == 0
