"""Request models of the 2026 design: the model in the path, ``contents[]`` +
``settings{}`` + ``options{}`` (``kling_api_2026.md`` C2, C3).

Data flow::

    TextToVideo2026(model="kling-3.0-turbo", prompt=..., settings=VideoSettings(...))
      -> checked here against the model's rules (_rules2026), naming the field
      -> create_path()  "/text-to-video/kling-3.0-turbo"
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

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from kling_async.models._base import (
    HttpURL,
    KlingModel,
    KlingRequest,
    _coerce_media,
    _media_checker,
    rules_for,
)
from kling_async.models._rules2026 import (
    I2V_2026,
    LEGACY_NAMES,
    MOTION_2026,
    OMNI_2026,
    T2V_2026,
    Model2026,
    any_model,
)

__all__ = [
    "BaseVideo",
    "ElementInput",
    "FeatureVideo",
    "FirstFrame",
    "ImageToVideo2026",
    "LastFrame",
    "MotionControl2026",
    "MotionImage",
    "MotionVideo",
    "OmniVideo2026",
    "ReferImage",
    "Request2026",
    "TextPrompt",
    "TextToVideo2026",
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
        raise ValueError("must be a whole number of seconds")
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

_SHOT = re.compile(r"\s*shot\s+(\d+)\s*,\s*(\d+)\s*,\s*([^;]*);?", re.IGNORECASE)


def _check_shots(prompt: str, duration: int) -> None:
    """Multi-shot prompts (``shot 1, 3, words; shot 2, 2, words;``): 1-6 shots,
    each ≥ 1 s and ≤ 512 characters, seconds adding up to the duration."""
    if not re.match(r"\s*shot\s+1\s*,", prompt, re.IGNORECASE):
        return
    shots = [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in _SHOT.finditer(prompt)]
    if not 1 <= len(shots) <= 6:
        raise ValueError(f"a multi-shot prompt has 1 to 6 shots, got {len(shots)}")
    for position, (index, seconds, words) in enumerate(shots, 1):
        if index != position:
            raise ValueError(f"shot {position} is numbered {index} in the prompt")
        if seconds < 1:
            raise ValueError(f"shot {index} must last at least 1 s")
        if len(words.strip()) > 512:
            raise ValueError(f"shot {index}'s text is longer than 512 characters")
    total = sum(s for _, s, _ in shots)
    if total != duration:
        raise ValueError(
            f"the shots of the prompt last {total} s but settings.duration is {duration} s "
            "(they must add up)"
        )


class Request2026(KlingRequest):
    """Base of the 2026 design's request models (see the module docstring).

    ``model`` is the path segment (``kling-3.0-turbo``); ``watermark=True`` asks for a
    watermarked copy (``options.watermark_info``).
    """

    endpoint: ClassVar[str]
    rules: ClassVar[dict[str, Model2026]]

    model: Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z0-9._\-]+$")]
    settings: VideoSettings = Field(default_factory=VideoSettings)
    watermark: bool | None = None

    @property
    def model_name(self) -> str:
        """The ``/v1`` name of the same model version (what per-model concurrency
        counts under), or ``model`` when it has none."""
        return LEGACY_NAMES.get(self.model, self.model)

    def model_rules(self) -> Model2026:
        """The rules of :attr:`model` (every-model rules for an unknown one)."""
        return rules_for(
            self.family,
            self.model,
            self.rules,
            unknown=any_model(self.rules),
            field="model",
        )

    def create_path(self) -> str:
        """``/{endpoint}/{model}``."""
        from kling_async.endpoints import FAMILIES

        return FAMILIES[self.family].create_path(self.model)

    def payload(self) -> dict[str, Any]:
        """The body: ``prompt`` or ``contents``, ``settings``, ``options`` (the model
        travels in the path)."""
        body = self._content_body()
        settings = self.settings.model_dump(mode="json", exclude_none=True)
        if settings:
            body["settings"] = settings
        options: dict[str, Any] = {}
        if self.external_task_id is not None:
            options["external_task_id"] = self.external_task_id
        if self.callback_url is not None:
            options["callback_url"] = self.callback_url
        if self.watermark is not None:
            options["watermark_info"] = {"enabled": self.watermark}
        if options:
            body["options"] = options
        if self.extra_body:
            body.update(self.extra_body)
        return body

    def create_body(self, external_task_id: str, callback_url: str | None) -> dict[str, Any]:
        """The create body with the client's ids in ``options``."""
        body = self.payload()
        options = dict(body.get("options") or {})
        options["external_task_id"] = external_task_id
        if callback_url is not None:
            options["callback_url"] = callback_url
        body["options"] = options
        return body

    def pricing_params(self) -> dict[str, Any]:
        """What the price table reads, in its ``/v1`` words: ``model_name`` (the path
        model), ``mode`` (720p = std, 1080p = pro, 4k), ``sound``, ``duration``, inputs."""
        s = self.settings
        resolution = s.resolution or "720p"
        rules = self.model_rules()
        audio = s.audio or ("native" if not rules.audio else "off")
        params: dict[str, Any] = {
            "model_name": self.model,
            "mode": {"720p": "std", "1080p": "pro"}.get(resolution, resolution),
            "resolution": resolution,
            "sound": "on" if audio == "native" else "off",
        }
        if s.duration is not None:
            params["duration"] = str(s.duration)
        items = self._items()
        if any(isinstance(c, FeatureVideo | BaseVideo) for c in items):
            params["video_list"] = ["yes"]
        if any(isinstance(c, VoiceInput) for c in items):
            params["voice_list"] = ["yes"]
        return params

    # -- shared checks ----------------------------------------------------------------

    def _items(self) -> list[Any]:
        return []

    def _content_body(self) -> dict[str, Any]:
        return {}

    def _prompt_text(self) -> str | None:
        return None

    def _check_settings(self, rules: Model2026) -> None:
        s = self.settings
        name = f"{self.model} ({self.endpoint})"
        if s.resolution is not None and s.resolution not in rules.resolutions:
            raise ValueError(
                f"settings.resolution {s.resolution!r} is not available for {name}; "
                f"expected one of {', '.join(sorted(rules.resolutions))}"
            )
        if s.duration is not None:
            if rules.durations == ():
                raise ValueError(
                    f"settings.duration is not accepted by {name}: the duration follows "
                    "the reference video"
                )
            if rules.durations is not None and s.duration not in rules.durations:
                raise ValueError(
                    f"settings.duration must be {_seconds(rules.durations)} for {name}, "
                    f"got {s.duration}"
                )
        if s.audio is not None and s.audio not in rules.audio:
            if not rules.audio:
                raise ValueError(
                    f"settings.audio is not accepted by {name}: its videos always have sound"
                )
            raise ValueError(
                f"settings.audio {s.audio!r} is not available for {name}; "
                f"expected one of {', '.join(sorted(rules.audio))}"
            )
        if s.audio == "native" and rules.native_needs_1080p and s.resolution != "1080p":
            raise ValueError(f'settings.audio "native" needs settings.resolution "1080p" on {name}')
        if s.multi_shot is not None and not rules.multi_shot:
            raise ValueError(f"settings.multi_shot is not accepted by {name} (single shot only)")
        prompt = self._prompt_text()
        if prompt is not None:
            if len(prompt) > rules.max_prompt:
                raise ValueError(
                    f"the prompt is {len(prompt)} characters; {name} takes at most "
                    f"{rules.max_prompt}"
                )
            if s.multi_shot is not False and rules.multi_shot:
                _check_shots(prompt, s.duration or 5)

    def _refuse_settings(self, *names: str) -> None:
        for field in names:
            if getattr(self.settings, field) is not None:
                raise ValueError(f"settings.{field} is not accepted by {self.endpoint}")


def _seconds(allowed: tuple[int, ...]) -> str:
    if len(allowed) > 3 and allowed == tuple(range(allowed[0], allowed[-1] + 1)):
        return f"{allowed[0]}..{allowed[-1]}"
    return " or ".join(str(a) for a in allowed)


class TextToVideo2026(Request2026):
    """``POST /text-to-video/{model}``: a video from a prompt.

    Models: ``kling-3.0-turbo`` (720p/1080p, 3-15 s, always with sound),
    ``kling-3.0`` (also 4K; multi-shot **on by default**), ``kling-2.6``,
    ``kling-2.5-turbo`` (5 or 10 s).

    Example:
        >>> r = TextToVideo2026(model="kling-3.0-turbo", prompt="a red fox in snow",
        ...                     settings=VideoSettings(duration=5, aspect_ratio="16:9"))
        >>> r.create_path(), r.payload()["settings"]
        ('/text-to-video/kling-3.0-turbo', {'aspect_ratio': '16:9', 'duration': 5})
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


class _WithContents(Request2026):
    """A 2026 request whose inputs are ``contents`` items (``prompt=`` is a shorthand
    for a leading ``TextPrompt``)."""

    allowed: ClassVar[frozenset[str]]

    contents: list[Content] = Field(default_factory=list)
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=3072)] | None = None

    def _items(self) -> list[Any]:
        return list(self.contents)

    def _all_contents(self) -> list[Any]:
        items = list(self.contents)
        if self.prompt is not None:
            items.insert(0, TextPrompt(text=self.prompt))
        return items

    def _content_body(self) -> dict[str, Any]:
        return {
            "contents": [
                item.model_dump(mode="json", exclude_none=True) for item in self._all_contents()
            ]
        }

    def _prompt_text(self) -> str | None:
        prompts = [c.text for c in self._all_contents() if isinstance(c, TextPrompt)]
        return prompts[0] if prompts else None

    def _count(self, kind: type[KlingModel]) -> int:
        return sum(isinstance(item, kind) for item in self.contents)

    def _check_contents(self) -> None:
        for position, item in enumerate(self.contents):
            kind = item.type
            if kind not in self.allowed:
                raise ValueError(
                    f"contents[{position}]: {kind!r} items are not accepted by "
                    f"{self.endpoint}; expected {', '.join(sorted(self.allowed))}"
                )
        prompts = self._count(TextPrompt) + (self.prompt is not None)
        if prompts > 1:
            raise ValueError("give the prompt once (prompt= or one TextPrompt in contents)")
        single: tuple[type[KlingModel], ...] = (
            FirstFrame,
            LastFrame,
            FeatureVideo,
            BaseVideo,
            MotionImage,
            MotionVideo,
        )
        for one in single:
            if self._count(one) > 1:
                raise ValueError(f"contents may hold one {one.model_fields['type'].default!r}")
        named = (getattr(c, "id", None) for c in self.contents)
        ids = [str(name) for name in named if name]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"contents ids must be unique; repeated: {', '.join(repeated)}")

    def _check_frames(self, rules: Model2026) -> None:
        name = f"{self.model} ({self.endpoint})"
        first, last = self._count(FirstFrame), self._count(LastFrame)
        if last and not first:
            raise ValueError("a last_frame needs a first_frame (last-frame-only is refused)")
        if last and not rules.last_frame:
            raise ValueError(f"{name} takes a first frame only, not a last_frame")
        if first and last:
            if rules.frames_need_1080p and self.settings.resolution != "1080p":
                raise ValueError(f'first + last frame need settings.resolution "1080p" on {name}')
            if rules.frames_silent and self.settings.audio == "native":
                raise ValueError(f"first + last frame are silent only on {name}")
            if not rules.elements_with_both_frames and self._count(ElementInput):
                raise ValueError(f"{name} takes no elements together with first + last frame")

    def _check_elements(self, rules: Model2026, limit: int | None = None) -> None:
        count = self._count(ElementInput)
        most = rules.max_elements if limit is None else limit
        if most is not None and count > most:
            name = f"{self.model} ({self.endpoint})"
            raise ValueError(
                f"{name} takes at most {most} element item(s), got {count}"
                if most
                else f"{name} takes no element items"
            )


class ImageToVideo2026(_WithContents):
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
            raise ValueError("contents needs a first_frame (FirstFrame(url=...))")
        self._check_frames(rules)
        self._check_elements(rules)
        voices = self._count(VoiceInput)
        if voices:
            name = f"{self.model} ({self.endpoint})"
            if not rules.voices:
                raise ValueError(f"{name} takes no voice items (only kling-2.6 does)")
            if voices > 2:
                raise ValueError(f"at most 2 voice items, got {voices}")
            if self.settings.audio in (None, "off"):
                raise ValueError('voice items need settings.audio "native" (audio is off)')
        return self


class OmniVideo2026(_WithContents):
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
            raise ValueError("at most one reference video (feature_video or base_video)")
        if base:
            if frames:
                raise ValueError("a base_video takes no first_frame / last_frame")
            if s.multi_shot is True or (s.multi_shot is None and rules.multi_shot_default):
                raise ValueError(
                    "a base_video takes no multi-shot: send settings.multi_shot=False "
                    f"({self.model} defaults to multi-shot)"
                )
            if s.audio == "native":
                raise ValueError('a base_video takes no native audio (use "original" or "off")')
        if feature and s.audio not in (None, "off"):
            raise ValueError('a feature_video needs settings.audio "off"')
        most = 4 if videos else 7
        if images + elements > most:
            raise ValueError(
                f"refer_image + element items: at most {most} "
                f"{'with' if videos else 'without'} a reference video, got {images + elements}"
            )
        if frames and elements > 3:
            raise ValueError(f"with frames, at most 3 element items, got {elements}")
        if not self._count(FirstFrame) and not videos and s.aspect_ratio is None:
            raise ValueError(
                "settings.aspect_ratio is required without a first_frame or a reference video"
            )
        short = rules.short_without_reference and not (images or videos)
        if short and s.duration is not None and s.duration not in (5, 10):
            raise ValueError(
                f"settings.duration must be 5 or 10 on {name} without a refer_image "
                "or reference video"
            )
        return self


class MotionControl2026(_WithContents):
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
            raise ValueError('settings.character_orientation is required ("image" or "video")')
        if not self._count(MotionImage):
            raise ValueError("contents needs an image (MotionImage(url=...))")
        if not self._count(MotionVideo):
            raise ValueError("contents needs a video (MotionVideo(url=...))")
        self._check_elements(rules)
        return self


def slot_model_of(family: str, params: Mapping[str, Any]) -> str | None:
    """The model a journaled request of ``family`` counts its slots under:
    ``model_name`` on ``/v1``, the ``/v1`` name of a 2026 request's ``model``."""
    from kling_async.endpoints import FAMILIES, Design

    fam = FAMILIES.get(family)
    if fam is not None and fam.design is Design.D2026:
        model = params.get("model")
        return LEGACY_NAMES.get(str(model), str(model)) if model else None
    value = params.get("model_name")
    return str(value) if value else None
