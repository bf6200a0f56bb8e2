"""Response models: the task object and the answers of synchronous calls.

Strict on requests, lenient on responses: these models accept every shape live Kling
was seen to send (``kling_api_2026.md`` A5) and never fail an answer over a field the
client does not need to decide anything:

* unknown fields are kept (``model_extra``);
* ids sent as numbers are read as strings, numbers sent as strings as numbers;
* result lists that are ``null``, missing or not a list read as ``[]`` (items that
  are not objects are dropped); ``task_info`` / ``task_result`` that are ``null``,
  ``{}`` or missing read as empty;
* an optional field of an unreadable type reads as ``None`` (the raw value stays in
  nothing the client acts on);
* the status spellings ``succeed`` (legacy) and ``succeeded`` (new design) both read
  as :attr:`TaskStatus.SUCCEED`; an unknown status word is never success.

Only ``task_id`` is required: an answer that does not name its task cannot be used.

The 2026 design's task record (``id``, ``status``, ``message``, ``create_time``,
``update_time``, ``external_id``, ``outputs[]``, ``billing[]``; ``kling_api_2026.md``
C4) is read into the same :class:`Task`: ``id`` -> ``task_id``, ``outputs`` ->
``task_result`` lists, ``unit`` billing amounts -> ``final_unit_deduction``, cash
ones -> ``final_balance_deduction``. The record's own fields stay on the task
(``task.outputs``, ``task.billing``, :attr:`Task.design`), so nothing is lost.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

__all__ = [
    "AccountCosts",
    "Audio",
    "BillingPage",
    "BillingRecord",
    "BillingResult",
    "Design",
    "Element",
    "FaceData",
    "IdentifyFaceResult",
    "Image",
    "ResourcePack",
    "SyncResult",
    "Task",
    "TaskInfo",
    "TaskResult",
    "TaskStatus",
    "Video",
    "Voice",
    "from_record",
    "is_record",
    "record_external_id",
]


def _to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return value
        return str(int(value)) if value.is_integer() else str(value)
    return value


def _to_int(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return value
        return int(number) if math.isfinite(number) and number.is_integer() else value
    return value


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """An optional field whose value cannot be read becomes None (never a failure)."""
    try:
        return handler(value)
    except ValidationError:
        return None


def _list_of_objects(value: Any) -> Any:
    """``null`` / missing / not a list -> ``[]``; a lone object -> ``[object]``;
    items that are not objects are dropped."""
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _object_or_empty(value: Any) -> Any:
    return value if isinstance(value, Mapping) else {}


def _str_or_empty_none(value: Any) -> Any:
    value = _to_str(value)
    return None if value == "" else value


IdStr = Annotated[str, BeforeValidator(_to_str)]
OptStr = Annotated[str | None, BeforeValidator(_to_str), WrapValidator(_or_none)]
OptText = Annotated[str | None, WrapValidator(_or_none)]
OptInt = Annotated[int | None, BeforeValidator(_to_int), WrapValidator(_or_none)]
OptFloat = Annotated[float | None, WrapValidator(_or_none)]
OptBool = Annotated[bool | None, WrapValidator(_or_none)]
OptDict = Annotated[dict[str, Any] | None, WrapValidator(_or_none)]
OptExternalId = Annotated[str | None, BeforeValidator(_str_or_empty_none), WrapValidator(_or_none)]

_T = TypeVar("_T")
ObjectList = Annotated[list[_T], BeforeValidator(_list_of_objects)]
"""A list of objects read leniently (see the module docstring)."""


class Design(enum.StrEnum):
    """One of Kling's two API designs (``kling_api_2026.md`` C7).

    ``V1``: ``/v1/...`` paths, the model in a ``model_name`` field, the task object
    (``task_id``, ``task_status``...). ``D2026``: the model in the path
    (``/text-to-video/{model}``), ``contents[]`` + ``settings{}`` + ``options{}``, the
    task record (``id``, ``status``, ``outputs[]``...), lookups through ``/tasks``, API
    key only. How each is spoken is its strategy (``kling_async.wire._designs``), chosen
    per family by the family table.
    """

    V1 = "v1"
    D2026 = "2026"


class TaskStatus(enum.StrEnum):
    """A task's status; terminal states are ``succeed`` and ``failed``."""

    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> TaskStatus:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("succeeded", "success", "succeed"):
                return cls.SUCCEED
            for member in cls:
                if member.value == lowered:
                    return member
        return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        """True for ``succeed`` and ``failed``."""
        return self in (TaskStatus.SUCCEED, TaskStatus.FAILED)


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


class Video(_Tolerant):
    """A generated video."""

    id: OptStr = None
    url: OptText = None
    watermark_url: OptText = None
    duration: OptStr = None
    session_id: OptStr = None


class Image(_Tolerant):
    """A generated image (``url_1``..``url_3`` variants are kept as extras)."""

    index: OptInt = None
    url: OptText = None
    watermark_url: OptText = None
    type: OptText = None
    is_contain: OptBool = None


class Audio(_Tolerant):
    """A generated audio (``id`` also read from ``audio_id``)."""

    id: OptStr = None
    audio_id: OptStr = None
    url: OptText = None
    url_mp3: OptText = None
    url_wav: OptText = None
    duration: OptStr = None
    duration_mp3: OptStr = None
    duration_wav: OptStr = None

    def model_post_init(self, context: Any) -> None:
        """Fill ``id`` from ``audio_id`` when only the latter was sent."""
        if self.id is None and self.audio_id is not None:
            self.id = self.audio_id


class Voice(_Tolerant):
    """A custom or preset voice."""

    voice_id: OptStr = None
    voice_name: OptText = None
    trial_url: OptText = None
    owned_by: OptStr = None


class Element(_Tolerant):
    """An element (subject) created by advanced-custom-elements."""

    element_id: OptStr = None
    element_name: OptText = None
    element_description: OptText = None
    reference_type: OptText = None
    owned_by: OptStr = None
    status: OptText = None


class TaskResult(_Tolerant):
    """``task_result``: outputs by kind; which lists are filled depends on the family."""

    videos: ObjectList[Video] = Field(default_factory=list)
    images: ObjectList[Image] = Field(default_factory=list)
    series_images: ObjectList[Image] = Field(default_factory=list)
    audios: ObjectList[Audio] = Field(default_factory=list)
    voices: ObjectList[Voice] = Field(default_factory=list)
    elements: ObjectList[Element] = Field(default_factory=list)
    result_type: OptText = None


class TaskInfo(_Tolerant):
    """``task_info``: echo of creation parameters (``external_task_id``, parent video)."""

    external_task_id: OptExternalId = None
    parent_video: Annotated[Video | None, WrapValidator(_or_none)] = None


def _text(value: Any) -> str | None:
    value = _to_str(value)
    return value if isinstance(value, str) and value != "" else None


_OUTPUT_FIELDS: dict[str, tuple[str, dict[str, str]]] = {
    "video": ("videos", {"id": "id", "url": "url", "watermark_url": "watermark_url",
                         "duration": "duration"}),
    "image": ("images", {"url": "url", "watermark_url": "watermark_url",
                         "group_id": "group_id"}),
    "audio": ("audios", {"id": "id", "mp3_url": "url_mp3", "wav_url": "url_wav",
                         "mp3_duration": "duration_mp3", "wav_duration": "duration_wav",
                         "url": "url", "duration": "duration"}),
    "voice": ("voices", {"id": "voice_id", "name": "voice_name", "url": "trial_url",
                         "owned_by": "owned_by", "status": "status"}),
    "element": ("elements", {"id": "element_id", "name": "element_name",
                             "description": "element_description",
                             "element_type": "reference_type", "owned_by": "owned_by",
                             "status": "status"}),
}  # fmt: skip


def _outputs_to_result(outputs: Any) -> dict[str, Any]:
    result: dict[str, list[dict[str, Any]]] = {}
    images = 0
    for item in _list_of_objects(outputs):
        kind = str(item.get("type") or "").lower()
        known = _OUTPUT_FIELDS.get(kind)
        if known is None:
            continue
        target, names = known
        mapped = {new: item[old] for old, new in names.items() if item.get(old) is not None}
        for key, value in item.items():  # anything else stays as an extra
            if key not in names and key != "type":
                mapped.setdefault(key, value)
        if kind == "image":
            mapped.setdefault("index", images)
            images += 1
        result.setdefault(target, []).append(mapped)
    return result


def _billing_totals(billing: Any) -> tuple[str | None, dict[str, Any] | None]:
    units = 0.0
    unit_seen = False
    cash: dict[str, Any] | None = None
    for item in _list_of_objects(billing):
        try:
            amount = float(str(item.get("amount")))
        except ValueError:
            continue
        if not math.isfinite(amount):
            continue
        if str(item.get("charge_type") or "unit").lower() == "unit":
            units += amount
            unit_seen = True
        else:
            cash = cash or {"quota": 0.0}
            cash["quota"] = float(cash["quota"]) + amount
            for key in ("currency", "cash_type", "list_price"):
                if item.get(key) is not None:
                    cash[key] = item[key]
    units_text = f"{round(units, 6):g}" if unit_seen else None
    if cash is not None:
        cash["quota"] = f"{round(float(cash['quota']), 6):g}"
    return units_text, cash


_PACKS_OF_OUTPUT = {
    "video": frozenset({"video"}),
    "audio": frozenset({"video"}),
    "image": frozenset({"image", "try_on"}),
}
"""Which packs can produce an output of each kind."""


def from_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """A 2026 task record (``id``, ``status``, ``outputs``, ``billing``) as the
    ``/v1`` task object fields, its own fields kept beside them."""
    body = dict(data)
    body["task_id"] = data.get("id")
    body.setdefault("task_status", data.get("status"))
    body.setdefault("task_status_msg", data.get("message"))
    body.setdefault("created_at", data.get("create_time"))
    body.setdefault("updated_at", data.get("update_time"))
    external = _text(data.get("external_id"))
    body["task_info"] = {"external_task_id": external} if external else {}
    body["task_result"] = _outputs_to_result(data.get("outputs"))
    units, cash = _billing_totals(data.get("billing"))
    if units is not None:
        body.setdefault("final_unit_deduction", units)
    if cash is not None:
        body.setdefault("final_balance_deduction", cash)
    body["design"] = Design.D2026
    return body


def _read_either_shape(data: Any) -> Any:
    return from_record(data) if is_record(data) else data


def is_record(data: Any) -> bool:
    """True for the 2026 design's task record shape (``id``, not ``task_id``)."""
    return isinstance(data, Mapping) and "task_id" not in data and "id" in data


def record_external_id(item: Mapping[str, Any]) -> str | None:
    """The external id a raw task object of either shape names."""
    if is_record(item):
        return _text(item.get("external_id"))
    info = item.get("task_info")
    if not isinstance(info, Mapping):
        return None
    return _text(info.get("external_task_id"))


def _design(value: Any) -> Design:
    try:
        return Design(value)
    except ValueError:
        return Design.V1


def _status(value: Any) -> TaskStatus:
    return TaskStatus(value) if isinstance(value, str) else TaskStatus.UNKNOWN


class Task(_Tolerant):
    """A Kling task as returned by create, query, list and callbacks.

    Example:
        >>> t = Task.model_validate({"task_id": 1, "task_status": "succeeded"})
        >>> t.task_id, t.task_status.is_terminal
        ('1', True)
    """

    task_id: IdStr
    task_status: Annotated[TaskStatus, BeforeValidator(_status)] = TaskStatus.UNKNOWN
    task_status_msg: OptStr = None
    task_info: Annotated[TaskInfo, BeforeValidator(_object_or_empty)] = Field(
        default_factory=TaskInfo
    )
    task_result: Annotated[TaskResult, BeforeValidator(_object_or_empty)] = Field(
        default_factory=TaskResult
    )
    watermark_info: OptDict = None
    final_unit_deduction: OptStr = None
    final_balance_deduction: OptDict = None
    created_at: OptInt = None
    updated_at: OptInt = None
    design: Annotated[Design, BeforeValidator(_design)] = Design.V1
    """The shape Kling answered in: :attr:`Design.D2026` for the 2026 task record (its
    ``outputs`` and ``billing`` stay as extras; ``GET /tasks`` answers ``/v1`` tasks in
    that shape too), :attr:`Design.V1` for the ``/v1`` task object."""

    @model_validator(mode="before")
    @classmethod
    def _either_shape(cls, data: Any) -> Any:
        return _read_either_shape(data)

    @property
    def external_task_id(self) -> str | None:
        """The ``external_task_id`` given at creation, if any."""
        return self.task_info.external_task_id

    @property
    def is_terminal(self) -> bool:
        """True when the task has ended (``succeed`` or ``failed``)."""
        return self.task_status.is_terminal

    @property
    def succeeded(self) -> bool:
        """True when the task ended with ``succeed``."""
        return self.task_status is TaskStatus.SUCCEED

    @property
    def created(self) -> datetime | None:
        """``created_at`` as an aware UTC datetime."""
        return _ms(self.created_at)

    @property
    def updated(self) -> datetime | None:
        """``updated_at`` as an aware UTC datetime."""
        return _ms(self.updated_at)

    def packs_shown(self) -> frozenset[str] | None:
        """The packs this answer shows the task belongs to, or None when it shows
        nothing: its outputs' kinds (images: ``image`` or ``try_on``; videos and
        audio: ``video``) and its billing items' ``package_type``. Kling's task
        objects name no family; this is the part of "what the task is" they carry."""
        shown: set[str] | None = None
        result = self.task_result
        evidence = []
        if result.images or result.series_images:
            evidence.append(_PACKS_OF_OUTPUT["image"])
        if result.videos or result.audios:
            evidence.append(_PACKS_OF_OUTPUT["video"])
        extra = self.model_extra
        for item in _list_of_objects(extra.get("billing") if extra else None):
            package = str(item.get("package_type") or "").strip().lower().replace("-", "_")
            if package:
                evidence.append(frozenset({package}))
        for packs in evidence:
            shown = set(packs) if shown is None else shown & packs
        return None if shown is None else frozenset(shown)

    def result_urls(self, *, watermarked: bool = False) -> list[str]:
        """Every downloadable result URL (videos, images, series images, audios)."""
        return [url for url, _kind in self.result_files(watermarked=watermarked)]

    def result_files(self, *, watermarked: bool = False) -> list[tuple[str, str]]:
        """Every downloadable result as ``(url, kind)``, kind ``video``, ``image`` or
        ``audio``, in the order of :meth:`result_urls`."""
        files: list[tuple[str, str]] = []
        result = self.task_result
        visual: list[tuple[str, Video | Image]] = [
            *(("video", v) for v in result.videos),
            *(("image", i) for i in result.images),
            *(("image", i) for i in result.series_images),
        ]
        for kind, item in visual:
            url = item.watermark_url if watermarked else item.url
            if url:
                files.append((url, kind))
            extras = item.model_extra or {}
            files.extend((v, kind) for k, v in sorted(extras.items()) if k.startswith("url_") and v)
        for audio in result.audios:
            files.extend((u, "audio") for u in (audio.url, audio.url_mp3, audio.url_wav) if u)
        return files


def _ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


class FaceData(_Tolerant):
    """One face found by identify-face (times in ms)."""

    face_id: OptStr = None
    face_image: OptText = None
    start_time: OptInt = None
    end_time: OptInt = None


class SyncResult(_Tolerant):
    """The ``data`` of a synchronous call; fields vary, extras are kept."""

    session_id: OptStr = None
    status: OptInt = None
    final_unit_deduction: OptStr = None
    final_balance_deduction: OptDict = None
    task_result: Annotated[TaskResult | None, WrapValidator(_or_none)] = None


class IdentifyFaceResult(SyncResult):
    """Answer of identify-face: a session id and the faces found."""

    face_data: ObjectList[FaceData] = Field(default_factory=list)


class ResourcePack(_Tolerant):
    """One resource pack of the account."""

    resource_pack_name: OptText = None
    resource_pack_id: OptStr = None
    resource_pack_type: OptText = None
    total_quantity: OptFloat = None
    remaining_quantity: OptFloat = None
    purchase_time: OptInt = None
    effective_time: OptInt = None
    invalid_time: OptInt = None
    status: OptText = None


class AccountCosts(_Tolerant):
    """Answer of ``/account/costs`` (``remaining_quantity`` may lag by up to 12 h)."""

    code: OptInt = None
    msg: OptText = None
    resource_pack_subscribe_infos: ObjectList[ResourcePack] = Field(default_factory=list)


class BillingRecord(_Tolerant):
    """One deduction of a billing ledger (``/account/billing/package`` or ``/balance``).

    Package ledger items carry the ``unit_*`` fields, balance ledger items the
    ``balance_*``, ``cash_type``, ``list_price`` and ``currency`` fields.
    """

    package_id: OptStr = None
    product_type: OptText = None
    task_id: OptStr = None
    api_key_name: OptText = None
    product_function: OptText = None
    model_name: OptText = None
    resolution: OptText = None
    duration: OptText = None
    refer_video_input: OptText = None
    video_sound: OptText = None
    voice_control: OptText = None
    deduction_time: OptInt = None
    unit_before_deduction: OptFloat = None
    deduction_amount: OptFloat = None
    unit_after_deduction: OptFloat = None
    cash_type: OptText = None
    balance_before_deduction: OptFloat = None
    balance_after_deduction: OptFloat = None
    list_price: OptFloat = None
    currency: OptText = None


class BillingResult(_Tolerant):
    """The ``result`` of a ledger page."""

    detail: ObjectList[BillingRecord] = Field(default_factory=list)
    count: OptInt = None


class BillingPage(_Tolerant):
    """One page of a billing ledger; pass ``next_cursor`` on while ``has_more``."""

    result: Annotated[BillingResult | None, WrapValidator(_or_none)] = None
    next_cursor: OptStr = None
    has_more: OptBool = None

    @property
    def records(self) -> list[BillingRecord]:
        """The page's deductions (none when ``result`` is missing or null)."""
        return self.result.detail if self.result is not None else []
