"""Request models of the 2026 design: the model in the path, ``contents[]`` +
``settings{}`` + ``options{}`` (``kling_api_2026.md`` C2, C3).

Data flow::

    TextToVideo2026(model="kling-3.0-turbo", prompt=..., settings=VideoSettings(...))
      -> checked here against the model's rules (_rules2026), naming the field
      -> the family table's create path  "/text-to-video/kling-3.0-turbo"
      -> create_body(external_task_id, callback_url)
         {"prompt": ..., "settings": {...}, "options": {"external_task_id": ...}}

``external_task_id``, ``callback_url`` and ``watermark`` are set on the model like
on ``/v1`` requests and travel in ``options``. An unknown model is sent as given with
an :class:`~kling_async.models.UnknownModelWarning`; only the rules that hold for
every model of the endpoint apply to it.

**Multi-shot is on by default on Kling 3.0 and 3.0 Omni**: without
``settings.multi_shot`` those models may cut the video into several shots. Send
``VideoSettings(multi_shot=False)`` for one continuous shot.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import StringConstraints, model_validator

from kling_async.errors import UsageError
from kling_async.models._contents2026 import (
    BaseVideo,
    ElementInput,
    FeatureVideo,
    FirstFrame,
    LastFrame,
    MotionImage,
    MotionVideo,
    ReferImage,
    VoiceInput,
)
from kling_async.models._request2026 import Request2026, WithContents
from kling_async.models._rules2026 import (
    I2V_2026,
    MOTION_2026,
    OMNI_2026,
    T2V_2026,
    Model2026,
)

__all__ = [
    "ImageToVideo2026",
    "MotionControl2026",
    "OmniVideo2026",
    "TextToVideo2026",
]


class TextToVideo2026(Request2026):
    """``POST /text-to-video/{model}``: a video from a prompt.

    Models: ``kling-3.0-turbo`` (720p/1080p, 3-15 s, always with sound),
    ``kling-3.0`` (also 4K; multi-shot **on by default**), ``kling-2.6``,
    ``kling-2.5-turbo`` (5 or 10 s).

    Example:
        >>> r = TextToVideo2026(model="kling-3.0-turbo", prompt="a red fox in snow",
        ...                     settings=VideoSettings(duration=5, aspect_ratio="16:9"))
        >>> r.payload()["settings"]
        {'aspect_ratio': '16:9', 'duration': 5}
    """

    family: ClassVar[str] = "text_to_video_2026"
    endpoint: ClassVar[str] = "text-to-video"
    rules: ClassVar[dict[str, Model2026]] = dict(T2V_2026)

    prompt: Annotated[str, StringConstraints(min_length=1, max_length=3072)]

    def _content_body(self) -> dict[str, Any]:
        return {"prompt": self.prompt}

    def _prompt_text(self) -> str | None:
        return self.prompt

    @model_validator(mode="after")
    def _check(self) -> TextToVideo2026:
        self._refuse_settings("character_orientation")
        self._check_settings(self.model_rules())
        return self


class ImageToVideo2026(WithContents):
    """``POST /image-to-video/{model}``: a video from a first frame (and a last frame,
    elements or voices where the model has them).

    Example:
        >>> r = ImageToVideo2026(model="kling-3.0", prompt="she smiles",
        ...                      contents=[FirstFrame(url="https://example.com/a.png")],
        ...                      settings=VideoSettings(multi_shot=False))
        >>> " + ".join(c["type"] for c in r.payload()["contents"])
        'prompt + first_frame'
    """

    family: ClassVar[str] = "image_to_video_2026"
    endpoint: ClassVar[str] = "image-to-video"
    rules: ClassVar[dict[str, Model2026]] = dict(I2V_2026)
    allowed: ClassVar[frozenset[str]] = frozenset(
        {"prompt", "first_frame", "last_frame", "element", "voice"}
    )

    @model_validator(mode="after")
    def _check(self) -> ImageToVideo2026:
        self._refuse_settings("aspect_ratio", "character_orientation")
        self._check_contents()
        rules = self.model_rules()
        self._check_settings(rules)
        if not self._count(FirstFrame):
            raise UsageError("contents needs a first_frame (FirstFrame(url=...))")
        self._check_frames(rules)
        self._check_elements(rules)
        voices = self._count(VoiceInput)
        if voices:
            name = f"{self.model} ({self.endpoint})"
            if not rules.voices:
                raise UsageError(f"{name} takes no voice items (only kling-2.6 does)")
            if voices > 2:
                raise UsageError(f"at most 2 voice items, got {voices}")
            if self.settings.audio in (None, "off"):
                raise UsageError('voice items need settings.audio "native" (audio is off)')
        return self


class OmniVideo2026(WithContents):
    """``POST /omni-video/{model}``: frames, reference images, a reference video
    (``feature_video`` or ``base_video``) and elements in one request.

    Models: ``kling-3.0-omni`` (720p-4K, 3-15 s, multi-shot **on by default**),
    ``kling-o1`` (720p/1080p, 3-10 s; 5 or 10 s without a reference image or video).
    """

    family: ClassVar[str] = "omni_video_2026"
    endpoint: ClassVar[str] = "omni-video"
    rules: ClassVar[dict[str, Model2026]] = dict(OMNI_2026)
    allowed: ClassVar[frozenset[str]] = frozenset(
        {
            "prompt",
            "first_frame",
            "last_frame",
            "refer_image",
            "feature_video",
            "base_video",
            "element",
        }
    )

    @model_validator(mode="after")
    def _check(self) -> OmniVideo2026:
        self._refuse_settings("character_orientation")
        self._check_contents()
        rules = self.model_rules()
        self._check_settings(rules)
        self._check_frames(rules)
        name = f"{self.model} ({self.endpoint})"
        s = self.settings
        feature, base = self._count(FeatureVideo), self._count(BaseVideo)
        videos = feature + base
        frames = self._count(FirstFrame) + self._count(LastFrame)
        images, elements = self._count(ReferImage), self._count(ElementInput)
        if videos > 1:
            raise UsageError("at most one reference video (feature_video or base_video)")
        if base:
            if frames:
                raise UsageError("a base_video takes no first_frame / last_frame")
            if s.multi_shot is True or (s.multi_shot is None and rules.multi_shot_default):
                raise UsageError(
                    "a base_video takes no multi-shot: send settings.multi_shot=False "
                    f"({self.model} defaults to multi-shot)"
                )
            if s.audio == "native":
                raise UsageError('a base_video takes no native audio (use "original" or "off")')
        if feature and s.audio not in (None, "off"):
            raise UsageError('a feature_video needs settings.audio "off"')
        most = 4 if videos else 7
        if images + elements > most:
            raise UsageError(
                f"refer_image + element items: at most {most} "
                f"{'with' if videos else 'without'} a reference video, got {images + elements}"
            )
        if frames and elements > 3:
            raise UsageError(f"with frames, at most 3 element items, got {elements}")
        if not self._count(FirstFrame) and not videos and s.aspect_ratio is None:
            raise UsageError(
                "settings.aspect_ratio is required without a first_frame or a reference video"
            )
        short = rules.short_without_reference and not (images or videos)
        if short and s.duration is not None and s.duration not in (5, 10):
            raise UsageError(
                f"settings.duration must be 5 or 10 on {name} without a refer_image "
                "or reference video"
            )
        return self


class MotionControl2026(WithContents):
    """``POST /motion-control/{model}``: the character of an image moves like the
    person in a video (``kling-3.0``, ``kling-2.6``; no 4K; billed on output length).

    ``settings.character_orientation`` is required: ``"image"`` (reference video
    3-10 s) or ``"video"`` (3-30 s).
    """

    family: ClassVar[str] = "motion_control_2026"
    endpoint: ClassVar[str] = "motion-control"
    rules: ClassVar[dict[str, Model2026]] = dict(MOTION_2026)
    allowed: ClassVar[frozenset[str]] = frozenset({"prompt", "image", "video", "element"})

    @model_validator(mode="after")
    def _check(self) -> MotionControl2026:
        self._refuse_settings("aspect_ratio", "multi_shot")
        self._check_contents()
        rules = self.model_rules()
        self._check_settings(rules)
        if self.settings.character_orientation is None:
            raise UsageError('settings.character_orientation is required ("image" or "video")')
        if not self._count(MotionImage):
            raise UsageError("contents needs an image (MotionImage(url=...))")
        if not self._count(MotionVideo):
            raise UsageError("contents needs a video (MotionVideo(url=...))")
        self._check_elements(rules)
        return self
