"""The simulator's own per-model rules for the video families (``kling_api_2026.md`` B).

Written independently of the client's models (the simulator must not share the
client's mistakes). Like live Kling, it refuses a model it does not serve (400/1201),
and ``kling-v1`` with the message live Kling used when it was retired.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DISCONTINUED", "check_video_model"]

DISCONTINUED = {
    "kling-v1": "The model 'kling-v1' has been discontinued and is no longer available."
}
"""Model names live Kling refuses as retired, with its message (A6, 2026-09)."""

_CLASSIC = {"5", "10"}
_LONG = {str(s) for s in range(3, 16)}

# model -> (modes, durations, sound allowed, multi-shot allowed); None mode set = no mode.
_T2V: Mapping[str, tuple[set[str] | None, set[str], bool, bool]] = {
    "kling-v1-6": ({"std", "pro"}, _CLASSIC, False, False),
    "kling-v2-master": (None, _CLASSIC, False, False),
    "kling-v2-1-master": ({"std", "pro"}, _CLASSIC, False, False),
    "kling-v2-5-turbo": ({"std", "pro"}, _CLASSIC, False, False),
    "kling-v2-6": ({"std", "pro"}, _CLASSIC, True, False),
    "kling-v3": ({"std", "pro", "4k"}, _LONG, True, True),
}
_I2V = {
    **_T2V,
    "kling-v1-5": ({"std", "pro"}, _CLASSIC, False, False),
    "kling-v2-1": ({"std", "pro"}, _CLASSIC, False, False),
}
_OMNI = {
    "kling-video-o1": ({"std", "pro"}, {str(s) for s in range(3, 11)}, False, False),
    "kling-v3-omni": ({"std", "pro", "4k"}, _LONG, True, True),
}
_MOTION = {
    "kling-v2-6": ({"std", "pro"}, _LONG, False, False),
    "kling-v3": ({"std", "pro"}, _LONG, False, False),
}
_TABLES = {"text2video": _T2V, "image2video": _I2V, "omni_video": _OMNI, "motion_control": _MOTION}
_DEFAULTS = {
    "text2video": "kling-v1-6",
    "image2video": "kling-v1-6",
    "omni_video": "kling-video-o1",
    "motion_control": "kling-v2-6",
}


def check_video_model(family: str, body: Mapping[str, Any]) -> str | None:
    """A problem with the model-dependent fields of a video create, or None."""
    table = _TABLES.get(family)
    if table is None:
        return None
    name = body.get("model_name") or _DEFAULTS[family]
    if name in DISCONTINUED:
        return DISCONTINUED[name]
    if name not in table:
        return f"model_name {name!r} is not supported"
    modes, durations, sound, multi_shot = table[name]
    mode = body.get("mode")
    if mode is not None:
        if modes is None:
            return f"mode is not supported by {name}"
        if mode not in modes:
            return f"mode {mode!r} is not supported by {name}"
    duration = body.get("duration")
    if family != "motion_control" and duration is not None:
        if not isinstance(duration, str):
            return 'duration must be a string such as "5"'
        if duration not in durations and not (family == "omni_video" and _is_edit(body)):
            return f"duration {duration!r} is not valid for {name}"
    if body.get("sound") == "on" and not sound:
        return f"sound is not supported by {name}"
    if body.get("sound") == "on" and name == "kling-v2-6" and mode != "pro":
        return "sound on needs mode pro for kling-v2-6"
    if body.get("multi_shot") and not multi_shot:
        return f"multi_shot is not supported by {name}"
    return None


def _is_edit(body: Mapping[str, Any]) -> bool:
    videos = body.get("video_list")
    return isinstance(videos, list) and any(
        isinstance(v, dict) and v.get("refer_type") == "base" for v in videos
    )
