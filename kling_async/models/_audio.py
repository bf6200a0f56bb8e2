"""Request models for audio, voices and elements."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from kling_async.errors import UsageError
from kling_async.models._base import (
    AudioPrompt,
    HttpURL,
    KlingModel,
    KlingRequest,
    KlingSyncRequest,
    Media,
    NonEmpty,
    exactly_one,
)

__all__ = [
    "AdvancedCustomElement",
    "CustomVoice",
    "ElementImages",
    "ElementTag",
    "ElementVideos",
    "TextToAudio",
    "TextToSpeech",
    "VideoToAudio",
]


class TextToAudio(KlingRequest):
    """Sound effects from text (``POST /v1/audio/text-to-audio``)."""

    family = "text_to_audio"

    prompt: Annotated[AudioPrompt, StringConstraints(min_length=1)]
    duration: Annotated[float, Field(ge=3.0, le=10.0)]

    @field_validator("duration")
    @classmethod
    def _one_decimal(cls, value: float) -> float:
        if round(value, 1) != round(value, 6):
            raise UsageError("duration allows one decimal place (e.g. 5.5)")
        return round(value, 1)


class VideoToAudio(KlingRequest):
    """Audio for a video (``POST /v1/audio/video-to-audio``); ``video_id`` xor ``video_url``."""

    family = "video_to_audio"

    video_id: NonEmpty | None = None
    video_url: HttpURL | None = None
    sound_effect_prompt: AudioPrompt | None = None
    bgm_prompt: AudioPrompt | None = None
    asmr_mode: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> VideoToAudio:
        exactly_one(self, ("video_id", "video_url"))
        return self


class TextToSpeech(KlingSyncRequest):
    """Text to speech (``POST /v1/audio/tts``); the result comes back inline."""

    endpoint = "tts"

    text: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    voice_id: NonEmpty
    voice_language: Literal["zh", "en"]
    voice_speed: Annotated[float, Field(ge=0.8, le=2.0)] | None = None


class CustomVoice(KlingRequest):
    """Clone a voice (``POST /v1/general/custom-voices``); ``voice_url`` xor ``video_id``."""

    family = "custom_voices"

    voice_name: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    voice_url: HttpURL | None = None
    video_id: NonEmpty | None = None

    @model_validator(mode="after")
    def _check(self) -> CustomVoice:
        exactly_one(self, ("voice_url", "video_id"))
        return self


class _ReferImage(KlingModel):
    image_url: Media


class ElementImages(KlingModel):
    """``element_image_list``: one frontal image and 1-3 other views."""

    frontal_image: Media
    refer_images: Annotated[list[_ReferImage], Field(min_length=1, max_length=3)]


class _ReferVideo(KlingModel):
    video_url: HttpURL


class ElementVideos(KlingModel):
    """``element_video_list``: exactly one reference video."""

    refer_videos: Annotated[list[_ReferVideo], Field(min_length=1, max_length=1)]


class ElementTag(KlingModel):
    """An element tag (``o_101`` ... ``o_108``)."""

    tag_id: Literal["o_101", "o_102", "o_103", "o_104", "o_105", "o_106", "o_107", "o_108"]


class AdvancedCustomElement(KlingRequest):
    """Create an element (``POST /v1/general/advanced-custom-elements``)."""

    family = "advanced_custom_elements"

    element_name: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    element_description: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    reference_type: Literal["image_refer", "video_refer"]
    element_image_list: ElementImages | None = None
    element_video_list: ElementVideos | None = None
    element_voice_id: NonEmpty | None = None
    tag_list: list[ElementTag] | None = None

    @model_validator(mode="after")
    def _check(self) -> AdvancedCustomElement:
        if self.reference_type == "image_refer":
            if self.element_image_list is None:
                raise UsageError("element_image_list is required for reference_type 'image_refer'")
            if self.element_video_list is not None:
                raise UsageError("element_video_list is not allowed with 'image_refer'")
        else:
            if self.element_video_list is None:
                raise UsageError("element_video_list is required for reference_type 'video_refer'")
            if self.element_image_list is not None:
                raise UsageError("element_image_list is not allowed with 'video_refer'")
        return self
