"""The 2026 design's request parts: ``contents`` items and ``settings``
(``kling_api_2026.md`` C3). The request models that use them are in ``_design2026``.

Items are chosen by their ``type`` (plain dicts with a ``type`` work too); images are URLs
or Base64 (``bytes`` / ``Path`` are encoded), videos URLs only; ids that exceed 2**53
stay strings.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from kling_async.errors import UsageError
from kling_async.models._base import HttpURL, KlingModel, _coerce_media, _media_checker

__all__ = [
    "BaseVideo",
    "Content",
    "ElementInput",
    "FeatureVideo",
    "FirstFrame",
    "LastFrame",
    "MotionImage",
    "MotionVideo",
    "ReferImage",
    "TextPrompt",
    "VideoSettings",
    "VoiceInput",
]

MAX_FRAME_BYTES = 50 * 1024 * 1024

FrameMedia = Annotated[str, BeforeValidator(_coerce_media), _media_checker(MAX_FRAME_BYTES)]
"""An image as an http(s) URL or raw Base64 (jpg/jpeg/png, ≤ 50 MB)."""

RefId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
"""The name a prompt uses for an input (``@Zhang``)."""


def _element_id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids exceed 2**53: kept as strings, never floats
    return value


ElementId = Annotated[str, BeforeValidator(_element_id), StringConstraints(pattern=r"^\d+$")]


class TextPrompt(KlingModel):
    """``{"type": "prompt", "text": ...}``; inputs are named ``@id`` in the text."""

    type: Literal["prompt"] = "prompt"
    text: Annotated[str, StringConstraints(min_length=1, max_length=3072)]


class FirstFrame(KlingModel):
    """The first frame: an image URL or Base64 (``bytes`` / ``Path`` are encoded)."""

    type: Literal["first_frame"] = "first_frame"
    url: FrameMedia
    id: RefId | None = None


class LastFrame(KlingModel):
    """The last frame (needs a first frame)."""

    type: Literal["last_frame"] = "last_frame"
    url: FrameMedia
    id: RefId | None = None


class ReferImage(KlingModel):
    """A reference image for omni video (``@id`` in the prompt)."""

    type: Literal["refer_image"] = "refer_image"
    url: FrameMedia
    id: RefId | None = None


class FeatureVideo(KlingModel):
    """A reference video whose features guide the result (URL only; audio off)."""

    type: Literal["feature_video"] = "feature_video"
    url: HttpURL
    id: RefId | None = None


class BaseVideo(KlingModel):
    """A video to edit (URL only; no frames, no multi-shot, no native audio)."""

    type: Literal["base_video"] = "base_video"
    url: HttpURL
    id: RefId | None = None


class ElementInput(KlingModel):
    """An element (subject) by id; ``id`` is its ``@name`` in the prompt."""

    type: Literal["element"] = "element"
    element_id: ElementId
    id: RefId | None = None


class VoiceInput(KlingModel):
    """A voice by id (Kling 2.6 image-to-video, at most 2, audio not off)."""

    type: Literal["voice"] = "voice"
    voice_id: Annotated[str, StringConstraints(min_length=1)]
    id: RefId | None = None


class MotionImage(KlingModel):
    """Motion control: the character image."""

    type: Literal["image"] = "image"
    url: FrameMedia


class MotionVideo(KlingModel):
    """Motion control: the video whose motion is copied (URL only)."""

    type: Literal["video"] = "video"
    url: HttpURL


def _int_seconds(value: Any) -> Any:
    if isinstance(value, bool):
        raise UsageError("must be a whole number of seconds")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)  # a /v1 habit ("5"): the 2026 design sends integers
    return value


class VideoSettings(KlingModel):
    """``settings``: what the video is like. Unset fields take Kling's defaults
    (720p, 5 s, audio off; **multi-shot on for Kling 3.0 and 3.0 Omni**).

    Attributes:
        resolution: ``720p`` (default), ``1080p`` or ``4k`` (where the model has it).
        aspect_ratio: ``16:9``, ``9:16`` or ``1:1`` (text-to-video and omni only).
        duration: seconds, an integer (the model's range; motion control: none).
        audio: ``native`` (generated sound), ``original`` (keep the input video's),
            ``off``.
        multi_shot: ``False`` for one continuous shot; Kling 3.0 / 3.0 Omni default
            to ``True``. Shots go in the prompt: ``"shot 1, 3, words; shot 2, 2, words;"``.
        character_orientation: motion control (required): follow the ``image`` or
            the ``video``.
    """

    resolution: Literal["720p", "1080p", "4k"] | None = None
    aspect_ratio: Literal["16:9", "9:16", "1:1"] | None = None
    duration: Annotated[int, BeforeValidator(_int_seconds), Field(ge=1, le=60)] | None = None
    audio: Literal["native", "original", "off"] | None = None
    multi_shot: bool | None = None
    character_orientation: Literal["image", "video"] | None = None


Content = Annotated[
    TextPrompt
    | FirstFrame
    | LastFrame
    | ReferImage
    | FeatureVideo
    | BaseVideo
    | ElementInput
    | VoiceInput
    | MotionImage
    | MotionVideo,
    Field(discriminator="type"),
]
"""One ``contents`` item, chosen by its ``type``."""
