"""Per-model rules of the legacy ``/v1`` video families, as data.

Sources: ``kling_api_2026.md`` section B (the 2026 capability matrix, dated changes
and documented refusals, which win) over ``kling_api.md`` sections 9 and 11. The first
entry of each table is the family's default model (used when ``model_name`` is not
sent). ``ANY_MODEL`` holds only what is true of every model; it applies to a
``model_name`` the client does not know (sent with a warning).

Resolution words: legacy ``mode`` ``std`` = 720p, ``pro`` = 1080p, ``4k`` = 4K.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ANY_MODEL",
    "I2V_MODELS",
    "MOTION_MODELS",
    "OMNI_MODELS",
    "T2V_MODELS",
    "VideoModel",
]

CLASSIC: Final = (5, 10)
LONG: Final = tuple(range(3, 16))
STD_PRO: Final = frozenset({"std", "pro"})
WITH_4K: Final = frozenset({"std", "pro", "4k"})


@dataclass(frozen=True, slots=True)
class VideoModel:
    """What one video model accepts (``None`` = no rule is known: anything goes).

    Attributes:
        modes: accepted ``mode`` values; empty = the model takes no ``mode``.
        durations: accepted ``duration`` seconds.
        sound: ``sound`` is accepted; ``sound_needs_pro``: ``"on"`` only at 1080p.
        multi_shot: ``multi_shot`` is accepted; ``multi_shot_with_frames``: also
            together with a first/last frame (2026-05-07: v3 and v3-omni).
        tail_needs_pro: first + last frame only at 1080p (``mode="pro"``).
        tail_silent_only: first + last frame only without sound.
        voices: ``voice_list`` (voice control) is accepted (needs sound on, 1080p).
        cfg_scale: ``cfg_scale`` is accepted (not by v2.x models).
        max_elements: most ``element_list`` items.
        discontinued: Kling refuses the model with this message.
    """

    modes: frozenset[str] | None = STD_PRO
    durations: tuple[int, ...] | None = CLASSIC
    sound: bool = False
    sound_needs_pro: bool = False
    multi_shot: bool = False
    multi_shot_with_frames: bool = False
    tail_needs_pro: bool = False
    tail_silent_only: bool = False
    voices: bool = False
    cfg_scale: bool = True
    max_elements: int = 0
    discontinued: str | None = None


ANY_MODEL: Final = VideoModel(
    modes=None,
    durations=None,
    sound=True,
    multi_shot=True,
    multi_shot_with_frames=True,
    voices=True,
    max_elements=7,
)
"""Rules for a model the client does not know: only what holds for every model."""

_GONE = "kling-v1 has been discontinued by Kling (refused live since 2026-09); use kling-v3"

T2V_MODELS: Final[Mapping[str, VideoModel]] = {
    "kling-v1": VideoModel(discontinued=_GONE),
    "kling-v1-6": VideoModel(),
    "kling-v2-master": VideoModel(modes=frozenset(), cfg_scale=False),
    "kling-v2-1-master": VideoModel(cfg_scale=False),
    "kling-v2-5-turbo": VideoModel(cfg_scale=False),
    "kling-v2-6": VideoModel(sound=True, sound_needs_pro=True, cfg_scale=False),
    "kling-v3": VideoModel(
        modes=WITH_4K, durations=LONG, sound=True, multi_shot=True, multi_shot_with_frames=True
    ),
}
"""``/v1/videos/text2video`` (B1; voice control is refused on t2v by every model, B6)."""

I2V_MODELS: Final[Mapping[str, VideoModel]] = {
    "kling-v1": VideoModel(discontinued=_GONE),
    "kling-v1-5": VideoModel(tail_needs_pro=True),
    "kling-v1-6": VideoModel(tail_needs_pro=True),
    "kling-v2-master": VideoModel(modes=frozenset(), cfg_scale=False),
    "kling-v2-1": VideoModel(tail_needs_pro=True, cfg_scale=False),
    "kling-v2-1-master": VideoModel(cfg_scale=False),
    "kling-v2-5-turbo": VideoModel(tail_needs_pro=True, cfg_scale=False),
    "kling-v2-6": VideoModel(
        sound=True,
        sound_needs_pro=True,
        tail_needs_pro=True,
        tail_silent_only=True,
        voices=True,
        cfg_scale=False,
    ),
    "kling-v3": VideoModel(
        modes=WITH_4K,
        durations=LONG,
        sound=True,
        multi_shot=True,
        multi_shot_with_frames=True,
        max_elements=3,
    ),
}
"""``/v1/videos/image2video`` (B2, B6)."""

OMNI_MODELS: Final[Mapping[str, VideoModel]] = {
    "kling-video-o1": VideoModel(durations=tuple(range(3, 11)), cfg_scale=False, max_elements=7),
    "kling-v3-omni": VideoModel(
        modes=WITH_4K,
        durations=LONG,
        sound=True,
        multi_shot=True,
        multi_shot_with_frames=True,
        cfg_scale=False,
        max_elements=7,
    ),
}
"""``/v1/videos/omni-video`` (B3): v3-omni 4K also with a reference video and reference
videos of 3-15 s since 2026-06-17."""

MOTION_MODELS: Final[Mapping[str, VideoModel]] = {
    "kling-v2-6": VideoModel(durations=None),
    "kling-v3": VideoModel(durations=None, max_elements=1),
}
"""``/v1/videos/motion-control`` (B4): std/pro only (no 4K); elements on v3 only, at
most one; the output length follows the reference video."""
