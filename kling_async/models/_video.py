"""Request models for the video families (video pack, 1 slot each)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from kling_async.models._base import (
    AspectRatio,
    AudioMedia,
    CameraControl,
    Duration,
    ElementRef,
    HttpURL,
    KlingModel,
    KlingRequest,
    KlingSyncRequest,
    Media,
    Mode,
    MultiPromptShot,
    NonEmpty,
    OnOff,
    Prompt,
    VoiceRef,
    WatermarkInfo,
    check_duration,
    exactly_one,
)

__all__ = [
    "AdvancedLipSync",
    "Avatar",
    "DynamicMask",
    "EffectInput",
    "FaceChoice",
    "IdentifyFace",
    "ImageToVideo",
    "MotionControl",
    "MultiElements",
    "MultiElementsInitSelection",
    "MultiElementsSelection",
    "MultiElementsSession",
    "MultiImageToVideo",
    "OmniImageRef",
    "OmniVideo",
    "OmniVideoRef",
    "SelectionPoint",
    "TextToVideo",
    "TrajectoryPoint",
    "VideoEffects",
    "VideoExtend",
]

_LONG_DURATION_MODELS = frozenset({"kling-v3", "kling-v3-omni"})
_SOUND_MODELS = frozenset({"kling-v2-6", "kling-v3", "kling-v3-omni"})
_CLASSIC = (5, 10)


def _check_multi_shot(
    multi_shot: bool | None,
    shot_type: str | None,
    multi_prompt: list[MultiPromptShot] | None,
    prompt: str | None,
    duration: str | None,
    *,
    default_duration: int = 5,
) -> None:
    if multi_shot:
        if shot_type is None:
            raise ValueError("shot_type is required when multi_shot is true")
        if shot_type == "customize":
            if not multi_prompt:
                raise ValueError("multi_prompt is required when shot_type is 'customize'")
            total = int(duration) if duration is not None else default_duration
            durations = [int(shot.duration) for shot in multi_prompt]
            if any(d < 1 or d > total for d in durations):
                raise ValueError("each multi_prompt[].duration must be >= 1 and <= duration")
            if sum(durations) != total:
                raise ValueError(
                    f"multi_prompt durations must add up to duration ({total}), "
                    f"got {sum(durations)}"
                )
        elif not prompt:
            raise ValueError("prompt is required when shot_type is 'intelligence'")
    elif not prompt:
        raise ValueError("prompt is required (unless multi_shot with shot_type 'customize')")


def _check_sound(model_name: str | None, sound: str | None, voices: list[VoiceRef] | None) -> None:
    if sound is not None and (model_name or "kling-v1") not in _SOUND_MODELS:
        raise ValueError(f"sound is only supported by {', '.join(sorted(_SOUND_MODELS))}")
    if voices and sound != "on":
        raise ValueError("voice_list requires sound='on'")


def _check_cfg(model_name: str | None, cfg_scale: float | None) -> None:
    if cfg_scale is not None and (model_name or "").startswith("kling-v2"):
        raise ValueError("cfg_scale is not supported by kling-v2.x models")


def _check_mode_4k(model_name: str | None, mode: str | None) -> None:
    if mode == "4k" and (model_name or "kling-v1") not in _LONG_DURATION_MODELS:
        raise ValueError("mode '4k' is only supported by kling-v3")


def _video_durations(model_name: str | None) -> tuple[int, ...]:
    return tuple(range(3, 16)) if model_name in _LONG_DURATION_MODELS else _CLASSIC


class TextToVideo(KlingRequest):
    """Text to video (``POST /v1/videos/text2video``)."""

    family = "text2video"

    model_name: (
        Literal[
            "kling-v1",
            "kling-v1-6",
            "kling-v2-master",
            "kling-v2-1-master",
            "kling-v2-5-turbo",
            "kling-v2-6",
            "kling-v3",
        ]
        | None
    ) = None
    prompt: Prompt | None = None
    negative_prompt: Prompt | None = None
    multi_shot: bool | None = None
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: Annotated[list[MultiPromptShot], Field(min_length=1, max_length=6)] | None = None
    sound: OnOff | None = None
    voice_list: Annotated[list[VoiceRef], Field(min_length=1, max_length=2)] | None = None
    cfg_scale: Annotated[float, Field(ge=0, le=1)] | None = None
    mode: Literal["std", "pro", "4k"] | None = None
    camera_control: CameraControl | None = None
    aspect_ratio: AspectRatio | None = None
    duration: Duration | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> TextToVideo:
        _check_multi_shot(
            self.multi_shot, self.shot_type, self.multi_prompt, self.prompt, self.duration
        )
        _check_sound(self.model_name, self.sound, self.voice_list)
        _check_cfg(self.model_name, self.cfg_scale)
        _check_mode_4k(self.model_name, self.mode)
        check_duration(self.duration, _video_durations(self.model_name))
        return self


class TrajectoryPoint(KlingModel):
    """A motion-brush point in pixels; origin at the image's bottom-left corner."""

    x: int
    y: int


class DynamicMask(KlingModel):
    """A motion-brush area and its trajectory (2-77 points)."""

    mask: Media
    trajectories: Annotated[list[TrajectoryPoint], Field(min_length=2, max_length=77)]


class ImageToVideo(KlingRequest):
    """Image to video (``POST /v1/videos/image2video``)."""

    family = "image2video"

    model_name: (
        Literal[
            "kling-v1",
            "kling-v1-5",
            "kling-v1-6",
            "kling-v2-master",
            "kling-v2-1",
            "kling-v2-1-master",
            "kling-v2-5-turbo",
            "kling-v2-6",
            "kling-v3",
        ]
        | None
    ) = None
    image: Media | None = None
    image_tail: Media | None = None
    prompt: Prompt | None = None
    negative_prompt: Prompt | None = None
    multi_shot: bool | None = None
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: Annotated[list[MultiPromptShot], Field(min_length=1, max_length=6)] | None = None
    element_list: Annotated[list[ElementRef], Field(min_length=1, max_length=3)] | None = None
    voice_list: Annotated[list[VoiceRef], Field(min_length=1, max_length=2)] | None = None
    sound: OnOff | None = None
    cfg_scale: Annotated[float, Field(ge=0, le=1)] | None = None
    mode: Literal["std", "pro", "4k"] | None = None
    static_mask: Media | None = None
    dynamic_masks: Annotated[list[DynamicMask], Field(min_length=1, max_length=6)] | None = None
    camera_control: CameraControl | None = None
    duration: Duration | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> ImageToVideo:
        if self.image is None and self.image_tail is None:
            raise ValueError("image is required (or image_tail for end-frame-only control)")
        groups = [
            name
            for name, used in (
                ("image_tail", self.image_tail is not None),
                ("static_mask/dynamic_masks", bool(self.static_mask or self.dynamic_masks)),
                ("camera_control", self.camera_control is not None),
            )
            if used
        ]
        if len(groups) > 1:
            raise ValueError(f"{' and '.join(groups)} cannot be used together")
        if self.element_list and self.voice_list:
            raise ValueError("element_list and voice_list cannot be used together")
        if self.multi_shot:
            if self.image_tail is not None:
                raise ValueError("multi_shot cannot be combined with image_tail (end frame)")
            _check_multi_shot(
                self.multi_shot, self.shot_type, self.multi_prompt, self.prompt, self.duration
            )
        _check_sound(self.model_name, self.sound, self.voice_list)
        _check_cfg(self.model_name, self.cfg_scale)
        _check_mode_4k(self.model_name, self.mode)
        check_duration(self.duration, _video_durations(self.model_name))
        return self


class _ImageItem(KlingModel):
    image: Media


class MultiImageToVideo(KlingRequest):
    """Reference images to video (``POST /v1/videos/multi-image2video``)."""

    family = "multi_image2video"

    model_name: Literal["kling-v1-6"] | None = None
    image_list: Annotated[list[_ImageItem], Field(min_length=1, max_length=4)]
    prompt: Annotated[Prompt, StringConstraints(min_length=1)]
    negative_prompt: Prompt | None = None
    mode: Mode | None = None
    duration: Duration | None = None
    aspect_ratio: AspectRatio | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> MultiImageToVideo:
        check_duration(self.duration, _CLASSIC)
        return self


class OmniImageRef(KlingModel):
    """An image for omni video: a reference, or a ``first_frame`` / ``end_frame``."""

    image_url: Media
    type: Literal["first_frame", "end_frame"] | None = None


class OmniVideoRef(KlingModel):
    """A video for omni video: ``feature`` reference or ``base`` video to edit."""

    video_url: HttpURL
    refer_type: Literal["feature", "base"] | None = None
    keep_original_sound: Literal["yes", "no"] | None = None


class OmniVideo(KlingRequest):
    """Omni video (``POST /v1/videos/omni-video``)."""

    family = "omni_video"

    model_name: Literal["kling-video-o1", "kling-v3-omni"] | None = None
    prompt: Prompt | None = None
    multi_shot: bool | None = None
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: Annotated[list[MultiPromptShot], Field(min_length=1, max_length=6)] | None = None
    image_list: Annotated[list[OmniImageRef], Field(min_length=1, max_length=7)] | None = None
    element_list: Annotated[list[ElementRef], Field(min_length=1, max_length=7)] | None = None
    video_list: Annotated[list[OmniVideoRef], Field(min_length=1, max_length=1)] | None = None
    sound: OnOff | None = None
    mode: Mode | None = None
    aspect_ratio: AspectRatio | None = None
    duration: Duration | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> OmniVideo:
        model = self.model_name or "kling-video-o1"
        images = self.image_list or []
        kinds = [img.type for img in images]
        has_video = bool(self.video_list)
        is_base = has_video and any(v.refer_type == "base" for v in self.video_list or [])
        frames = [k for k in kinds if k is not None]
        if self.multi_shot and model != "kling-v3-omni":
            raise ValueError("multi_shot is only supported by kling-v3-omni")
        if self.multi_shot and frames:
            raise ValueError("multi_shot cannot be combined with first_frame/end_frame images")
        _check_multi_shot(
            self.multi_shot, self.shot_type, self.multi_prompt, self.prompt, self.duration
        )
        limit = 4 if has_video else 7
        if len(images) + len(self.element_list or []) > limit:
            raise ValueError(
                f"image_list and element_list together allow at most {limit} items"
                + (" when video_list is given" if has_video else "")
            )
        if kinds.count("first_frame") > 1 or kinds.count("end_frame") > 1:
            raise ValueError("image_list may hold at most one first_frame and one end_frame")
        if "end_frame" in kinds:
            if "first_frame" not in kinds:
                raise ValueError("image_list: an end_frame requires a first_frame")
            if len(images) > 2:
                raise ValueError("image_list: end_frame is not allowed with more than 2 images")
        if is_base and frames:
            raise ValueError("video_list refer_type 'base' cannot be combined with frame images")
        if has_video and self.sound == "on":
            raise ValueError("sound must be 'off' when video_list is given")
        if self.sound is not None and model != "kling-v3-omni":
            raise ValueError("sound is only supported by kling-v3-omni")
        if self.aspect_ratio is None and "first_frame" not in kinds and not is_base:
            raise ValueError("aspect_ratio is required without a first_frame image or a base video")
        if not is_base:
            top = 15 if model == "kling-v3-omni" else 10
            if has_video:
                top = 10
            allowed: tuple[int, ...] = tuple(range(3, top + 1))
            plain = (
                model == "kling-video-o1"
                and not self.element_list
                and (not images or frames == ["first_frame"])
                and not has_video
                and len(images) <= 1
            )
            if plain:
                allowed = (5, 10)
            check_duration(self.duration, allowed)
        return self


class MotionControl(KlingRequest):
    """Motion control (``POST /v1/videos/motion-control``)."""

    family = "motion_control"

    model_name: Literal["kling-v2-6", "kling-v3"] | None = None
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
        if self.element_list:
            if self.model_name != "kling-v3":
                raise ValueError("element_list is only supported by kling-v3")
            if self.character_orientation != "video":
                raise ValueError("character_orientation must be 'video' with element_list")
        return self


class MultiElements(KlingRequest):
    """Multi-elements video editing task (``POST /v1/videos/multi-elements``)."""

    family = "multi_elements"

    model_name: Literal["kling-v1-6"] | None = None
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
        count = len(self.image_list or [])
        expected = {"addition": (1, 2), "swap": (1, 1), "removal": (0, 0)}[self.edit_mode]
        if not expected[0] <= count <= expected[1]:
            want = (
                f"{expected[0]}-{expected[1]}" if expected[0] != expected[1] else str(expected[0])
            )
            raise ValueError(
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
            raise ValueError(
                "sound_end_time - sound_start_time must be at least 2000 ms (cropped audio >= 2 s)"
            )
        return self


class AdvancedLipSync(KlingRequest):
    """Lip-sync a detected face to audio (``POST /v1/videos/advanced-lip-sync``)."""

    family = "advanced_lip_sync"

    session_id: NonEmpty
    face_choose: Annotated[list[FaceChoice], Field(min_length=1, max_length=1)]
    watermark_info: WatermarkInfo | None = None


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
    model_name: Literal["kling-v1", "kling-v1-5", "kling-v1-6"] | None = None
    mode: Mode | None = None

    @model_validator(mode="after")
    def _check(self) -> EffectInput:
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
