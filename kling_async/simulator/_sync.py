"""The simulator's synchronous endpoints: answers computed inline, no slot held."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web

from kling_async.simulator._errors import Answer
from kling_async.simulator._host import SimHost

__all__ = ["NO_DATA", "sync_answer"]

NO_DATA: Any = object()
"""Answer code 0 with no ``data`` key at all (live element deletes do, A6)."""

PRESET_VOICES = (
    ("kling-voice-001", "Narrator (en)"),
    ("kling-voice-002", "Warm female (en)"),
    ("kling-voice-003", "Calm male (zh)"),
)
PRESET_ELEMENTS = (("700000000000001", "Astronaut"), ("700000000000002", "Red panda"))


def sync_answer(core: SimHost, kind: str, body: dict[str, Any], request: web.Request) -> Any:
    """The ``data`` of a synchronous endpoint (TTS, identify-face, selections, costs)."""
    session = f"sess-{uuid.uuid4().hex[:12]}"
    if kind in ("identify_face", "init_selection"):
        if bool(body.get("video_id")) == bool(body.get("video_url")):
            raise Answer(400, 1201, "invalid parameter: exactly one of video_id/video_url")
        if kind == "init_selection":
            return {
                "status": 0,
                "session_id": session,
                "final_unit_deduction": "0",
                "fps": 30,
                "original_duration": 5000,
                "width": 1280,
                "height": 720,
                "total_frame": 150,
                "normalized_video": body.get("video_url", ""),
            }
        return {
            "session_id": session,
            "final_unit_deduction": "0.05",
            "face_data": [
                {
                    "face_id": "0",
                    "face_image": f"{core.base_url}/__files/f/0.png",
                    "start_time": 0,
                    "end_time": 5000,
                }
            ],
        }
    if kind in ("add_selection", "delete_selection", "clear_selection", "preview_selection"):
        if not body.get("session_id"):
            raise Answer(400, 1201, "invalid parameter: session_id is required")
        if kind in ("add_selection", "delete_selection"):
            points = body.get("points")
            if not isinstance(body.get("frame_index"), int) or not isinstance(points, list):
                raise Answer(400, 1201, "invalid parameter: frame_index and points required")
        return {
            "status": 0,
            "session_id": body["session_id"],
            "final_unit_deduction": "0",
            "res": {"frame_index": body.get("frame_index", 0), "rle_mask_list": []},
        }
    if kind == "image_recognize":
        if not body.get("image"):
            raise Answer(400, 1201, "invalid parameter: image is required")
        return {
            "final_unit_deduction": "0.1",
            "task_result": {
                "images": [
                    {"type": t, "is_contain": True, "url": f"{core.base_url}/__files/r/{t}.png"}
                    for t in ("object_seg", "head_seg", "face_seg", "cloth_seg")
                ]
            },
        }
    if kind == "tts":
        text = body.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= 1000:
            raise Answer(400, 1201, "invalid parameter: text must be 1-1000 characters")
        if not body.get("voice_id"):
            raise Answer(400, 1201, "invalid parameter: voice_id is required")
        if body.get("voice_language") not in ("zh", "en"):
            raise Answer(400, 1201, "invalid parameter: voice_language must be zh or en")
        now_ms = int(time.time() * 1000)
        tid = str(870000000000000000 + core.next_seq())
        return {
            "task_id": tid,
            "task_status": "succeed",
            "task_status_msg": "",
            "final_unit_deduction": "0.05",
            "created_at": now_ms,
            "updated_at": now_ms,
            "task_result": {
                "audios": [
                    {
                        "id": f"{tid}-a0",
                        "duration": "3.2",
                        "url": f"{core.base_url}/__files/t/0.mp3",
                    }
                ]
            },
        }
    if kind == "account_costs":
        for name in ("start_time", "end_time"):
            value = request.query.get(name, "")
            if not value.isdigit():
                raise Answer(400, 1201, f"invalid parameter: {name} is required (ms)")
        return {
            "code": 0,
            "msg": "success",
            "resource_pack_subscribe_infos": core.billing.packs_answer(core.capacities()),
        }
    if kind == "billing_package":
        try:
            return core.billing.ledger_page(body)
        except ValueError as exc:
            raise Answer(400, 1201, str(exc)) from None
    if kind == "billing_balance":  # the simulated account pays with packs only
        return {"result": {"detail": [], "count": 0}, "next_cursor": None, "has_more": False}
    if kind in ("presets_voices", "presets_elements", "delete_voice", "delete_element"):
        return _library_answer(core, kind, body, request)
    raise Answer(404, 1203, "requested resource does not exist")


def _library_answer(core: SimHost, kind: str, body: dict[str, Any], request: web.Request) -> Any:
    """Preset voices / elements (pages of task objects) and voice / element deletes."""
    now_ms = int(time.time() * 1000)
    if kind in ("presets_voices", "presets_elements"):
        voices = kind == "presets_voices"
        items = PRESET_VOICES if voices else PRESET_ELEMENTS
        page = request.query.get("pageNum", "1")
        if page != "1":
            return []
        return [
            {
                "task_id": f"preset-{item_id}",
                "task_status": "succeed",
                "created_at": now_ms,
                "updated_at": now_ms,
                "task_result": {
                    "voices": [{"voice_id": item_id, "voice_name": name, "owned_by": "kling"}]
                }
                if voices
                else {
                    "elements": [
                        {
                            "element_id": item_id,
                            "element_name": name,
                            "owned_by": "kling",
                            "status": "succeed",
                        }
                    ]
                },
            }
            for item_id, name in items
        ]
    key = "voice_id" if kind == "delete_voice" else "element_id"
    raw = body.get(key)
    target = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not target:
        raise Answer(400, 1201, f"invalid parameter: {key} is required")
    now = core.now()
    owned = {t.made_id(): t for t in core.tasks.values() if t.status(now) == "succeed"}
    if target in core.deleted:
        what = "Voice" if kind == "delete_voice" else "Element"
        raise Answer(400, 1201, f"{what} already be deleted for id: {target}")
    if target not in owned:
        what = "Voice" if kind == "delete_voice" else "Element"
        raise Answer(400, 1201, f"{what} id not found: {target}")
    core.deleted.add(target)
    if kind == "delete_element":
        return NO_DATA  # live: code 0 and no data, although the docs promise task fields
    return {"task_id": owned[target].task_id, "task_status": "succeed"}
