"""The simulator's 2026 design: model-in-path creates, ``GET /tasks``, ``POST /tasks``.

Written from ``kling_api_2026.md`` section C, independently of the client's models
(a mistake in one shows up against the other)::

    POST /{endpoint}/{model}   API key only (a JWT -> 401/1002, documented text)
      -> validate: body shape, contents, settings, options, per-model rules (1201)
      -> flatten to the simulator's task parameters -> SimulatorCore.create_task
         (same slots, packs, balances, external-id namespace and callbacks as /v1)
      -> answer the task record {id, status: submitted, external_id, ...}
    GET  /tasks?task_ids=|external_task_ids=   <= 20 ids (21 -> 400/1201, live text);
         unknown ids absent (data: []); /v1 tasks answered as records too
    POST /tasks   cursor listing, newest first; an empty page has no "result"
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from kling_async.simulator._errors import Answer, json_body
from kling_async.simulator._spec import SimFamily
from kling_async.simulator._state import SimTask


class SimulatorCore(Protocol):
    """What the 2026 routes need of the simulator's core (``_server.SimulatorCore``)."""

    tasks: dict[str, SimTask]
    external: dict[str, SimTask]

    def now(self) -> float: ...

    def envelope(self, data: Any) -> web.Response: ...

    async def answer_create(
        self, request: web.Request, fam: SimFamily, body: dict[str, Any], design: str = "v1"
    ) -> web.StreamResponse: ...


__all__ = [
    "AKSK_REFUSED",
    "ENDPOINTS_2026",
    "add_routes",
    "is_api_key_only",
    "validate_2026",
]

AKSK_REFUSED = (
    "Authentication error. The current API does not support AK/SK; please go to the "
    "console (https://kling.ai/dev/api-key) to create API key."
)
"""Live answer (HTTP 401, code 1002) to a JWT on a 2026-design path."""

TOO_MANY_IDS = "task_ids and external_task_ids cannot exceed 20 in total"
MAX_IDS = 20


@dataclass(frozen=True)
class _Model:
    resolutions: frozenset[str]
    durations: frozenset[int] | None  # None: not accepted (motion follows its video)
    audio: frozenset[str] | None  # None: no audio field
    multi_shot: bool = False
    last_frame: bool = True
    elements: int = 0
    voices: bool = False
    native_1080p_only: bool = False
    frames_1080p_only: bool = False
    frames_silent: bool = False
    five_or_ten_without_reference: bool = False
    legacy: str = ""


_HD = frozenset({"720p", "1080p"})
_UHD = frozenset({"720p", "1080p", "4k"})
_LONG = frozenset(range(3, 16))
_CLASSIC = frozenset({5, 10})

_TURBO = _Model(_HD, _LONG, None, multi_shot=True, last_frame=False, legacy="kling-3.0-turbo")
_V3 = _Model(_UHD, _LONG, frozenset({"native", "off"}), multi_shot=True, elements=3,
             legacy="kling-v3")  # fmt: skip
_V25 = _Model(_HD, _CLASSIC, frozenset({"off"}), frames_1080p_only=True, legacy="kling-v2-5-turbo")


def _v26(voices: bool) -> _Model:
    return _Model(_HD, _CLASSIC, frozenset({"native", "off"}), voices=voices,
                  native_1080p_only=True, frames_1080p_only=True, frames_silent=True,
                  legacy="kling-v2-6")  # fmt: skip


ENDPOINTS_2026: Mapping[str, Mapping[str, _Model]] = {
    "text-to-video": {
        "kling-3.0-turbo": _TURBO,
        "kling-3.0": _V3,
        "kling-2.6": _v26(False),
        "kling-2.5-turbo": _V25,
    },
    "image-to-video": {
        "kling-3.0-turbo": _TURBO,
        "kling-3.0": _V3,
        "kling-2.6": _v26(True),
        "kling-2.5-turbo": _V25,
    },
    "omni-video": {
        "kling-3.0-omni": _Model(
            _UHD,
            _LONG,
            frozenset({"native", "original", "off"}),
            multi_shot=True,
            elements=7,
            legacy="kling-v3-omni",
        ),
        "kling-o1": _Model(
            _HD,
            frozenset(range(3, 11)),
            frozenset({"original", "off"}),
            elements=7,
            five_or_ten_without_reference=True,
            legacy="kling-video-o1",
        ),
    },
    "motion-control": {
        "kling-3.0": _Model(
            _HD, None, frozenset({"original", "off"}), elements=1, legacy="kling-v3"
        ),
        "kling-2.6": _Model(_HD, None, frozenset({"original", "off"}), legacy="kling-v2-6"),
    },
}
"""Endpoint -> path model -> what it accepts (C2, C3)."""

_ITEMS = {
    "text-to-video": frozenset(),
    "image-to-video": frozenset({"prompt", "first_frame", "last_frame", "element", "voice"}),
    "omni-video": frozenset(
        {
            "prompt",
            "first_frame",
            "last_frame",
            "refer_image",
            "feature_video",
            "base_video",
            "element",
        }
    ),
    "motion-control": frozenset({"prompt", "image", "video", "element"}),
}
_SETTINGS = frozenset(
    {"resolution", "aspect_ratio", "duration", "audio", "multi_shot", "character_orientation"}
)
_OPTIONS = frozenset({"callback_url", "external_task_id", "watermark_info"})
_SHOT = re.compile(r"shot\s+(\d+)\s*,\s*(\d+)\s*,", re.IGNORECASE)

SIM_FAMILIES_2026: Mapping[str, SimFamily] = {
    "text-to-video": SimFamily("text-to-video", "/text-to-video/{model}", "video", 300, "video"),
    "image-to-video": SimFamily("image-to-video", "/image-to-video/{model}", "video", 165, "video"),
    "omni-video": SimFamily("omni-video", "/omni-video/{model}", "video", 300, "video"),
    "motion-control": SimFamily("motion-control", "/motion-control/{model}", "video", 300, "video"),
}


def is_api_key_only(path: str) -> bool:
    """True for the 2026 design's paths (an API key is the only credential)."""
    if path == "/tasks":
        return True
    head = path.strip("/").split("/", 1)[0]
    return head in ENDPOINTS_2026


def _is_media(value: Any, video: bool) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    if value.startswith(("http://", "https://")):
        return True
    return not video and re.fullmatch(r"[A-Za-z0-9+/=\s]+", value[:2048]) is not None


def _check_contents(endpoint: str, model: _Model, body: Mapping[str, Any]) -> str | None:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "contents cannot be empty"
    allowed = _ITEMS[endpoint]
    counts: dict[str, int] = {}
    for position, item in enumerate(contents):
        if not isinstance(item, dict):
            return f"contents[{position}] must be an object"
        kind = item.get("type")
        if kind not in allowed:
            return f"contents[{position}].type {kind!r} is not supported"
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "prompt" and not (isinstance(item.get("text"), str) and item["text"]):
            return f"contents[{position}].text is required"
        if kind in ("first_frame", "last_frame", "refer_image", "image") and not _is_media(
            item.get("url"), video=False
        ):
            return f"contents[{position}].url must be an image URL or Base64"
        if kind in ("feature_video", "base_video", "video") and not _is_media(
            item.get("url"), video=True
        ):
            return f"contents[{position}].url must be a video URL"
        if kind == "element" and not str(item.get("element_id") or "").isdigit():
            return f"contents[{position}].element_id is required"
        if kind == "voice" and not item.get("voice_id"):
            return f"contents[{position}].voice_id is required"
    for one in ("prompt", "first_frame", "last_frame", "image", "video"):
        if counts.get(one, 0) > 1:
            return f"only one {one} item is allowed"
    settings = body.get("settings") or {}
    first, last = counts.get("first_frame", 0), counts.get("last_frame", 0)
    elements, images = counts.get("element", 0), counts.get("refer_image", 0)
    if last and not first:
        return "last_frame requires first_frame"
    if last and not model.last_frame:
        return "this model supports first_frame only"
    if first and last:
        if model.frames_1080p_only and settings.get("resolution") != "1080p":
            return "first_frame with last_frame requires resolution 1080p"
        if model.frames_silent and settings.get("audio") == "native":
            return "first_frame with last_frame does not support native audio"
    if endpoint == "image-to-video" and not first:
        return "first_frame is required"
    if endpoint == "motion-control" and not (counts.get("image") and counts.get("video")):
        return "image and video are required"
    voices = counts.get("voice", 0)
    if voices and (not model.voices or voices > 2 or settings.get("audio") in (None, "off")):
        return "voice is only supported by kling-2.6 with audio on, at most 2"
    if endpoint != "omni-video":
        if elements > model.elements:
            return f"at most {model.elements} element(s) supported"
        return None
    videos = counts.get("feature_video", 0) + counts.get("base_video", 0)
    if videos > 1:
        return "at most one reference video"
    if images + elements > (4 if videos else 7):
        return "too many reference images and elements"
    if (first or last) and elements > 3:
        return "at most 3 elements with frames"
    if counts.get("base_video"):
        if first or last:
            return "base_video does not support frames"
        if settings.get("multi_shot", model.multi_shot):
            return "base_video does not support multi_shot"
        if settings.get("audio") == "native":
            return "base_video does not support native audio"
    if counts.get("feature_video") and settings.get("audio", "off") != "off":
        return "feature_video requires audio off"
    if not first and not videos and not settings.get("aspect_ratio"):
        return "aspect_ratio is required"
    duration = settings.get("duration", 5)
    if model.five_or_ten_without_reference and not (images or videos) and duration not in (5, 10):
        return "Duration only supports 5 or 10 seconds when no refer_image is provided"
    return None


def _check_settings(endpoint: str, model: _Model, settings: Any) -> str | None:
    if not isinstance(settings, dict):
        return "settings must be an object"
    unknown = sorted(set(settings) - _SETTINGS)
    if unknown:
        return f"settings.{unknown[0]} is not supported"
    resolution = settings.get("resolution", "720p")
    if resolution not in model.resolutions:
        return f"resolution {resolution!r} is not supported by this model"
    if "duration" in settings:
        duration = settings["duration"]
        if model.durations is None:
            return "duration is not supported (it follows the reference video)"
        if not isinstance(duration, int) or isinstance(duration, bool):
            return "duration must be an integer"
        if duration not in model.durations:
            return f"duration {duration} is not supported by this model"
    if "audio" in settings:
        if model.audio is None:
            return "audio is not supported by this model"
        if settings["audio"] not in model.audio:
            return f"audio {settings['audio']!r} is not supported by this model"
        if settings["audio"] == "native" and model.native_1080p_only and resolution != "1080p":
            return "native audio requires resolution 1080p"
    if "multi_shot" in settings:
        if not isinstance(settings["multi_shot"], bool):
            return "multi_shot must be a boolean"
        if settings["multi_shot"] and not model.multi_shot:
            return "multi_shot is not supported by this model"
    if "aspect_ratio" in settings:
        if endpoint not in ("text-to-video", "omni-video"):
            return "aspect_ratio is not supported"
        if settings["aspect_ratio"] not in ("16:9", "9:16", "1:1"):
            return "aspect_ratio is not supported"
    orientation = settings.get("character_orientation")
    if endpoint == "motion-control":
        if orientation not in ("image", "video"):
            return "character_orientation is required (image or video)"
    elif orientation is not None:
        return "character_orientation is not supported"
    return None


def _check_shots(prompt: str, settings: Mapping[str, Any], model: _Model) -> str | None:
    if not model.multi_shot or settings.get("multi_shot") is False:
        return None
    shots = _SHOT.findall(prompt)
    if not shots or not prompt.lstrip().lower().startswith("shot"):
        return None
    if len(shots) > 6:
        return "at most 6 shots"
    total = sum(int(seconds) for _, seconds in shots)
    if total != settings.get("duration", 5):
        return "the shot durations must add up to duration"
    return None


def validate_2026(endpoint: str, model_id: str, body: Any) -> str | None:
    """The first problem with a 2026 create body, or None (answered as 1201)."""
    models = ENDPOINTS_2026[endpoint]
    model = models.get(model_id)
    if model is None:
        return f"model {model_id} is not supported by {endpoint}"
    if not isinstance(body, dict):
        return "body must be an object"
    top = {"prompt"} if endpoint == "text-to-video" else {"contents"}
    unknown = sorted(set(body) - top - {"settings", "options"})
    if unknown:
        if endpoint != "text-to-video" and "prompt" in unknown:
            return "contents cannot be empty"
        return f"{unknown[0]} is not supported"
    settings = body.get("settings", {})
    problem = _check_settings(endpoint, model, settings)
    if problem:
        return problem
    options = body.get("options", {})
    if not isinstance(options, dict):
        return "options must be an object"
    if set(options) - _OPTIONS:
        return f"options.{sorted(set(options) - _OPTIONS)[0]} is not supported"
    ext = options.get("external_task_id")
    if ext is not None and (not isinstance(ext, str) or not ext):
        return "options.external_task_id must be a string"
    prompt: str = ""
    if endpoint == "text-to-video":
        if not isinstance(body.get("prompt"), str) or not body["prompt"]:
            return "prompt is required"
        prompt = body["prompt"]
    else:
        problem = _check_contents(endpoint, model, body)
        if problem:
            return problem
        texts = [c.get("text") for c in body["contents"] if c.get("type") == "prompt"]
        prompt = str(texts[0]) if texts else ""
    limit = 3072 if model_id in ("kling-3.0", "kling-3.0-omni", "kling-3.0-turbo") else 2500
    if len(prompt) > limit:
        return f"prompt must be at most {limit} characters"
    return _check_shots(prompt, settings, model)


def flatten(endpoint: str, model_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The simulator's task parameters for a 2026 body (the ``/v1`` vocabulary its
    billing, files and slots already read)."""
    model = ENDPOINTS_2026[endpoint][model_id]
    settings = body.get("settings") or {}
    options = body.get("options") or {}
    contents = body.get("contents") or []
    resolution = settings.get("resolution", "720p")
    audio = settings.get("audio", "original" if endpoint == "motion-control" else "off")
    texts = [c.get("text") for c in contents if c.get("type") == "prompt"]
    params: dict[str, Any] = {
        "model": model_id,
        "model_name": model.legacy,
        "mode": {"720p": "std", "1080p": "pro"}.get(resolution, resolution),
        "sound": "on" if model.audio is None or audio == "native" else "off",
        "duration": str(settings.get("duration", 5)),
        "prompt": body.get("prompt") or (texts[0] if texts else ""),
        "external_task_id": options.get("external_task_id"),
        "callback_url": options.get("callback_url"),
    }
    if options.get("watermark_info") is not None:
        params["watermark_info"] = options["watermark_info"]
    if any(c.get("type") in ("feature_video", "base_video") for c in contents):
        params["video_list"] = [c for c in contents if c.get("type", "").endswith("_video")]
    if any(c.get("type") == "voice" for c in contents):
        params["voice_list"] = [c for c in contents if c.get("type") == "voice"]
    return {k: v for k, v in params.items() if v is not None}


def _ids(raw: str | None) -> list[str]:
    return [part for part in (raw or "").split(",") if part]


def add_routes(core: SimulatorCore, router: web.UrlDispatcher) -> None:
    """Serve the 2026 design on ``router``."""
    for endpoint, fam in SIM_FAMILIES_2026.items():
        router.add_post(f"/{endpoint}/{{model}}", _create_handler(core, endpoint, fam))
    router.add_get("/tasks", _query_handler(core))
    router.add_post("/tasks", _list_handler(core))


def _create_handler(core: SimulatorCore, endpoint: str, fam: SimFamily) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        model_id = request.match_info["model"]
        problem = validate_2026(endpoint, model_id, body)
        if problem:
            raise Answer(400, 1201, problem)
        params = flatten(endpoint, model_id, body)
        return await core.answer_create(request, fam, params, design="2026")

    return handle


def _query_handler(core: SimulatorCore) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        task_ids = _ids(request.query.get("task_ids"))
        external = _ids(request.query.get("external_task_ids"))
        if len(task_ids) + len(external) > MAX_IDS:
            raise Answer(400, 1201, TOO_MANY_IDS)
        if not task_ids and not external:
            raise Answer(400, 1201, "task_ids or external_task_ids is required")
        now = core.now()
        found = [core.tasks[i] for i in dict.fromkeys(task_ids) if i in core.tasks]
        found += [core.external[e] for e in dict.fromkeys(external) if e in core.external]
        unique = list({t.task_id: t for t in found}.values())
        return core.envelope([t.to_record(now) for t in unique])

    return handle


def _list_handler(core: SimulatorCore) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        limit = body.get("limit", 100)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500:
            raise Answer(400, 1201, "limit must be in [1, 500]")
        now = core.now()
        tasks = sorted(core.tasks.values(), key=lambda t: (t.created_ms, t.seq), reverse=True)
        cursor = body.get("cursor")
        if cursor:
            try:
                start = int(str(cursor).removeprefix("c"))
            except ValueError:
                raise Answer(400, 1201, "cursor is invalid") from None
        else:
            start = 0
            low, high = _window(body)
            tasks = [t for t in tasks if low <= t.created_ms <= high]
        for flt in body.get("filters") or []:
            values = set(flt.get("values") or [])
            if flt.get("key") == "status":
                tasks = [t for t in tasks if _status_word(t, now) in values]
            elif flt.get("key") == "product_type":
                tasks = [t for t in tasks if (t.pack or "video") in values]
        page = tasks[start : start + limit]
        more = start + limit < len(tasks)
        data: dict[str, Any] = {"count": len(page), "has_more": more}
        if page:
            data["result"] = [t.to_record(now) for t in page]
        if more:
            data["next_cursor"] = f"c{start + limit}"
        return core.envelope(data)

    return handle


def _window(body: Mapping[str, Any]) -> tuple[int, int]:
    def ms(value: Any, default: int) -> int:
        if value is None:
            return default
        try:
            return int(value)  # numbers and strings both accepted (live)
        except (TypeError, ValueError):
            raise Answer(400, 1201, "start_time and end_time must be milliseconds") from None

    now_ms = int(time.time() * 1000)
    return ms(body.get("start_time"), now_ms - 30 * 86_400_000), ms(body.get("end_time"), now_ms)


def _status_word(task: Any, now: float) -> str:
    status = str(task.status(now))
    return "succeeded" if status == "succeed" else status
