"""Request models for the video editing families: motion control, multi-elements
(with its synchronous selection calls), video extend, lip-sync, avatar, effects
(video pack, 1 slot each)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from kling_async.errors import UsageError
from kling_async.models._base import (
    AudioMedia,
    Duration,
    ElementRef,
    HttpURL,
    KlingModel,
    KlingRequest,
    KlingSyncRequest,
    Media,
    Mode,
    NonEmpty,
    Prompt,
    WatermarkInfo,
    check_duration,
    check_known_model,
    exactly_one,
    rules_for,
)
from kling_async.models._video import _ImageItem
from kling_async.models._video_rules import ANY_MODEL, MOTION_MODELS
from kling_async.models._video_rules import CLASSIC as _CLASSIC

__all__ = [
    "AdvancedLipSync",
    "Avatar",
    "EffectInput",
    "FaceChoice",
    "IdentifyFace",
    "LipSync",
    "LipSyncInput",
    "MotionControl",
    "MultiElements",
    "MultiElementsInitSelection",
    "MultiElementsSelection",
    "MultiElementsSession",
    "SelectionPoint",
    "VideoEffects",
    "VideoExtend",
]


class MotionControl(KlingRequest):
    """Motion control (``POST /v1/videos/motion-control``).

    Known models: ``kling-v2-6`` (default) and ``kling-v3`` (one element, which needs
    ``character_orientation="video"``); std / pro only (no 4K).
    """

    family = "motion_control"

    model_name: NonEmpty | None = None
    prompt: Prompt | None = None
    image_url: Media
    video_url: HttpURL
    keep_original_sound: Literal["yes", "no"] | None = None
    character_orientation: Literal["image", "video"]
    mode: Mode
    element_list: Annotated[list[ElementRef], Field(min_length=1)] | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> MotionControl:
        rules = rules_for(self.family, self.model_name, MOTION_MODELS, unknown=ANY_MODEL)
        name = self.model_name or "kling-v2-6"
        if self.element_list:
            if len(self.element_list) > rules.max_elements:
                raise UsageError(
                    f"element_list allows at most {rules.max_elements} item(s) on {name}"
                    if rules.max_elements
                    else f"element_list is not supported by {name} (kling-v3 takes one)"
                )
            if self.character_orientation != "video":
                raise UsageError("character_orientation must be 'video' with element_list")
        return self


class MultiElements(KlingRequest):
    """Multi-elements video editing task (``POST /v1/videos/multi-elements``)."""

    family = "multi_elements"

    model_name: NonEmpty | None = None
    session_id: NonEmpty
    edit_mode: Literal["addition", "swap", "removal"]
    image_list: Annotated[list[_ImageItem], Field(max_length=2)] | None = None
    prompt: Annotated[Prompt, StringConstraints(min_length=1)]
    negative_prompt: Prompt | None = None
    mode: Mode | None = None
    duration: Duration | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> MultiElements:
        check_known_model(self.family, self.model_name, ("kling-v1-6",))
        count = len(self.image_list or [])
        expected = {"addition": (1, 2), "swap": (1, 1), "removal": (0, 0)}[self.edit_mode]
        if not expected[0] <= count <= expected[1]:
            want = (
                f"{expected[0]}-{expected[1]}" if expected[0] != expected[1] else str(expected[0])
            )
            raise UsageError(
                f"image_list must hold {want} image(s) for edit_mode {self.edit_mode!r}, "
                f"got {count}"
            )
        check_duration(self.duration, _CLASSIC)
        return self


class _VideoSource(KlingSyncRequest):
    """A Kling video (``video_id``) or a video URL, exactly one."""

    video_id: NonEmpty | None = None
    video_url: HttpURL | None = None

    @model_validator(mode="after")
    def _check_source(self) -> _VideoSource:
        exactly_one(self, ("video_id", "video_url"))
        return self


class MultiElementsInitSelection(_VideoSource):
    """Start a multi-elements selection session from ``video_id`` xor ``video_url``."""

    endpoint = "multi_elements_init_selection"


class SelectionPoint(KlingModel):
    """A point on a frame, relative coordinates in [0, 1]."""

    x: Annotated[float, Field(ge=0, le=1)]
    y: Annotated[float, Field(ge=0, le=1)]


class MultiElementsSelection(KlingSyncRequest):
    """Add or delete selection points on one frame of a session."""

    endpoint = "multi_elements_add_selection"

    session_id: NonEmpty
    frame_index: Annotated[int, Field(ge=0)]
    points: Annotated[list[SelectionPoint], Field(min_length=1, max_length=10)]


class MultiElementsSession(KlingSyncRequest):
    """A selection session id (clear or preview the selection)."""

    endpoint = "multi_elements_preview_selection"

    session_id: NonEmpty


class VideoExtend(KlingRequest):
    """Extend a Kling-generated video by ~4-5 s (``POST /v1/videos/video-extend``)."""

    family = "video_extend"

    video_id: NonEmpty
    prompt: Prompt | None = None
    negative_prompt: Prompt | None = None
    cfg_scale: Annotated[float, Field(ge=0, le=1)] | None = None
    watermark_info: WatermarkInfo | None = None


class IdentifyFace(_VideoSource):
    """Detect faces for lip-sync (synchronous; ``video_id`` xor ``video_url``)."""

    endpoint = "identify_face"


class FaceChoice(KlingModel):
    """Which face to lip-sync and with what audio (times in milliseconds)."""

    face_id: NonEmpty
    audio_id: NonEmpty | None = None
    sound_file: AudioMedia | None = None
    sound_start_time: Annotated[int, Field(ge=0)]
    sound_end_time: Annotated[int, Field(ge=0)]
    sound_insert_time: Annotated[int, Field(ge=0)]
    sound_volume: Annotated[float, Field(ge=0, le=2)] | None = None
    original_audio_volume: Annotated[float, Field(ge=0, le=2)] | None = None

    @model_validator(mode="after")
    def _check(self) -> FaceChoice:
        exactly_one(self, ("audio_id", "sound_file"))
        if self.sound_end_time - self.sound_start_time < 2000:
            raise UsageError(
                "sound_end_time - sound_start_time must be at least 2000 ms (cropped audio >= 2 s)"
            )
        return self


class AdvancedLipSync(KlingRequest):
    """Lip-sync a detected face to audio (``POST /v1/videos/advanced-lip-sync``)."""

    family = "advanced_lip_sync"

    session_id: NonEmpty
    face_choose: Annotated[list[FaceChoice], Field(min_length=1, max_length=1)]
    watermark_info: WatermarkInfo | None = None


class LipSyncInput(KlingModel):
    """``input`` of the single-call lip-sync: a video and what the lips should say.

    ``mode="text2video"`` speaks ``text`` with a TTS ``voice_id`` / ``voice_language``;
    ``mode="audio2video"`` uses an audio file (``audio_type="file"`` + ``audio_file``,
    Base64 or URL, ≤ 5 MB) or URL (``audio_type="url"`` + ``audio_url``).
    """

    video_id: NonEmpty | None = None
    video_url: HttpURL | None = None
    mode: Literal["text2video", "audio2video"]
    text: NonEmpty | None = None
    voice_id: NonEmpty | None = None
    voice_language: Literal["zh", "en"] | None = None
    voice_speed: Annotated[float, Field(ge=0.8, le=2.0)] | None = None
    audio_type: Literal["file", "url"] | None = None
    audio_file: AudioMedia | None = None
    audio_url: HttpURL | None = None

    @model_validator(mode="after")
    def _check(self) -> LipSyncInput:
        exactly_one(self, ("video_id", "video_url"))
        if self.mode == "text2video":
            missing = [n for n in ("text", "voice_id", "voice_language") if not getattr(self, n)]
            if missing:
                raise UsageError(f"input.{missing[0]} is required for mode 'text2video'")
        else:
            if self.audio_type is None:
                raise UsageError("input.audio_type ('file' or 'url') is required for audio2video")
            field = f"audio_{self.audio_type}"
            if getattr(self, field) is None:
                raise UsageError(f"input.{field} is required for audio_type {self.audio_type!r}")
        return self


class LipSync(KlingRequest):
    """Single-call lip-sync (``POST /v1/videos/lip-sync``; video pack, 1 slot).

    The older lip-sync API, still served and used by peer clients; the current one is
    identify-face + :class:`AdvancedLipSync`. Its list endpoint is not documented, so
    its tasks are followed by single queries.
    """

    family = "lip_sync"

    input: LipSyncInput


class Avatar(KlingRequest):
    """Talking avatar from an image and audio (``POST /v1/videos/avatar/image2video``)."""

    family = "avatar"

    image: Media
    audio_id: NonEmpty | None = None
    sound_file: AudioMedia | None = None
    prompt: Prompt | None = None
    mode: Mode | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> Avatar:
        exactly_one(self, ("audio_id", "sound_file"))
        return self


class EffectInput(KlingModel):
    """``input`` of a video effect: one ``image``, or two ``images`` for dual effects."""

    image: Media | None = None
    images: Annotated[list[Media], Field(min_length=2, max_length=2)] | None = None
    duration: Duration | None = None
    model_name: NonEmpty | None = None
    mode: Mode | None = None

    @model_validator(mode="after")
    def _check(self) -> EffectInput:
        check_known_model("effects", self.model_name, ("kling-v1", "kling-v1-5", "kling-v1-6"))
        exactly_one(self, ("image", "images"))
        check_duration(self.duration, (5,) if self.images else _CLASSIC, "input.duration")
        return self


class VideoEffects(KlingRequest):
    """Video effect template (``POST /v1/videos/effects``).

    ``effect_scene`` is not checked against a list: Kling adds scenes often.
    """

    family = "effects"

    effect_scene: Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")]
    input: EffectInput
