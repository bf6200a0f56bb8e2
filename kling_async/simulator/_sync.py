"""The simulator's synchronous endpoints: answers computed inline, no slot held."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kling_async.simulator._errors import Answer

if TYPE_CHECKING:
    from kling_async.simulator._server import SimulatorCore

__all__ = ["sync_answer"]


def sync_answer(core: SimulatorCore, kind: str, body: dict[str, Any], request: web.Request) -> Any:
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
        core._seq += 1
        now_ms = int(time.time() * 1000)
        tid = str(870000000000000000 + core._seq)
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
        now_ms = int(time.time() * 1000)
        return {
            "code": 0,
            "msg": "success",
            "resource_pack_subscribe_infos": [
                {
                    "resource_pack_name": "Simulated video pack",
                    "resource_pack_id": "sim-video",
                    "resource_pack_type": "decreasing_total",
                    "total_quantity": 1000.0,
                    "remaining_quantity": 1000.0 - len(core.tasks),
                    "purchase_time": now_ms,
                    "effective_time": now_ms,
                    "invalid_time": now_ms + 86_400_000 * 365,
                    "status": "online",
                }
            ],
        }
    raise Answer(404, 1203, "requested resource does not exist")
