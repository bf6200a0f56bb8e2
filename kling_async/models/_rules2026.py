"""Per-model rules of the 2026 design's video endpoints, as data.

Source: ``kling_api_2026.md`` C3 (the model table and the omni counts, DOC
2026-09-20) with the documented refusals of B6 that name these models. The model is
the path segment (``/text-to-video/kling-3.0``); :data:`LEGACY_NAMES` maps it to the
``/v1`` ``model_name`` of the same model version (INFERRED, section B), which is
what a per-model concurrency limit counts under.

``None`` means "no rule known: anything goes"; an empty set means "this setting is
not accepted". Points the docs leave open take the reading that never refuses a
valid request (3.0 Turbo's multi-shot, element kinds, which only Kling can see).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "I2V_2026",
    "LEGACY_NAMES",
    "MOTION_2026",
    "OMNI_2026",
    "T2V_2026",
    "Model2026",
    "any_model",
]

LONG: Final = tuple(range(3, 16))
SHORT: Final = tuple(range(3, 11))
CLASSIC: Final = (5, 10)
HD: Final = frozenset({"720p", "1080p"})
HD_4K: Final = frozenset({"720p", "1080p", "4k"})


@dataclass(frozen=True, slots=True)
class Model2026:
    """What one model accepts on one 2026 endpoint.

    Attributes:
        resolutions: accepted ``settings.resolution`` values.
        durations: accepted ``settings.duration`` seconds (None: any; empty: the
            field is not accepted, e.g. motion control follows its video).
        audio: accepted ``settings.audio`` values; empty: no ``audio`` field
            (3.0 Turbo: its videos always have sound; 2.5 Turbo: never).
        native_needs_1080p: ``audio: "native"`` only at 1080p (2.6).
        multi_shot: ``settings.multi_shot`` is accepted.
        multi_shot_default: Kling's default when ``multi_shot`` is not sent (``True``
            on 3.0 and 3.0 Omni: send ``False`` for a single shot).
        last_frame: a ``last_frame`` is accepted.
        frames_need_1080p: first + last frame only at 1080p (2.6, 2.5 Turbo).
        frames_silent: first + last frame only without native audio (2.6).
        max_elements: most ``element`` items (None: no rule known).
        voices: ``voice`` items accepted (2.6 image-to-video, at most 2).
        max_prompt: longest prompt in characters.
        short_without_reference: durations 5/10 only without a reference image or
            video (O1).
        elements_with_both_frames: elements together with first + last frame.
    """

    resolutions: frozenset[str] = HD
    durations: tuple[int, ...] | None = LONG
    audio: frozenset[str] = frozenset({"native", "off"})
    native_needs_1080p: bool = False
    multi_shot: bool = False
    multi_shot_default: bool = False
    last_frame: bool = True
    frames_need_1080p: bool = False
    frames_silent: bool = False
    max_elements: int | None = 3
    voices: bool = False
    max_prompt: int = 2500
    short_without_reference: bool = False
    elements_with_both_frames: bool = True


LEGACY_NAMES: Final[Mapping[str, str]] = {
    "kling-3.0": "kling-v3",
    "kling-3.0-omni": "kling-v3-omni",
    "kling-o1": "kling-video-o1",
    "kling-2.6": "kling-v2-6",
    "kling-2.5-turbo": "kling-v2-5-turbo",
}
"""2026 path model -> the ``/v1`` ``model_name`` of the same model version (3.0 Turbo
exists only in the 2026 design)."""

_TURBO = Model2026(
    durations=LONG,
    audio=frozenset(),
    multi_shot=True,  # not documented either way: Kling decides
    last_frame=False,  # image-to-video: first frame only
    max_elements=0,
    max_prompt=3072,
)
_V3 = Model2026(
    resolutions=HD_4K,
    multi_shot=True,
    multi_shot_default=True,
    max_elements=3,
    max_prompt=3072,
)
_V26 = Model2026(
    durations=CLASSIC,
    native_needs_1080p=True,
    frames_need_1080p=True,
    frames_silent=True,
    max_elements=0,
)
_V25_TURBO = Model2026(
    durations=CLASSIC,
    audio=frozenset({"off"}),
    frames_need_1080p=True,
    max_elements=0,
)

T2V_2026: Final[Mapping[str, Model2026]] = {
    "kling-3.0-turbo": _TURBO,
    "kling-3.0": _V3,
    "kling-2.6": _V26,
    "kling-2.5-turbo": _V25_TURBO,
}
"""``POST /text-to-video/{model}``."""

I2V_2026: Final[Mapping[str, Model2026]] = {
    "kling-3.0-turbo": _TURBO,
    "kling-3.0": _V3,
    "kling-2.6": Model2026(
        durations=CLASSIC,
        native_needs_1080p=True,
        frames_need_1080p=True,
        frames_silent=True,
        max_elements=0,
        voices=True,
    ),
    "kling-2.5-turbo": _V25_TURBO,
}
"""``POST /image-to-video/{model}``."""

OMNI_2026: Final[Mapping[str, Model2026]] = {
    "kling-3.0-omni": Model2026(
        resolutions=HD_4K,
        audio=frozenset({"native", "original", "off"}),
        multi_shot=True,
        multi_shot_default=True,
        max_elements=7,
        max_prompt=3072,
    ),
    "kling-o1": Model2026(
        durations=SHORT,
        audio=frozenset({"original", "off"}),
        max_elements=7,
        short_without_reference=True,
        elements_with_both_frames=False,
    ),
}
"""``POST /omni-video/{model}``."""

MOTION_2026: Final[Mapping[str, Model2026]] = {
    "kling-3.0": Model2026(durations=(), audio=frozenset({"original", "off"}), max_elements=1),
    "kling-2.6": Model2026(durations=(), audio=frozenset({"original", "off"}), max_elements=0),
}
"""``POST /motion-control/{model}`` (no 4K; the duration follows the video)."""


def any_model(table: Mapping[str, Model2026]) -> Model2026:
    """The rules for a model the client does not know (sent as given, with a
    warning): only what holds for every model of the endpoint is checked (the
    setting words the endpoint knows, and that motion control takes no duration
    and no 4K)."""
    models = list(table.values())
    return Model2026(
        resolutions=frozenset().union(*(m.resolutions for m in models)),
        durations=() if all(m.durations == () for m in models) else None,
        audio=frozenset().union(*(m.audio for m in models)) | {"off"},
        multi_shot=True,
        max_elements=None,
        voices=any(m.voices for m in models),
        max_prompt=max(m.max_prompt for m in models),
    )
