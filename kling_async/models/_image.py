"""Request models for the image families (image pack, ``n`` slots) and try-on."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from kling_async.errors import UsageError
from kling_async.models._base import (
    ElementRef,
    ImageAspectRatio,
    KlingModel,
    KlingRequest,
    KlingSyncRequest,
    Media,
    NonEmpty,
    Prompt,
    WatermarkInfo,
    check_known_model,
)

__all__ = [
    "AIMultiShot",
    "ImageExpand",
    "ImageGeneration",
    "ImageRecognize",
    "MultiImageToImage",
    "OmniImage",
    "SubjectImage",
    "VirtualTryOn",
]

ImageCount = Annotated[int, Field(ge=1, le=9)]

_IMAGE_MODELS = ("kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new", "kling-v2-1", "kling-v3")


class ImageGeneration(KlingRequest):
    """Text/image to image (``POST /v1/images/generations``); holds ``n`` image slots."""

    family = "image_generation"

    model_name: NonEmpty | None = None
    prompt: Annotated[Prompt, StringConstraints(min_length=1)]
    negative_prompt: Prompt | None = None
    image: Media | None = None
    image_reference: Literal["subject", "face"] | None = None
    image_fidelity: Annotated[float, Field(ge=0, le=1)] | None = None
    human_fidelity: Annotated[float, Field(ge=0, le=1)] | None = None
    element_list: Annotated[list[ElementRef], Field(min_length=1, max_length=10)] | None = None
    resolution: Literal["1k", "2k"] | None = None
    n: ImageCount | None = None
    aspect_ratio: ImageAspectRatio | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> ImageGeneration:
        check_known_model(self.family, self.model_name, _IMAGE_MODELS)
        if self.image_reference is not None and self.image is None:
            raise UsageError("image is required when image_reference is set")
        if self.negative_prompt is not None and self.image is not None:
            raise UsageError("negative_prompt is not supported when image is given")
        if self.human_fidelity is not None and self.image_reference != "subject":
            raise UsageError("human_fidelity requires image_reference='subject'")
        if len(self.element_list or []) + (1 if self.image else 0) > 10:
            raise UsageError("element_list and image together allow at most 10 items")
        return self


class _OmniImageItem(KlingModel):
    image: Media


class OmniImage(KlingRequest):
    """Omni image (``POST /v1/images/omni-image``); holds ``n`` (or series) image slots."""

    family = "omni_image"

    model_name: NonEmpty | None = None
    prompt: Annotated[Prompt, StringConstraints(min_length=1)]
    image_list: Annotated[list[_OmniImageItem], Field(min_length=1, max_length=10)] | None = None
    element_list: Annotated[list[ElementRef], Field(min_length=1, max_length=10)] | None = None
    resolution: Literal["1k", "2k", "4k"] | None = None
    result_type: Literal["single", "series"] | None = None
    n: ImageCount | None = None
    series_amount: Annotated[int, Field(ge=2, le=9)] | Literal["auto"] | None = None
    aspect_ratio: ImageAspectRatio | Literal["auto"] | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> OmniImage:
        check_known_model(self.family, self.model_name, ("kling-image-o1", "kling-v3-omni"))
        if len(self.image_list or []) + len(self.element_list or []) > 10:
            raise UsageError("image_list and element_list together allow at most 10 items")
        return self


class SubjectImage(KlingModel):
    """One subject image of a multi-image-to-image request."""

    subject_image: Media


class MultiImageToImage(KlingRequest):
    """Reference images to image (``POST /v1/images/multi-image2image``); ``n`` slots."""

    family = "multi_image2image"

    model_name: NonEmpty | None = None
    prompt: Prompt | None = None
    negative_prompt: Prompt | None = None
    subject_image_list: Annotated[list[SubjectImage], Field(min_length=1, max_length=4)]
    scene_image: Media | None = None
    style_image: Media | None = None
    n: ImageCount | None = None
    aspect_ratio: ImageAspectRatio | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> MultiImageToImage:
        check_known_model(self.family, self.model_name, ("kling-v2", "kling-v2-1"))
        return self


Ratio = Annotated[float, Field(ge=0, le=2)]


class ImageExpand(KlingRequest):
    """Outpainting (``POST /v1/images/editing/expand``); ``n`` image slots.

    Ratios are multiples of the original height (up/down) or width (left/right);
    the expanded area may be at most 3x the original.
    """

    family = "image_expand"

    image: Media
    up_expansion_ratio: Ratio
    down_expansion_ratio: Ratio
    left_expansion_ratio: Ratio
    right_expansion_ratio: Ratio
    prompt: Prompt | None = None
    n: ImageCount | None = None
    watermark_info: WatermarkInfo | None = None

    @model_validator(mode="after")
    def _check(self) -> ImageExpand:
        area = (1 + self.up_expansion_ratio + self.down_expansion_ratio) * (
            1 + self.left_expansion_ratio + self.right_expansion_ratio
        )
        if area > 3 + 1e-9:
            raise UsageError(
                "expansion ratios make the image "
                f"{area:.2f}x the original area; at most 3x is allowed"
            )
        return self


class AIMultiShot(KlingRequest):
    """More reference views of a subject (``POST /v1/general/ai-multi-shot``)."""

    family = "ai_multi_shot"

    element_frontal_image: Media


class VirtualTryOn(KlingRequest):
    """Kolors virtual try-on (``POST /v1/images/kolors-virtual-try-on``); try-on pack."""

    family = "virtual_try_on"

    model_name: NonEmpty | None = None
    human_image: Media
    cloth_image: Media

    @model_validator(mode="after")
    def _check(self) -> VirtualTryOn:
        check_known_model(
            self.family, self.model_name, ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")
        )
        return self


class ImageRecognize(KlingSyncRequest):
    """Segment an image (subject, head, face, clothing); synchronous."""

    endpoint = "image_recognize"

    image: Media
