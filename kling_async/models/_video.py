"""Request models for the video families (video pack, 1 slot each)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from kling_async.models._base import (
    AspectRatio,
    CameraControl,
    Duration,
    ElementRef,
    HttpURL,
    KlingModel,
    KlingRequest,
    Media,
    Mode,
    MultiPromptShot,
    OnOff,
    Prompt,
    VoiceRef,
    WatermarkInfo,
    check_duration,
)

__all__ = [
    "DynamicMask",
    "ImageToVideo",
    "MultiImageToVideo",
    "OmniImageRef",
    "OmniVideo",
    "OmniVideoRef",
    "TextToVideo",
    "TrajectoryPoint",
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
