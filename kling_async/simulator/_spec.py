"""The simulator's own description of Kling's task families and their parameters.

Deliberately independent of ``kling_async.models`` and ``kling_async.endpoints``:
the simulator exists to catch the client's mistakes, so it must not share them.
Validation is written as small rule tables checked against the raw JSON body;
every failure names the field (answered as code 1201).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kling_async.simulator._models import check_video_model

__all__ = ["SIM_FAMILIES", "SimFamily", "validate_body"]

Check = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class SimFamily:
    """One task family as the simulator serves it."""

    name: str
    path: str
    pack: str | None
    typical_seconds: float
    result: str  # "video", "image", "audio", "video+audio", "voice", "element"
    required: tuple[str, ...] = ()
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max_len: Mapping[str, int] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    media: tuple[str, ...] = ()
    string_fields: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()

    def cost(self, body: Mapping[str, Any]) -> int:
        """Slots held: image families hold ``n`` (or the series size), others 1."""
        if self.pack != "image":
            return 1
        if body.get("result_type") == "series":
            amount = body.get("series_amount", 4)
            return amount if isinstance(amount, int) else 9
        n = body.get("n", 1)
        return n if isinstance(n, int) else 1


_VIDEO_RATIOS = frozenset({"16:9", "9:16", "1:1"})
_IMAGE_RATIOS = frozenset({"16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"})
_MODES = frozenset({"std", "pro"})
_DUR_CLASSIC = frozenset({"5", "10"})
_DUR_LONG = frozenset(str(i) for i in range(3, 16))


def _one_of(*names: str) -> Check:
    def check(body: Mapping[str, Any]) -> str | None:
        given = [n for n in names if body.get(n) not in (None, "")]
        if len(given) != 1:
            return f"exactly one of {'/'.join(names)} is required"
        return None

    return check


def _duration(long_models: frozenset[str]) -> Check:
    def check(body: Mapping[str, Any]) -> str | None:
        if "duration" not in body:
            return None
        value = body["duration"]
        if not isinstance(value, str):
            return 'duration must be a string such as "5"'
        allowed = _DUR_LONG if body.get("model_name") in long_models else _DUR_CLASSIC
        return None if value in allowed else f"duration {value!r} is not valid for this model"

    return check


def _prompt_unless_customize(body: Mapping[str, Any]) -> str | None:
    if body.get("multi_shot") and body.get("shot_type") == "customize":
        shots = body.get("multi_prompt")
        if not isinstance(shots, list) or not shots:
            return "multi_prompt is required for shot_type customize"
        return None
    if not body.get("prompt"):
        return "prompt is required"
    return None


def _camera(body: Mapping[str, Any]) -> str | None:
    cam = body.get("camera_control")
    if cam is None:
        return None
    if not isinstance(cam, dict) or "type" not in cam:
        return "camera_control.type is required"
    if cam["type"] == "simple":
        config = cam.get("config")
        if not isinstance(config, dict):
            return "camera_control.config is required for type simple"
        nonzero = [k for k, v in config.items() if v not in (0, 0.0, None)]
        if len(nonzero) != 1:
            return "camera_control.config must have exactly one non-zero field"
    return None


def _n_range(body: Mapping[str, Any]) -> str | None:
    if "n" not in body:
        return None
    n = body["n"]
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 9:
        return "n must be an integer in [1, 9]"
    return None


def _effects_input(body: Mapping[str, Any]) -> str | None:
    value = body.get("input")
    if not isinstance(value, dict):
        return "input is required"
    if ("image" in value) == ("images" in value):
        return "input needs exactly one of image/images"
    if "images" in value and (not isinstance(value["images"], list) or len(value["images"]) != 2):
        return "input.images must hold 2 images"
    return None


def _face_choose(body: Mapping[str, Any]) -> str | None:
    faces = body.get("face_choose")
    if not isinstance(faces, list) or len(faces) != 1:
        return "face_choose must hold exactly one face"
    face = faces[0]
    if not isinstance(face, dict) or not face.get("face_id"):
        return "face_choose[0].face_id is required"
    if bool(face.get("audio_id")) == bool(face.get("sound_file")):
        return "face_choose[0] needs exactly one of audio_id/sound_file"
    for key in ("sound_start_time", "sound_end_time", "sound_insert_time"):
        if not isinstance(face.get(key), int):
            return f"face_choose[0].{key} must be an integer (ms)"
    return None


def _lip_sync_input(body: Mapping[str, Any]) -> str | None:
    value = body.get("input")
    if not isinstance(value, dict):
        return "input is required"
    if bool(value.get("video_id")) == bool(value.get("video_url")):
        return "input needs exactly one of video_id/video_url"
    mode = value.get("mode")
    if mode == "text2video":
        for key in ("text", "voice_id", "voice_language"):
            if not value.get(key):
                return f"input.{key} is required for mode text2video"
        return None
    if mode == "audio2video":
        kind = value.get("audio_type")
        if kind not in ("file", "url"):
            return "input.audio_type must be file or url"
        return None if value.get(f"audio_{kind}") else f"input.audio_{kind} is required"
    return "input.mode must be text2video or audio2video"


def _audio_duration(body: Mapping[str, Any]) -> str | None:
    value = body.get("duration")
    if not isinstance(value, int | float) or isinstance(value, bool) or not 3 <= value <= 10:
        return "duration must be a number in [3, 10]"
    return None


def _list_len(name: str, low: int, high: int) -> Check:
    def check(body: Mapping[str, Any]) -> str | None:
        value = body.get(name)
        if value is None and low == 0:
            return None
        if not isinstance(value, list) or not low <= len(value) <= high:
            return f"{name} must hold {low}-{high} items"
        return None

    return check


def _image_required(body: Mapping[str, Any]) -> str | None:
    # A last frame alone is refused by every current model (2026 map).
    return None if body.get("image") else "image is required"


def _models_of(family: str) -> Check:
    def check(body: Mapping[str, Any]) -> str | None:
        return check_video_model(family, body)

    return check


def _v(name: str, path: str, secs: float, result: str = "video", **kw: Any) -> SimFamily:
    return SimFamily(name, path, "video", secs, result, **kw)


def _i(name: str, path: str, secs: float, **kw: Any) -> SimFamily:
    return SimFamily(name, path, "image", secs, "image", **kw)


_FAMILIES: tuple[SimFamily, ...] = (
    _v(
        "text2video",
        "/v1/videos/text2video",
        320,
        enums={"aspect_ratio": _VIDEO_RATIOS, "sound": frozenset({"on", "off"})},
        max_len={"prompt": 2500, "negative_prompt": 2500},
        ranges={"cfg_scale": (0, 1)},
        checks=(_models_of("text2video"), _prompt_unless_customize, _camera),
    ),
    _v(
        "image2video",
        "/v1/videos/image2video",
        165,
        enums={"sound": frozenset({"on", "off"})},
        max_len={"prompt": 2500, "negative_prompt": 2500},
        ranges={"cfg_scale": (0, 1)},
        media=("image", "image_tail", "static_mask"),
        checks=(_models_of("image2video"), _image_required, _camera),
    ),
    _v(
        "multi_image2video",
        "/v1/videos/multi-image2video",
        300,
        required=("image_list", "prompt"),
        enums={"mode": _MODES, "aspect_ratio": _VIDEO_RATIOS},
        max_len={"prompt": 2500},
        checks=(_list_len("image_list", 1, 4), _duration(frozenset())),
    ),
    _v(
        "omni_video",
        "/v1/videos/omni-video",
        300,
        enums={"aspect_ratio": _VIDEO_RATIOS},
        max_len={"prompt": 2500},
        checks=(_models_of("omni_video"), _prompt_unless_customize),
    ),
    _v(
        "motion_control",
        "/v1/videos/motion-control",
        300,
        required=("image_url", "video_url", "character_orientation", "mode"),
        enums={"character_orientation": frozenset({"image", "video"}), "mode": _MODES},
        media=("image_url",),
        checks=(_models_of("motion_control"),),
    ),
    _v(
        "multi_elements",
        "/v1/videos/multi-elements",
        300,
        required=("session_id", "edit_mode", "prompt"),
        enums={"edit_mode": frozenset({"addition", "swap", "removal"}), "mode": _MODES},
        max_len={"prompt": 2500},
        checks=(_duration(frozenset()),),
    ),
    _v(
        "video_extend",
        "/v1/videos/video-extend",
        320,
        required=("video_id",),
        max_len={"prompt": 2500},
        string_fields=("video_id",),
    ),
    _v(
        "advanced_lip_sync",
        "/v1/videos/advanced-lip-sync",
        455,
        required=("session_id",),
        checks=(_face_choose,),
    ),
    _v(
        "lip_sync",
        "/v1/videos/lip-sync",
        120,
        required=("input",),
        checks=(_lip_sync_input,),
    ),
    _v(
        "avatar",
        "/v1/videos/avatar/image2video",
        300,
        required=("image",),
        enums={"mode": _MODES},
        media=("image",),
        checks=(_one_of("audio_id", "sound_file"),),
    ),
    _v(
        "effects",
        "/v1/videos/effects",
        320,
        required=("effect_scene", "input"),
        checks=(_effects_input,),
    ),
    _v(
        "text_to_audio",
        "/v1/audio/text-to-audio",
        60,
        result="audio",
        required=("prompt",),
        max_len={"prompt": 200},
        checks=(_audio_duration,),
    ),
    _v(
        "video_to_audio",
        "/v1/audio/video-to-audio",
        90,
        result="video+audio",
        max_len={"sound_effect_prompt": 200, "bgm_prompt": 200},
        checks=(_one_of("video_id", "video_url"),),
    ),
    _v(
        "custom_voices",
        "/v1/general/custom-voices",
        30,
        result="voice",
        required=("voice_name",),
        max_len={"voice_name": 20},
        checks=(_one_of("voice_url", "video_id"),),
    ),
    _v(
        "advanced_custom_elements",
        "/v1/general/advanced-custom-elements",
        10,
        result="element",
        required=("element_name", "element_description", "reference_type"),
        enums={"reference_type": frozenset({"image_refer", "video_refer"})},
        max_len={"element_name": 20, "element_description": 100},
    ),
    _i(
        "image_generation",
        "/v1/images/generations",
        32,
        required=("prompt",),
        enums={
            "aspect_ratio": _IMAGE_RATIOS,
            "resolution": frozenset({"1k", "2k"}),
            "image_reference": frozenset({"subject", "face"}),
        },
        max_len={"prompt": 2500, "negative_prompt": 2500},
        media=("image",),
        ranges={"image_fidelity": (0, 1), "human_fidelity": (0, 1)},
        checks=(_n_range,),
    ),
    _i(
        "omni_image",
        "/v1/images/omni-image",
        40,
        required=("prompt",),
        enums={
            "aspect_ratio": _IMAGE_RATIOS | {"auto"},
            "resolution": frozenset({"1k", "2k", "4k"}),
            "result_type": frozenset({"single", "series"}),
        },
        max_len={"prompt": 2500},
        checks=(_n_range,),
    ),
    _i(
        "multi_image2image",
        "/v1/images/multi-image2image",
        40,
        required=("subject_image_list",),
        enums={"aspect_ratio": _IMAGE_RATIOS},
        checks=(_n_range, _list_len("subject_image_list", 1, 4)),
    ),
    _i(
        "image_expand",
        "/v1/images/editing/expand",
        40,
        required=(
            "image",
            "up_expansion_ratio",
            "down_expansion_ratio",
            "left_expansion_ratio",
            "right_expansion_ratio",
        ),
        ranges={f"{s}_expansion_ratio": (0, 2) for s in ("up", "down", "left", "right")},
        media=("image",),
        checks=(_n_range,),
    ),
    SimFamily(
        "ai_multi_shot",
        "/v1/general/ai-multi-shot",
        "image",
        40,
        "image",
        required=("element_frontal_image",),
        media=("element_frontal_image",),
    ),
    SimFamily(
        "virtual_try_on",
        "/v1/images/kolors-virtual-try-on",
        "try_on",
        20,
        "image",
        required=("human_image", "cloth_image"),
        media=("human_image", "cloth_image"),
        enums={"model_name": frozenset({"kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5"})},
    ),
)

SIM_FAMILIES: Mapping[str, SimFamily] = {f.path: f for f in _FAMILIES}
"""Task families by create path."""


def _check_media(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{name} must be a non-empty string"
    if value.startswith(("http://", "https://")):
        return None
    if value.startswith("data:"):
        return f"{name}: base64 must not carry a data: prefix"
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return f"{name} is neither a URL nor valid base64"
    return None


def validate_body(fam: SimFamily, body: Any) -> str | None:
    """Return an error message naming the bad field, or None when ``body`` is valid."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    for name in fam.required:
        if body.get(name) in (None, "", []):
            return f"{name} is required"
    for name, allowed in fam.enums.items():
        if name in body and body[name] not in allowed:
            return f"{name} has an invalid value {body[name]!r}"
    for name, limit in fam.max_len.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            return f"{name} must be a string of at most {limit} characters"
    for name, (low, high) in fam.ranges.items():
        value = body.get(name)
        if value is not None and (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not low <= value <= high
        ):
            return f"{name} must be a number in [{low}, {high}]"
    for name in fam.media:
        if name in body:
            problem = _check_media(name, body[name])
            if problem:
                return problem
    for name in (*fam.string_fields, "external_task_id", "callback_url"):
        if name in body and not isinstance(body[name], str):
            return f"{name} must be a string"
    for check in fam.checks:
        problem = check(body)
        if problem:
            return problem
    return None
