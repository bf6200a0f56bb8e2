"""The family table: every Kling task family and how to talk to it.

For each family: its create path (lookups by task id or external id use
``{path}/{id}``, lists ``{path}?pageNum=&pageSize=``), whether it has
a list endpoint, the resource pack whose concurrency it consumes, how many slots a
request holds, and typical durations used to time the first poll.

Packs whose membership is UNCERTAIN in the API reference (audio generation, voice
cloning, elements, AI multi-shot) take the *safe* reading: they are counted against
a pack, so the client can under-use but never exceed a limit. Audio generation,
voices and elements live in Kling's *video* documentation tree, so they count
against the video pack; AI multi-shot is priced like an image job and counts 1
image slot. Synchronous calls (TTS, identify-face, ...) hold no slot.

Two API designs share one account, one set of packs and slots and one
external-id namespace (``kling_api_2026.md`` C7), so they share this table:

* ``Design.V1``: ``/v1/...`` paths, the model in a ``model_name`` field, lookups
  ``GET {path}/{id}``, lists ``GET {path}?pageNum=``; AK/SK JWT or API key.
* ``Design.D2026``: the model in the path (``/text-to-video/{model}``), requests as
  ``contents[]`` + ``settings{}`` + ``options{}``, lookups and polling through
  ``GET /tasks?task_ids=`` (at most 20 ids a request), no per-family list; API key
  only (``kling_api_2026.md`` C1-C5).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from kling_async.errors import UsageError

__all__ = [
    "FAMILIES",
    "MAX_TASK_IDS",
    "TASKS_PATH",
    "ConcurrencyScope",
    "Design",
    "Family",
    "Pack",
    "family",
    "slot_key",
]


class Pack(enum.StrEnum):
    """Kling resource-pack types; concurrency is counted separately for each."""

    VIDEO = "video"
    IMAGE = "image"
    TRY_ON = "try_on"


class Design(enum.StrEnum):
    """Which of Kling's two API designs a family belongs to (see the module docstring)."""

    V1 = "v1"
    D2026 = "2026"


class ConcurrencyScope(enum.StrEnum):
    """What Kling counts one concurrency limit over.

    ``PACK`` (the default, the safe reading): one limit per account and pack type
    (video / image / try-on), every model together. ``PACK_MODEL``: one limit per
    account, pack type **and model version**, as the 2026 concurrency pages say
    (``kling_api_2026.md`` A7, UNCERTAIN for the global platform): each model has its
    own slots. Choose it only when your account works that way; over-admitting on a
    per-pack account earns 1303 answers (handled, but wasteful).
    """

    PACK = "pack"
    PACK_MODEL = "pack_model"


def slot_key(pack: str, model_name: str | None, family_name: str, scope: ConcurrencyScope) -> str:
    """The name slots are counted under: the pack, or ``pack/model`` per model.

    With ``PACK_MODEL`` a request without ``model_name`` counts under its family's name
    (``video/avatar``): Kling's default model for it is not documented.
    """
    if scope is ConcurrencyScope.PACK:
        return pack
    return f"{pack}/{model_name or family_name}"


def _one(_: Mapping[str, Any]) -> int:
    return 1


def _n_images(params: Mapping[str, Any]) -> int:
    n = params.get("n", 1)
    return n if isinstance(n, int) and n > 0 else 1


def _omni_image_cost(params: Mapping[str, Any]) -> int:
    if params.get("result_type") == "series":
        amount = params.get("series_amount", 4)
        # series_amount = "auto" holds as many slots as images produced (up to 9):
        # reserve the maximum, the safe reading.
        return amount if isinstance(amount, int) and amount > 0 else 9
    return _n_images(params)


@dataclass(frozen=True, slots=True)
class Family:
    """One task family of the Kling API.

    Attributes:
        name: the kling_async name (``"text2video"``, ``"image_generation"``...).
        path: create path; also the base of lookups (``{path}/{id}``) and lists.
        pack: the resource pack it consumes, or None for calls that hold no slot.
        cost: slots held by one request, from its payload (image tasks: ``n``).
        list_supported: whether ``GET {path}?pageNum=&pageSize=`` exists.
        queryable: whether tasks can be queried after creation.
        typical_seconds: usual time from create to end (for poll timing).
        min_seconds: the shortest plausible run (the first poll waits this long).
        design: :attr:`Design.V1` or :attr:`Design.D2026`; a 2026 family's ``path``
            holds ``{model}`` (see :meth:`create_path`), its tasks are looked up
            through ``GET /tasks`` and it needs an API key.
    """

    name: str
    path: str
    pack: Pack | None
    cost: Callable[[Mapping[str, Any]], int]
    list_supported: bool = True
    queryable: bool = True
    typical_seconds: float = 300.0
    min_seconds: float = 30.0
    design: Design = Design.V1

    @property
    def api_key_only(self) -> bool:
        """True when Kling accepts only a console API key here (the 2026 design)."""
        return self.design is Design.D2026

    def create_path(self, model: str | None = None) -> str:
        """The create path; a 2026 family's carries the model (``/text-to-video/kling-3.0``).

        Raises:
            ValueError: a 2026 family without a model.
        """
        if self.design is Design.V1:
            return self.path
        if not model:
            raise UsageError(f"{self.name}: the model is part of the path; give model=")
        return self.path.replace("{model}", quote(model, safe=""))

    def slot_cost(self, params: Mapping[str, Any]) -> int:
        """Slots a request with ``params`` holds in :attr:`pack` (0 when no pack)."""
        return self.cost(params) if self.pack is not None else 0

    def task_path(self, task_id: str) -> str:
        """Path of the single-task query (``/v1`` families; 2026 ones use ``/tasks``)."""
        return f"{self.path}/{task_id}"


_V, _I, _T = Pack.VIDEO, Pack.IMAGE, Pack.TRY_ON

_TABLE: tuple[Family, ...] = (
    # --- video pack, 1 slot ------------------------------------------------------
    Family("text2video", "/v1/videos/text2video", _V, _one, typical_seconds=320, min_seconds=60),
    Family("image2video", "/v1/videos/image2video", _V, _one, typical_seconds=165, min_seconds=40),
    Family(
        "multi_image2video",
        "/v1/videos/multi-image2video",
        _V,
        _one,
        typical_seconds=300,
        min_seconds=60,
    ),
    Family("omni_video", "/v1/videos/omni-video", _V, _one, typical_seconds=300, min_seconds=60),
    Family(
        "motion_control", "/v1/videos/motion-control", _V, _one, typical_seconds=300, min_seconds=60
    ),
    Family(
        "multi_elements", "/v1/videos/multi-elements", _V, _one, typical_seconds=300, min_seconds=60
    ),
    Family(
        "video_extend", "/v1/videos/video-extend", _V, _one, typical_seconds=320, min_seconds=60
    ),
    Family(
        "advanced_lip_sync",
        "/v1/videos/advanced-lip-sync",
        _V,
        _one,
        typical_seconds=455,
        min_seconds=90,
    ),
    Family(
        "avatar", "/v1/videos/avatar/image2video", _V, _one, typical_seconds=300, min_seconds=60
    ),
    # The older single-call lip-sync (still used by peer clients); its list endpoint
    # is not documented, so its tasks are followed by single queries only.
    Family(
        "lip_sync",
        "/v1/videos/lip-sync",
        _V,
        _one,
        list_supported=False,
        typical_seconds=120,
        min_seconds=30,
    ),
    Family("effects", "/v1/videos/effects", _V, _one, typical_seconds=320, min_seconds=60),
    # --- audio, voices, elements: pack UNCERTAIN, counted as video (safe) ----------
    Family(
        "text_to_audio", "/v1/audio/text-to-audio", _V, _one, typical_seconds=60, min_seconds=10
    ),
    Family(
        "video_to_audio", "/v1/audio/video-to-audio", _V, _one, typical_seconds=90, min_seconds=15
    ),
    Family(
        "custom_voices", "/v1/general/custom-voices", _V, _one, typical_seconds=30, min_seconds=5
    ),
    Family(
        "advanced_custom_elements",
        "/v1/general/advanced-custom-elements",
        _V,
        _one,
        typical_seconds=10,
        min_seconds=3,
    ),
    # --- image pack, n slots ---------------------------------------------------------
    Family(
        "image_generation",
        "/v1/images/generations",
        _I,
        _n_images,
        typical_seconds=32,
        min_seconds=8,
    ),
    Family(
        "omni_image",
        "/v1/images/omni-image",
        _I,
        _omni_image_cost,
        typical_seconds=40,
        min_seconds=8,
    ),
    Family(
        "multi_image2image",
        "/v1/images/multi-image2image",
        _I,
        _n_images,
        typical_seconds=40,
        min_seconds=8,
    ),
    Family(
        "image_expand",
        "/v1/images/editing/expand",
        _I,
        _n_images,
        typical_seconds=40,
        min_seconds=8,
    ),
    Family(
        "ai_multi_shot", "/v1/general/ai-multi-shot", _I, _one, typical_seconds=40, min_seconds=8
    ),
    # --- try-on pack, 1 slot -----------------------------------------------------------
    Family(
        "virtual_try_on",
        "/v1/images/kolors-virtual-try-on",
        _T,
        _one,
        typical_seconds=20,
        min_seconds=5,
    ),
    # --- the 2026 design: model in the path, video pack, 1 slot ---------------------------
    Family(
        "text_to_video_2026",
        "/text-to-video/{model}",
        _V,
        _one,
        list_supported=False,
        typical_seconds=300,
        min_seconds=45,
        design=Design.D2026,
    ),
    Family(
        "image_to_video_2026",
        "/image-to-video/{model}",
        _V,
        _one,
        list_supported=False,
        typical_seconds=165,
        min_seconds=40,
        design=Design.D2026,
    ),
    Family(
        "omni_video_2026",
        "/omni-video/{model}",
        _V,
        _one,
        list_supported=False,
        typical_seconds=300,
        min_seconds=60,
        design=Design.D2026,
    ),
    Family(
        "motion_control_2026",
        "/motion-control/{model}",
        _V,
        _one,
        list_supported=False,
        typical_seconds=300,
        min_seconds=60,
        design=Design.D2026,
    ),
    # --- inline result: no slot, no query ---------------------------------------------
    Family(
        "tts",
        "/v1/audio/tts",
        None,
        _one,
        list_supported=False,
        queryable=False,
        typical_seconds=2,
        min_seconds=0,
    ),
)

TASKS_PATH: Final = "/tasks"
"""The cross-family task query of the 2026 design: ``GET`` by ids (at most
:data:`MAX_TASK_IDS` together), ``POST`` for the cursor listing."""

MAX_TASK_IDS: Final = 20
"""Ids per ``GET /tasks`` (task ids and external ids counted together; live cap, C5)."""

FAMILIES: Final[Mapping[str, Family]] = {f.name: f for f in _TABLE}
"""Every task family by name."""

SYNC_PATHS: Final[Mapping[str, str]] = {
    "identify_face": "/v1/videos/identify-face",
    "image_recognize": "/v1/videos/image-recognize",
    "multi_elements_init_selection": "/v1/videos/multi-elements/init-selection",
    "multi_elements_add_selection": "/v1/videos/multi-elements/add-selection",
    "multi_elements_delete_selection": "/v1/videos/multi-elements/delete-selection",
    "multi_elements_clear_selection": "/v1/videos/multi-elements/clear-selection",
    "multi_elements_preview_selection": "/v1/videos/multi-elements/preview-selection",
    "account_costs": "/account/costs",
    "presets_voices": "/v1/general/presets-voices",
    "presets_elements": "/v1/general/advanced-presets-elements",
    "delete_voices": "/v1/general/delete-voices",
    "delete_elements": "/v1/general/delete-advanced-elements",
}
"""Synchronous endpoints (answer inline, hold no slot, have no task query)."""


def family(name: str | Family) -> Family:
    """Look a family up by name.

    Raises:
        ValueError: the name is unknown; the message lists the valid names.
    """
    if isinstance(name, Family):
        return name
    try:
        return FAMILIES[name]
    except KeyError:
        raise UsageError(
            f"unknown task family {name!r}; expected one of: {', '.join(sorted(FAMILIES))}"
        ) from None
