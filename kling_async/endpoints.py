"""The family table: every Kling task family and how to talk to it.

One :class:`Family` per task family: its create path, its API design (whose strategy
knows how that design creates, looks up, polls and names models:
``kling_async.wire._designs``), its request model and the client coroutine made from it,
whether it has a list endpoint, the resource pack whose concurrency it consumes, how
many slots a request holds, typical durations used to time the first poll, and the
``/v1`` family whose prices hold for it. Everything else derives from this table:
:data:`REQUEST_MODELS`, the generated family methods, job files, estimates. A new
family is one :func:`register` call (or one row below) plus its request model.

Packs whose membership is UNCERTAIN in the API reference (audio generation, voice
cloning, elements, AI multi-shot) take the *safe* reading: they are counted against
a pack, so the client can under-use but never exceed a limit. Audio generation,
voices and elements live in Kling's *video* documentation tree, so they count
against the video pack; AI multi-shot is priced like an image job and counts 1
image slot. Synchronous calls (TTS, identify-face, ...) hold no slot.

Two API designs share one account, one set of packs and slots and one
external-id namespace (``kling_api_2026.md`` C7), so they share this table
(:class:`~kling_async.Design`).
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from kling_async.errors import UsageError
from kling_async.models import (
    AdvancedCustomElement,
    AdvancedLipSync,
    AIMultiShot,
    Avatar,
    CustomVoice,
    Design,
    ImageExpand,
    ImageGeneration,
    ImageToVideo,
    ImageToVideo2026,
    KlingRequest,
    LipSync,
    MotionControl,
    MotionControl2026,
    MultiElements,
    MultiImageToImage,
    MultiImageToVideo,
    OmniImage,
    OmniVideo,
    OmniVideo2026,
    TextToAudio,
    TextToVideo,
    TextToVideo2026,
    VideoEffects,
    VideoExtend,
    VideoToAudio,
    VirtualTryOn,
)
from kling_async.wire._designs import APIDesign, strategy
from kling_async.wire._sync_calls import SYNC_PATHS
from kling_async.wire._tasks_query import MAX_TASK_IDS, TASKS_PATH

__all__ = [
    "FAMILIES",
    "MAX_TASK_IDS",
    "REQUEST_MODELS",
    "SYNC_PATHS",
    "TASKS_PATH",
    "ConcurrencyScope",
    "Design",
    "Family",
    "Pack",
    "SlotKey",
    "family",
    "register",
    "unregister",
]


class Pack(enum.StrEnum):
    """Kling resource-pack types; concurrency is counted separately for each."""

    VIDEO = "video"
    IMAGE = "image"
    TRY_ON = "try_on"


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


@dataclass(frozen=True, slots=True)
class SlotKey:
    """What slots are counted under: a pack, or a pack and a model version.

    ``str(key)`` is ``"video"`` or ``"video/kling-v3"`` (the form ``capacity=`` keys,
    ``stats().packs`` and the shared slot pool use).

    Example:
        >>> str(SlotKey(Pack.VIDEO, "kling-v3")), SlotKey.parse("image")
        ('video/kling-v3', SlotKey(pack=<Pack.IMAGE: 'image'>, model=None))
    """

    pack: Pack
    model: str | None = None

    @classmethod
    def parse(cls, text: str) -> SlotKey:
        """``"video"`` or ``"video/kling-v3"`` as a key.

        Raises:
            UsageError: not a pack name (optionally followed by ``/model``).
        """
        pack, _, model = text.partition("/")
        try:
            return cls(Pack(pack), model or None)
        except ValueError:
            raise UsageError(
                f"unknown pack {pack!r} in {text!r}; packs are {', '.join(p.value for p in Pack)}"
            ) from None

    @classmethod
    def of(cls, family: Family, model: str | None, scope: ConcurrencyScope) -> SlotKey | None:
        """The key a task of ``family`` whose slots count under ``model`` (see
        ``Family.slot_model``) counts under; None when the family holds no slot.

        With ``PACK_MODEL`` a task without a model counts under its family's name
        (``video/avatar``): Kling's default model for it is not documented.
        """
        if family.pack is None:
            return None
        if scope is ConcurrencyScope.PACK:
            return cls(family.pack)
        return cls(family.pack, model or family.name)

    def __str__(self) -> str:
        return self.pack.value if self.model is None else f"{self.pack.value}/{self.model}"


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


_COST_FIELDS = ("n", "result_type", "series_amount")
"""The only request fields a slot cost reads (reading them beats dumping the model)."""


@dataclass(frozen=True, slots=True)
class Family:
    """One task family of the Kling API.

    Attributes:
        name: the kling_async name (``"text2video"``, ``"image_generation"``...).
        path: create path; also the base of lookups (``{path}/{id}``) and lists. A
            2026-design family's holds ``{model}``.
        pack: the resource pack it consumes, or None for calls that hold no slot.
        cost: slots held by one request, from its fields (image tasks: ``n``).
        request: its request model (``TextToVideo``...); its ``family`` is ``name``.
        method: the name of the client coroutine made from ``request``
            (``client.text_to_video(...)``), or None.
        list_supported: whether ``GET {path}?pageNum=&pageSize=`` exists.
        queryable: whether tasks can be queried after creation.
        typical_seconds: usual time from create to end (for poll timing).
        min_seconds: the shortest plausible run (the first poll waits this long).
        design: its API design (:class:`~kling_async.Design`); :attr:`strategy` says
            how that design is spoken.
        priced_like: the ``/v1`` family whose price entries hold for the same model
            when the table has none of this family's own (2026-design families).
    """

    name: str
    path: str
    pack: Pack | None
    cost: Callable[[Mapping[str, Any]], int]
    request: type[KlingRequest] | None = None
    method: str | None = None
    list_supported: bool = True
    queryable: bool = True
    typical_seconds: float = 300.0
    min_seconds: float = 30.0
    design: Design = Design.V1
    priced_like: str | None = None

    @property
    def pack_name(self) -> str | None:
        """The pack's name (``"video"``, ``"image"``, ``"try_on"``), None for none."""
        return self.pack.value if self.pack is not None else None

    @property
    def strategy(self) -> APIDesign:
        """How this family's API design creates, looks up, polls and names models."""
        return strategy(self.design)

    @property
    def api_key_only(self) -> bool:
        """True when Kling accepts only a console API key here."""
        return self.strategy.needs_api_key

    def create_path(self, request: KlingRequest) -> str:
        """The path ``request`` is POSTed to (a 2026 family's carries the model:
        ``/text-to-video/kling-3.0``).

        Raises:
            UsageError: the path needs a model the request does not give.
        """
        return self.strategy.create_path(self, request)

    def slot_model(self, fields: Mapping[str, Any] | KlingRequest) -> str | None:
        """The model version a request's (or its fields') slots count under with
        per-model concurrency (``kling-3.0`` counts as ``kling-v3``), or None."""
        return self.strategy.slot_model(fields)

    def slot_cost(self, fields: Mapping[str, Any] | KlingRequest) -> int:
        """Slots a request (or its fields) holds in :attr:`pack` (0 when no pack)."""
        if self.pack is None:
            return 0
        if isinstance(fields, KlingRequest):
            declared = type(fields).model_fields
            fields = {
                name: value
                for name in _COST_FIELDS
                if name in declared and (value := getattr(fields, name)) is not None
            }
        return self.cost(fields)


_V, _I, _T = Pack.VIDEO, Pack.IMAGE, Pack.TRY_ON
_2026 = Design.D2026


def _family(
    name: str,
    path: str,
    pack: Pack | None,
    request: type[KlingRequest] | None,
    method: str | None,
    typical: float,
    minimum: float,
    cost: Callable[[Mapping[str, Any]], int] = _one,
    **more: Any,
) -> Family:
    return Family(
        name,
        path,
        pack,
        cost,
        request=request,
        method=method,
        typical_seconds=typical,
        min_seconds=minimum,
        **more,
    )


_TABLE: tuple[Family, ...] = (
    # --- video pack, 1 slot ----------------------------------------------------------------
    _family("text2video", "/v1/videos/text2video", _V, TextToVideo, "text_to_video", 320, 60),
    _family("image2video", "/v1/videos/image2video", _V, ImageToVideo, "image_to_video", 165, 40),
    _family(
        "multi_image2video",
        "/v1/videos/multi-image2video",
        _V,
        MultiImageToVideo,
        "multi_image_to_video",
        300,
        60,
    ),
    _family("omni_video", "/v1/videos/omni-video", _V, OmniVideo, "omni_video", 300, 60),
    _family(
        "motion_control", "/v1/videos/motion-control", _V, MotionControl, "motion_control", 300, 60
    ),
    _family(
        "multi_elements", "/v1/videos/multi-elements", _V, MultiElements, "multi_elements", 300, 60
    ),
    _family("video_extend", "/v1/videos/video-extend", _V, VideoExtend, "video_extend", 320, 60),
    _family(
        "advanced_lip_sync",
        "/v1/videos/advanced-lip-sync",
        _V,
        AdvancedLipSync,
        "advanced_lip_sync",
        455,
        90,
    ),
    _family("avatar", "/v1/videos/avatar/image2video", _V, Avatar, "avatar", 300, 60),
    # The older single-call lip-sync (still used by peer clients); its list endpoint
    # is not documented, so its tasks are followed by single queries only.
    _family(
        "lip_sync", "/v1/videos/lip-sync", _V, LipSync, "lip_sync", 120, 30, list_supported=False
    ),
    _family("effects", "/v1/videos/effects", _V, VideoEffects, "video_effects", 320, 60),
    # --- audio, voices, elements: pack UNCERTAIN, counted as video (safe) ----------------
    _family("text_to_audio", "/v1/audio/text-to-audio", _V, TextToAudio, "text_to_audio", 60, 10),
    _family(
        "video_to_audio", "/v1/audio/video-to-audio", _V, VideoToAudio, "video_to_audio", 90, 15
    ),
    _family("custom_voices", "/v1/general/custom-voices", _V, CustomVoice, "custom_voice", 30, 5),
    _family(
        "advanced_custom_elements",
        "/v1/general/advanced-custom-elements",
        _V,
        AdvancedCustomElement,
        "advanced_custom_element",
        10,
        3,
    ),
    # --- image pack, n slots ------------------------------------------------------------------
    _family(
        "image_generation",
        "/v1/images/generations",
        _I,
        ImageGeneration,
        "image_generation",
        32,
        8,
        cost=_n_images,
    ),
    _family(
        "omni_image",
        "/v1/images/omni-image",
        _I,
        OmniImage,
        "omni_image",
        40,
        8,
        cost=_omni_image_cost,
    ),
    _family(
        "multi_image2image",
        "/v1/images/multi-image2image",
        _I,
        MultiImageToImage,
        "multi_image_to_image",
        40,
        8,
        cost=_n_images,
    ),
    _family(
        "image_expand",
        "/v1/images/editing/expand",
        _I,
        ImageExpand,
        "image_expand",
        40,
        8,
        cost=_n_images,
    ),
    _family("ai_multi_shot", "/v1/general/ai-multi-shot", _I, AIMultiShot, "ai_multi_shot", 40, 8),
    # --- try-on pack, 1 slot --------------------------------------------------------------------
    _family(
        "virtual_try_on",
        "/v1/images/kolors-virtual-try-on",
        _T,
        VirtualTryOn,
        "virtual_try_on",
        20,
        5,
    ),
    # --- the 2026 design: model in the path, video pack, 1 slot, no list -------------------
    _family(
        "text_to_video_2026",
        "/text-to-video/{model}",
        _V,
        TextToVideo2026,
        "text_to_video_2026",
        300,
        45,
        list_supported=False,
        design=_2026,
        priced_like="text2video",
    ),
    _family(
        "image_to_video_2026",
        "/image-to-video/{model}",
        _V,
        ImageToVideo2026,
        "image_to_video_2026",
        165,
        40,
        list_supported=False,
        design=_2026,
        priced_like="image2video",
    ),
    _family(
        "omni_video_2026",
        "/omni-video/{model}",
        _V,
        OmniVideo2026,
        "omni_video_2026",
        300,
        60,
        list_supported=False,
        design=_2026,
        priced_like="omni_video",
    ),
    _family(
        "motion_control_2026",
        "/motion-control/{model}",
        _V,
        MotionControl2026,
        "motion_control_2026",
        300,
        60,
        list_supported=False,
        design=_2026,
        priced_like="motion_control",
    ),
    # --- inline result: no slot, no query (its request model is a synchronous one) --------
    _family("tts", "/v1/audio/tts", None, None, None, 2, 0, list_supported=False, queryable=False),
)

_FAMILIES: dict[str, Family] = {}

FAMILIES: Final[Mapping[str, Family]] = MappingProxyType(_FAMILIES)
"""Every task family by name (a read-only view; :func:`register` adds one)."""


class _RequestModels(Mapping[str, type[KlingRequest]]):
    """The request model of every family that has one, read from the table."""

    def __getitem__(self, name: str) -> type[KlingRequest]:
        model = _FAMILIES[name].request
        if model is None:
            raise KeyError(name)
        return model

    def __iter__(self) -> Iterator[str]:
        return (name for name, fam in _FAMILIES.items() if fam.request is not None)

    def __len__(self) -> int:
        return sum(1 for fam in _FAMILIES.values() if fam.request is not None)

    def __repr__(self) -> str:
        return f"REQUEST_MODELS({', '.join(self)})"


REQUEST_MODELS: Final[Mapping[str, type[KlingRequest]]] = _RequestModels()
"""The request model of every task family that creates a trackable task (derived from
the family table, so a registered family appears here too)."""


def register(new: Family) -> Family:
    """Add a task family to the table; returns it.

    Its request model (``new.request``) must name it (``family = new.name``); every
    part of the client reads the table, so ``client.submit(MyRequest(...))``, job
    files, ``attach`` and polling take it at once (a price needs a price-table entry;
    a typed coroutine needs ``scripts/gen_family_methods.py``).

    Raises:
        UsageError: the name is taken, or the request model names another family.
    """
    if new.name in _FAMILIES:
        raise UsageError(f"task family {new.name!r} already exists")
    if not new.name.isidentifier() or keyword.iskeyword(new.name):
        raise UsageError(f"a task family name must be an identifier, got {new.name!r}")
    if new.request is not None and getattr(new.request, "family", None) != new.name:
        raise UsageError(
            f"{new.request.__name__}.family must be {new.name!r} (the family it creates), "
            f"got {getattr(new.request, 'family', None)!r}"
        )
    if new.priced_like is not None and new.priced_like not in _FAMILIES:
        raise UsageError(f"priced_like={new.priced_like!r} is not a task family")
    _FAMILIES[new.name] = new
    return new


for _row in _TABLE:
    register(_row)
_BUILT_IN: Final = frozenset(_FAMILIES)


def unregister(name: str) -> Family:
    """Take a family added with :func:`register` out of the table again (tests).

    Raises:
        UsageError: unknown name, or one of the built-in families.
    """
    if name in _BUILT_IN:
        raise UsageError(f"{name!r} is a built-in task family")
    try:
        return _FAMILIES.pop(name)
    except KeyError:
        raise UsageError(f"unknown task family {name!r}") from None


def family(name: str | Family) -> Family:
    """Look a family up by name.

    Raises:
        UsageError: the name is unknown; the message lists the valid names.
    """
    if isinstance(name, Family):
        return name
    try:
        return _FAMILIES[name]
    except KeyError:
        raise UsageError(
            f"unknown task family {name!r}; expected one of: {', '.join(sorted(_FAMILIES))}"
        ) from None
