"""Response models: the seed's example payloads and every documented result shape parse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kling_async import Task, TaskStatus
from kling_async.models import AccountCosts, IdentifyFaceResult

SEED = json.loads((Path(__file__).parent / "data" / "seed_task_examples.json").read_text())
SEED_CASES = [(page, i, data) for page, items in SEED.items() for i, data in enumerate(items)]


@pytest.mark.parametrize(
    ("page", "index", "data"), SEED_CASES, ids=[f"{p}-{i}" for p, i, _ in SEED_CASES]
)
def test_seed_examples_parse(page: str, index: int, data: dict[str, Any]) -> None:
    """Every task object in the scraped official docs parses into Task."""
    task = Task.model_validate(data)
    assert task.task_id == data["task_id"]
    assert task.created_at == data.get("created_at")


def test_seed_fixture_covers_the_async_families() -> None:
    """The extracted fixture is not empty (guards the extraction itself)."""
    assert len(SEED_CASES) >= 30 and len(SEED) >= 15


# The callback schema of the seed, with its placeholders made concrete.
CALLBACK_EXAMPLE = {
    "task_id": "867283741759111202",
    "task_status": "succeed",
    "task_status_msg": "",
    "created_at": 1722769557708,
    "updated_at": 1722769557708,
    "final_unit_deduction": "5",
    "task_info": {
        "parent_video": {"id": "v-1", "url": "https://cdn/x.mp4", "duration": "5.1"},
        "external_task_id": "job-42",
    },
    "task_result": {
        "images": [{"index": 0, "url": "https://h1.inkwai.com/bs2/upload-ylab-stunt/xxx.png"}],
        "videos": [{"id": "v-2", "url": "https://cdn/y.mp4", "duration": "10.1"}],
    },
}


def test_callback_schema_parses() -> None:
    """The legacy callback body (task object) parses with parent video and results."""
    task = Task.model_validate(CALLBACK_EXAMPLE)
    assert task.succeeded and task.is_terminal
    assert task.external_task_id == "job-42"
    assert task.task_info.parent_video is not None
    assert task.task_info.parent_video.duration == "5.1"
    assert task.result_urls() == [
        "https://cdn/y.mp4",
        "https://h1.inkwai.com/bs2/upload-ylab-stunt/xxx.png",
    ]
    assert task.created is not None and task.created.year == 2024


@pytest.mark.parametrize(
    ("raw", "status", "terminal"),
    [
        ("submitted", TaskStatus.SUBMITTED, False),
        ("processing", TaskStatus.PROCESSING, False),
        ("succeed", TaskStatus.SUCCEED, True),
        ("succeeded", TaskStatus.SUCCEED, True),
        ("SUCCEED", TaskStatus.SUCCEED, True),
        ("failed", TaskStatus.FAILED, True),
        ("queued-somewhere", TaskStatus.UNKNOWN, False),
    ],
)
def test_status_spellings_are_normalised(raw: str, status: TaskStatus, terminal: bool) -> None:
    """`succeed` (legacy) and `succeeded` (new design) both read as succeeded."""
    task = Task.model_validate({"task_id": "1", "task_status": raw})
    assert task.task_status is status and task.is_terminal is terminal


def test_loose_types_and_unknown_fields_are_tolerated() -> None:
    """Ids sent as numbers read as strings; numeric strings as ints; extras are kept."""
    task = Task.model_validate(
        {
            "task_id": 867283741759111202,
            "task_status": "processing",
            "created_at": "1722769557708",
            "final_unit_deduction": 2.5,
            "brand_new_field": {"a": 1},
            "task_info": {"external_task_id": 77, "future": True},
        }
    )
    assert task.task_id == "867283741759111202"
    assert task.created_at == 1722769557708
    assert task.final_unit_deduction == "2.5"
    assert task.external_task_id == "77"
    assert task.model_extra == {"brand_new_field": {"a": 1}}


RESULT_SHAPES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "video",
        {"videos": [{"id": "1", "url": "u.mp4", "watermark_url": "w.mp4", "duration": "5.1"}]},
        ["u.mp4"],
    ),
    (
        "multi_elements",
        {"videos": [{"id": "1", "session_id": "s", "url": "u.mp4", "duration": "5"}]},
        ["u.mp4"],
    ),
    (
        "image",
        {"images": [{"index": 0, "url": "a.png"}, {"index": 1, "url": "b.png"}]},
        ["a.png", "b.png"],
    ),
    (
        "omni_image_series",
        {"result_type": "series", "images": [], "series_images": [{"index": 0, "url": "s0.png"}]},
        ["s0.png"],
    ),
    (
        "text_to_audio",
        {
            "audios": [
                {
                    "id": "a",
                    "url_mp3": "a.mp3",
                    "url_wav": "a.wav",
                    "duration_mp3": "3.0",
                    "duration_wav": "3.0",
                }
            ]
        },
        ["a.mp3", "a.wav"],
    ),
    ("text_to_audio_audio_id", {"audios": [{"audio_id": "a9", "url_mp3": "a.mp3"}]}, ["a.mp3"]),
    (
        "video_to_audio",
        {
            "videos": [{"id": "v", "url": "v.mp4", "duration": "4"}],
            "audios": [{"id": "a", "url_mp3": "x.mp3"}],
        },
        ["v.mp4", "x.mp3"],
    ),
    ("tts", {"audios": [{"id": "t", "url": "t.mp3", "duration": "2.2"}]}, ["t.mp3"]),
    (
        "voices",
        {
            "voices": [
                {"voice_id": 123, "voice_name": "n", "trial_url": "t.mp3", "owned_by": "kling"}
            ]
        },
        [],
    ),
    (
        "elements",
        {
            "elements": [
                {
                    "element_id": 829836802793406551,
                    "element_name": "e",
                    "status": "succeed",
                    "owned_by": 5,
                }
            ]
        },
        [],
    ),
    (
        "ai_multi_shot_url_n",
        {"images": [{"index": 0, "url_1": "1.png", "url_2": "2.png", "url_3": "3.png"}]},
        ["1.png", "2.png", "3.png"],
    ),
]


@pytest.mark.parametrize(
    ("name", "result", "urls"), RESULT_SHAPES, ids=[r[0] for r in RESULT_SHAPES]
)
def test_every_documented_result_shape_parses(
    name: str, result: dict[str, Any], urls: list[str]
) -> None:
    """task_result of each family (kling_api.md §6.4) parses; result_urls lists files."""
    task = Task.model_validate({"task_id": "1", "task_status": "succeed", "task_result": result})
    assert task.result_urls() == urls
    if name == "text_to_audio_audio_id":
        assert task.task_result.audios[0].id == "a9"
    if name == "elements":
        assert task.task_result.elements[0].element_id == "829836802793406551"


def test_watermarked_urls_on_request() -> None:
    """result_urls(watermarked=True) returns the watermarked copies."""
    task = Task.model_validate(
        {"task_id": "1", "task_result": {"videos": [{"url": "u.mp4", "watermark_url": "w.mp4"}]}}
    )
    assert task.result_urls(watermarked=True) == ["w.mp4"]


def test_sync_answers_parse() -> None:
    """identify-face and account/costs answers parse into their models."""
    faces = IdentifyFaceResult.model_validate(
        {
            "session_id": 99,
            "final_unit_deduction": "0.05",
            "face_data": [
                {"face_id": "0", "face_image": "f.png", "start_time": 0, "end_time": 5200}
            ],
        }
    )
    assert faces.session_id == "99" and faces.face_data[0].end_time == 5200
    costs = AccountCosts.model_validate(
        {
            "code": 0,
            "msg": "success",
            "resource_pack_subscribe_infos": [
                {
                    "resource_pack_name": "p",
                    "resource_pack_id": 7,
                    "total_quantity": 200,
                    "remaining_quantity": 12.5,
                    "status": "online",
                }
            ],
        }
    )
    assert costs.resource_pack_subscribe_infos[0].resource_pack_id == "7"
