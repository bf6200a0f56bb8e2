"""The shared base of the 2026 design's request models: ``model`` in the path, the
ids in ``options``, the per-model checks of ``settings`` and ``contents``, the shot
syntax of multi-shot prompts (``kling_api_2026.md`` C3). The four request models are
in ``_design2026``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from kling_async.errors import UsageError
from kling_async.models._base import KlingModel, KlingRequest, rules_for
from kling_async.models._contents2026 import (
    BaseVideo,
    Content,
    ElementInput,
    FeatureVideo,
    FirstFrame,
    LastFrame,
    MotionImage,
    MotionVideo,
    TextPrompt,
    VideoSettings,
)
from kling_async.models._rules2026 import LEGACY_NAMES, Model2026, any_model

__all__ = ["Request2026", "WithContents"]

_PRICE_NEUTRAL_OPTIONS = frozenset({"watermark_info", "external_task_id", "callback_url"})
"""``options`` the price does not depend on (a watermarked copy is free)."""
_NOT_IN_BODY = frozenset({"model", "watermark", "extra_body"})
"""Model fields that are not body keys (``model`` travels in the path)."""

_SHOT = re.compile(r"\s*shot\s+(\d+)\s*,\s*(\d+)\s*,\s*([^;]*);?", re.IGNORECASE)


def _check_shots(prompt: str, duration: int) -> None:
    """Multi-shot prompts (``shot 1, 3, words; shot 2, 2, words;``): 1-6 shots,
    each ≥ 1 s and ≤ 512 characters, seconds adding up to the duration."""
    if not re.match(r"\s*shot\s+1\s*,", prompt, re.IGNORECASE):
        return
    shots = [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in _SHOT.finditer(prompt)]
    if not 1 <= len(shots) <= 6:
        raise UsageError(f"a multi-shot prompt has 1 to 6 shots, got {len(shots)}")
    for position, (index, seconds, words) in enumerate(shots, 1):
        if index != position:
            raise UsageError(f"shot {position} is numbered {index} in the prompt")
        if seconds < 1:
            raise UsageError(f"shot {index} must last at least 1 s")
        if len(words.strip()) > 512:
            raise UsageError(f"shot {index}'s text is longer than 512 characters")
    total = sum(s for _, s, _ in shots)
    if total != duration:
        raise UsageError(
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

    def pricing_params(self, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What the price table reads, in its ``/v1`` words, from the wire body
        (``body``, default :meth:`payload`: ``extra_body`` included): ``model_name``
        (the path model), ``mode`` (720p = std, 1080p = pro, 4k), ``sound``,
        ``duration``, inputs."""
        body = self.payload() if body is None else body
        raw = body.get("settings")
        s: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        resolution = str(s.get("resolution") or "720p")
        rules = self.model_rules()
        audio = s.get("audio") or ("native" if not rules.audio else "off")
        params: dict[str, Any] = {
            "model_name": self.model,
            "mode": {"720p": "std", "1080p": "pro"}.get(resolution, resolution),
            "resolution": resolution,
            "sound": "on" if audio == "native" else "off",
        }
        if s.get("duration") is not None:
            params["duration"] = str(s["duration"])
        contents = body.get("contents")
        kinds = {
            str(item.get("type"))
            for item in (contents if isinstance(contents, list) else [])
            if isinstance(item, Mapping)
        }
        if kinds & {"feature_video", "base_video"}:
            params["video_list"] = ["yes"]
        if "voice" in kinds:
            params["voice_list"] = ["yes"]
        return params

    def unpriced_fields(self) -> tuple[str, ...]:
        """``extra_body`` fields the model does not declare (``settings.x`` for one
        inside ``settings``): the price table cannot know what they do to the price."""
        if not self.extra_body:
            return ()
        out: list[str] = []
        for key, value in self.extra_body.items():
            if key == "settings" and isinstance(value, Mapping):
                out += [f"settings.{k}" for k in value if k not in VideoSettings.model_fields]
            elif key == "options" and isinstance(value, Mapping):
                out += [f"options.{k}" for k in value if k not in _PRICE_NEUTRAL_OPTIONS]
            elif key not in type(self).model_fields or key in _NOT_IN_BODY:
                out.append(key)
        return tuple(sorted(out))

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
            raise UsageError(
                f"settings.resolution {s.resolution!r} is not available for {name}; "
                f"expected one of {', '.join(sorted(rules.resolutions))}"
            )
        if s.duration is not None:
            if rules.durations == ():
                raise UsageError(
                    f"settings.duration is not accepted by {name}: the duration follows "
                    "the reference video"
                )
            if rules.durations is not None and s.duration not in rules.durations:
                raise UsageError(
                    f"settings.duration must be {_seconds(rules.durations)} for {name}, "
                    f"got {s.duration}"
                )
        if s.audio is not None and s.audio not in rules.audio:
            if not rules.audio:
                raise UsageError(
                    f"settings.audio is not accepted by {name}: its videos always have sound"
                )
            raise UsageError(
                f"settings.audio {s.audio!r} is not available for {name}; "
                f"expected one of {', '.join(sorted(rules.audio))}"
            )
        if s.audio == "native" and rules.native_needs_1080p and s.resolution != "1080p":
            raise UsageError(f'settings.audio "native" needs settings.resolution "1080p" on {name}')
        if s.multi_shot is not None and not rules.multi_shot:
            raise UsageError(f"settings.multi_shot is not accepted by {name} (single shot only)")
        prompt = self._prompt_text()
        if prompt is not None:
            if len(prompt) > rules.max_prompt:
                raise UsageError(
                    f"the prompt is {len(prompt)} characters; {name} takes at most "
                    f"{rules.max_prompt}"
                )
            if s.multi_shot is not False and rules.multi_shot:
                _check_shots(prompt, s.duration or 5)

    def _refuse_settings(self, *names: str) -> None:
        for field in names:
            if getattr(self.settings, field) is not None:
                raise UsageError(f"settings.{field} is not accepted by {self.endpoint}")


def _seconds(allowed: tuple[int, ...]) -> str:
    if len(allowed) > 3 and allowed == tuple(range(allowed[0], allowed[-1] + 1)):
        return f"{allowed[0]}..{allowed[-1]}"
    return " or ".join(str(a) for a in allowed)


class WithContents(Request2026):
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
                raise UsageError(
                    f"contents[{position}]: {kind!r} items are not accepted by "
                    f"{self.endpoint}; expected {', '.join(sorted(self.allowed))}"
                )
        prompts = self._count(TextPrompt) + (self.prompt is not None)
        if prompts > 1:
            raise UsageError("give the prompt once (prompt= or one TextPrompt in contents)")
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
                raise UsageError(f"contents may hold one {one.model_fields['type'].default!r}")
        named = (getattr(c, "id", None) for c in self.contents)
        ids = [str(name) for name in named if name]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise UsageError(f"contents ids must be unique; repeated: {', '.join(repeated)}")

    def _check_frames(self, rules: Model2026) -> None:
        name = f"{self.model} ({self.endpoint})"
        first, last = self._count(FirstFrame), self._count(LastFrame)
        if last and not first:
            raise UsageError("a last_frame needs a first_frame (last-frame-only is refused)")
        if last and not rules.last_frame:
            raise UsageError(f"{name} takes a first frame only, not a last_frame")
        if first and last:
            if rules.frames_need_1080p and self.settings.resolution != "1080p":
                raise UsageError(f'first + last frame need settings.resolution "1080p" on {name}')
            if rules.frames_silent and self.settings.audio == "native":
                raise UsageError(f"first + last frame are silent only on {name}")
            if not rules.elements_with_both_frames and self._count(ElementInput):
                raise UsageError(f"{name} takes no elements together with first + last frame")

    def _check_elements(self, rules: Model2026, limit: int | None = None) -> None:
        count = self._count(ElementInput)
        most = rules.max_elements if limit is None else limit
        if most is not None and count > most:
            name = f"{self.model} ({self.endpoint})"
            raise UsageError(
                f"{name} takes at most {most} element item(s), got {count}"
                if most
                else f"{name} takes no element items"
            )
