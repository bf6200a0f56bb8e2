"""Request models for the video generation families (video pack, 1 slot each).

Per-model rules (modes, durations, sound, multi-shot, frames, voices) come from the
tables of :mod:`kling_async.models._video_rules`; the rules written here hold for
every model. A ``model_name`` the client does not know is sent with a warning and
checked against the every-model rules only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from kling_async.errors import UsageError
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
    NonEmpty,
    OnOff,
    Prompt,
    VoiceRef,
    WatermarkInfo,
    check_duration,
    check_known_model,
    rules_for,
)
from kling_async.models._video_rules import (
    ANY_MODEL,
    CLASSIC,
    I2V_MODELS,
    OMNI_MODELS,
    T2V_MODELS,
    VideoModel,
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

_OMITTED = VideoModel()
"""No ``model_name`` sent: Kling's documented default is a v1 model, so the classic
rules (std/pro, 5/10 s, no sound, no multi-shot) apply."""

Shots = Annotated[list[MultiPromptShot], Field(min_length=1, max_length=6)]


def _name(model_name: str | None) -> str:
    return model_name or "the default model"


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
            raise UsageError("shot_type is required when multi_shot is true")
        if shot_type == "customize":
            if not multi_prompt:
                raise UsageError("multi_prompt is required when shot_type is 'customize'")
            total = int(duration) if duration is not None else default_duration
            durations = [int(shot.duration) for shot in multi_prompt]
            if any(d < 1 or d > total for d in durations):
                raise UsageError("each multi_prompt[].duration must be >= 1 and <= duration")
            if sum(durations) != total:
                raise UsageError(
                    f"multi_prompt durations must add up to duration ({total}), "
                    f"got {sum(durations)}"
                )
        elif not prompt:
            raise UsageError("prompt is required when shot_type is 'intelligence'")
    elif not prompt:
        raise UsageError("prompt is required (unless multi_shot with shot_type 'customize')")


def _check_model(
    rules: VideoModel,
    model_name: str | None,
    *,
    mode: str | None,
    duration: str | None,
    sound: str | None,
    cfg_scale: float | None,
    multi_shot: bool | None,
    voices: bool,
) -> None:
    """The per-model rules every video generation family shares."""
    name = _name(model_name)
    if rules.discontinued:
        raise UsageError(f"model_name: {rules.discontinued}")
    if mode is not None and rules.modes is not None:
        if not rules.modes:
            raise UsageError(f"mode is not accepted by {name} (leave it out)")
        if mode not in rules.modes:
            allowed = " / ".join(repr(m) for m in sorted(rules.modes))
            raise UsageError(f"mode must be {allowed} for {name}, got {mode!r}")
    if rules.durations is not None:
        check_duration(duration, rules.durations)
    if sound is not None and not rules.sound:
        raise UsageError(f"sound is not supported by {name}")
    if sound == "on" and rules.sound_needs_pro and mode != "pro":
        raise UsageError(f"sound 'on' needs mode 'pro' (1080p) on {name}; 720p is silent only")
    if cfg_scale is not None and not rules.cfg_scale:
        raise UsageError(f"cfg_scale is not supported by {name} (kling-v2.x and later)")
    if multi_shot and not rules.multi_shot:
        raise UsageError(f"multi_shot is not supported by {name}")
    if voices:
        if not rules.voices:
            raise UsageError(
                f"voice_list (voice control) is not supported by {name} on this endpoint; "
                "only kling-v2-6 image-to-video at 1080p has it"
            )
        if sound != "on":
            raise UsageError("voice_list requires sound='on'")
        if rules.sound_needs_pro and mode != "pro":
            raise UsageError(f"voice_list needs mode 'pro' (1080p) on {name}")


class TextToVideo(KlingRequest):
    """Text to video (``POST /v1/videos/text2video``).

    Known models: ``kling-v3`` (std / pro / 4k, 3-15 s, sound, multi-shot),
    ``kling-v2-6`` (sound "on" needs pro), ``kling-v2-5-turbo``, ``kling-v2-1-master``,
    ``kling-v2-master`` (no ``mode``), ``kling-v1-6``; ``kling-v1`` is discontinued.
    Any other name is sent with an :class:`~kling_async.UnknownModelWarning`.
    """

    family = "text2video"

    model_name: NonEmpty | None = None
    prompt: Prompt | None = None
    negative_prompt: Prompt | None = None
    multi_shot: bool | None = None
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: Shots | None = None
    sound: OnOff | None = None
    voice_list: Annotated[list[VoiceRef], Field(min_length=1, max_length=2)] | None = None
    cfg_scale: Annotated[float, Field(ge=0, le=1)] | None = None
    mode: NonEmpty | None = None
    camera_control: CameraControl | None = None
    aspect_ratio: AspectRatio | None = None
    duration: Duration | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> TextToVideo:
        rules = rules_for(
            self.family, self.model_name, T2V_MODELS, unknown=ANY_MODEL, omitted=_OMITTED
        )
        if self.voice_list and rules is not ANY_MODEL:
            raise UsageError(
                "voice_list (voice control) is not supported on text-to-video; only "
                "kling-v2-6 image-to-video at 1080p has it"
            )
        _check_model(
            rules,
            self.model_name,
            mode=self.mode,
            duration=self.duration,
            sound=self.sound,
            cfg_scale=self.cfg_scale,
            multi_shot=self.multi_shot,
            voices=bool(self.voice_list),
        )
        _check_multi_shot(
            self.multi_shot, self.shot_type, self.multi_prompt, self.prompt, self.duration
        )
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
    """Image to video (``POST /v1/videos/image2video``).

    ``image`` is the first frame (required: a last frame alone is refused by every
    current model); ``image_tail`` the last frame. Known models: ``kling-v3`` (std /
    pro / 4k, 3-15 s, sound, multi-shot also with a last frame, up to 3 elements),
    ``kling-v2-6`` (sound "on" and voice control need pro; first + last frame pro and
    silent), ``kling-v2-5-turbo``, ``kling-v2-1``, ``kling-v2-1-master``,
    ``kling-v2-master``, ``kling-v1-6``, ``kling-v1-5``; ``kling-v1`` is discontinued.
    """

    family = "image2video"

    model_name: NonEmpty | None = None
    image: Media | None = None
    image_tail: Media | None = None
    prompt: Prompt | None = None
    negative_prompt: Prompt | None = None
    multi_shot: bool | None = None
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: Shots | None = None
    element_list: Annotated[list[ElementRef], Field(min_length=1, max_length=7)] | None = None
    voice_list: Annotated[list[VoiceRef], Field(min_length=1, max_length=2)] | None = None
    sound: OnOff | None = None
    cfg_scale: Annotated[float, Field(ge=0, le=1)] | None = None
    mode: NonEmpty | None = None
    static_mask: Media | None = None
    dynamic_masks: Annotated[list[DynamicMask], Field(min_length=1, max_length=6)] | None = None
    camera_control: CameraControl | None = None
    duration: Duration | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> ImageToVideo:
        rules = rules_for(
            self.family, self.model_name, I2V_MODELS, unknown=ANY_MODEL, omitted=_OMITTED
        )
        name = _name(self.model_name)
        if self.image is None:
            raise UsageError(
                "image (the first frame) is required; a last frame alone (image_tail) is "
                "refused by every current model"
            )
        groups = [
            label
            for label, used in (
                ("image_tail", self.image_tail is not None),
                ("static_mask/dynamic_masks", bool(self.static_mask or self.dynamic_masks)),
                ("camera_control", self.camera_control is not None),
            )
            if used
        ]
        if len(groups) > 1:
            raise UsageError(f"{' and '.join(groups)} cannot be used together")
        if self.element_list and self.voice_list:
            raise UsageError("element_list and voice_list cannot be used together")
        if self.element_list and len(self.element_list) > rules.max_elements:
            raise UsageError(
                f"element_list allows at most {rules.max_elements} item(s) on {name}"
                if rules.max_elements
                else f"element_list is not supported by {name}"
            )
        _check_model(
            rules,
            self.model_name,
            mode=self.mode,
            duration=self.duration,
            sound=self.sound,
            cfg_scale=self.cfg_scale,
            multi_shot=self.multi_shot,
            voices=bool(self.voice_list),
        )
        if self.image_tail is not None:
            if rules.tail_needs_pro and self.mode != "pro":
                raise UsageError(f"image_tail (first + last frame) needs mode 'pro' on {name}")
            if rules.tail_silent_only and self.sound == "on":
                raise UsageError(f"image_tail (first + last frame) is silent only on {name}")
            if self.multi_shot and not rules.multi_shot_with_frames:
                raise UsageError(f"multi_shot cannot be combined with image_tail on {name}")
        if self.multi_shot:
            _check_multi_shot(
                self.multi_shot, self.shot_type, self.multi_prompt, self.prompt, self.duration
            )
        return self


class _ImageItem(KlingModel):
    image: Media


class MultiImageToVideo(KlingRequest):
    """Reference images to video (``POST /v1/videos/multi-image2video``; ``kling-v1-6``)."""

    family = "multi_image2video"

    model_name: NonEmpty | None = None
    image_list: Annotated[list[_ImageItem], Field(min_length=1, max_length=4)]
    prompt: Annotated[Prompt, StringConstraints(min_length=1)]
    negative_prompt: Prompt | None = None
    mode: Mode | None = None
    duration: Duration | None = None
    aspect_ratio: AspectRatio | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> MultiImageToVideo:
        check_known_model(self.family, self.model_name, ("kling-v1-6",))
        check_duration(self.duration, CLASSIC)
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
    """Omni video (``POST /v1/videos/omni-video``).

    Known models: ``kling-video-o1`` (default; std / pro, 3-10 s, plain text or
    first-frame only 5/10 s, no sound, no multi-shot) and ``kling-v3-omni`` (std / pro
    / 4k also with a reference video, 3-15 s, sound off with a video, multi-shot also
    with first/last frames; with a ``feature`` video only as ``shot_type="intelligence"``).
    """

    family = "omni_video"

    model_name: NonEmpty | None = None
    prompt: Prompt | None = None
    multi_shot: bool | None = None
    shot_type: Literal["customize", "intelligence"] | None = None
    multi_prompt: Shots | None = None
    image_list: Annotated[list[OmniImageRef], Field(min_length=1, max_length=7)] | None = None
    element_list: Annotated[list[ElementRef], Field(min_length=1, max_length=7)] | None = None
    video_list: Annotated[list[OmniVideoRef], Field(min_length=1, max_length=1)] | None = None
    sound: OnOff | None = None
    mode: NonEmpty | None = None
    aspect_ratio: AspectRatio | None = None
    duration: Duration | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> OmniVideo:
        rules = rules_for(self.family, self.model_name, OMNI_MODELS, unknown=ANY_MODEL)
        model = self.model_name or "kling-video-o1"
        images = self.image_list or []
        elements = self.element_list or []
        kinds = [img.type for img in images]
        frames = [k for k in kinds if k is not None]
        video = self.video_list[0] if self.video_list else None
        is_base = video is not None and video.refer_type == "base"
        is_feature = video is not None and not is_base
        _check_model(
            rules,
            self.model_name,
            mode=self.mode,
            duration=None,  # checked below: it depends on the inputs
            sound=self.sound,
            cfg_scale=None,
            multi_shot=self.multi_shot,
            voices=False,
        )
        if self.multi_shot:
            if frames and not rules.multi_shot_with_frames:
                raise UsageError(
                    f"multi_shot cannot be combined with first_frame/end_frame on {model}"
                )
            if is_base:
                raise UsageError("multi_shot cannot be used with a 'base' video (editing)")
            if is_feature and self.shot_type != "intelligence":
                raise UsageError(
                    "with a 'feature' video, multi_shot needs shot_type 'intelligence'"
                )
        _check_multi_shot(
            self.multi_shot, self.shot_type, self.multi_prompt, self.prompt, self.duration
        )
        limit = 4 if video is not None else 7
        if len(images) + len(elements) > limit:
            raise UsageError(
                f"image_list and element_list together allow at most {limit} items"
                + (" when video_list is given" if video is not None else "")
            )
        if frames and len(elements) > 3:
            raise UsageError("element_list allows at most 3 items with first/last frames")
        if kinds.count("first_frame") > 1 or kinds.count("end_frame") > 1:
            raise UsageError("image_list may hold at most one first_frame and one end_frame")
        if "end_frame" in kinds:
            if "first_frame" not in kinds:
                raise UsageError("image_list: an end_frame requires a first_frame")
            if len(images) > 2:
                raise UsageError("image_list: end_frame is not allowed with more than 2 images")
            if elements and model == "kling-video-o1":
                raise UsageError(
                    "element_list cannot be used with first + end frames on kling-video-o1"
                )
        if is_base and frames:
            raise UsageError("video_list refer_type 'base' cannot be combined with frame images")
        if video is not None and self.sound == "on":
            raise UsageError("sound must be 'off' when video_list is given")
        if self.aspect_ratio is None and "first_frame" not in kinds and not is_base:
            raise UsageError("aspect_ratio is required without a first_frame image or a base video")
        if not is_base and rules.durations is not None:
            allowed = rules.durations
            plain = (
                model == "kling-video-o1"
                and not elements
                and video is None
                and (not images or kinds == ["first_frame"])
            )
            check_duration(self.duration, CLASSIC if plain else allowed)
        return self
