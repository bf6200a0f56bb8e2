"""Response models: the task object and the answers of synchronous calls.

They are tolerant: unknown fields are kept (``model_extra``), ids sent as numbers
are read as strings, numbers sent as strings are read as numbers, and the status
spellings ``succeed`` (legacy) and ``succeeded`` (new design) both read as
:attr:`TaskStatus.SUCCEED`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "AccountCosts",
    "Audio",
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
]


def _to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return (
            str(value)
            if not isinstance(value, float) or not value.is_integer()
            else str(int(value))
        )
    return value


def _to_int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


IdStr = Annotated[str, BeforeValidator(_to_str)]
OptStr = Annotated[str | None, BeforeValidator(_to_str)]
OptInt = Annotated[int | None, BeforeValidator(_to_int)]


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
    url: str | None = None
    watermark_url: str | None = None
    duration: OptStr = None
    session_id: OptStr = None


class Image(_Tolerant):
    """A generated image (``url_1``..``url_3`` variants are kept as extras)."""

    index: OptInt = None
    url: str | None = None
    watermark_url: str | None = None
    type: str | None = None
    is_contain: bool | None = None


class Audio(_Tolerant):
    """A generated audio (``id`` also read from ``audio_id``)."""

    id: OptStr = None
    audio_id: OptStr = None
    url: str | None = None
    url_mp3: str | None = None
    url_wav: str | None = None
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
    voice_name: str | None = None
    trial_url: str | None = None
    owned_by: OptStr = None


class Element(_Tolerant):
    """An element (subject) created by advanced-custom-elements."""

    element_id: OptStr = None
    element_name: str | None = None
    element_description: str | None = None
    reference_type: str | None = None
    owned_by: OptStr = None
    status: str | None = None


class TaskResult(_Tolerant):
    """``task_result``: outputs by kind; which lists are filled depends on the family."""

    videos: list[Video] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    series_images: list[Image] = Field(default_factory=list)
    audios: list[Audio] = Field(default_factory=list)
    voices: list[Voice] = Field(default_factory=list)
    elements: list[Element] = Field(default_factory=list)
    result_type: str | None = None


class TaskInfo(_Tolerant):
    """``task_info``: echo of creation parameters (``external_task_id``, parent video)."""

    external_task_id: OptStr = None
    parent_video: Video | None = None


def _status(value: Any) -> Any:
    return TaskStatus(value) if isinstance(value, str) else value


class Task(_Tolerant):
    """A Kling task as returned by create, query, list and callbacks.

    Example:
        >>> t = Task.model_validate({"task_id": 1, "task_status": "succeeded"})
        >>> t.task_id, t.task_status.is_terminal
        ('1', True)
    """

    task_id: IdStr
    task_status: Annotated[TaskStatus, BeforeValidator(_status)] = TaskStatus.UNKNOWN
    task_status_msg: str | None = None
    task_info: TaskInfo = Field(default_factory=TaskInfo)
    task_result: TaskResult = Field(default_factory=TaskResult)
    watermark_info: dict[str, Any] | None = None
    final_unit_deduction: OptStr = None
    final_balance_deduction: dict[str, Any] | None = None
    created_at: OptInt = None
    updated_at: OptInt = None

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

    def result_urls(self, *, watermarked: bool = False) -> list[str]:
        """Every downloadable result URL (videos, images, series images, audios)."""
        urls: list[str] = []
        result = self.task_result
        visual: list[Video | Image] = [*result.videos, *result.images, *result.series_images]
        for item in visual:
            url = item.watermark_url if watermarked else item.url
            if url:
                urls.append(url)
            extras = item.model_extra or {}
            urls.extend(v for k, v in sorted(extras.items()) if k.startswith("url_") and v)
        for audio in result.audios:
            urls.extend(u for u in (audio.url, audio.url_mp3, audio.url_wav) if u)
        return urls


def _ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


class FaceData(_Tolerant):
    """One face found by identify-face (times in ms)."""

    face_id: OptStr = None
    face_image: str | None = None
    start_time: OptInt = None
    end_time: OptInt = None


class SyncResult(_Tolerant):
    """The ``data`` of a synchronous call; fields vary, extras are kept."""

    session_id: OptStr = None
    status: OptInt = None
    final_unit_deduction: OptStr = None
    final_balance_deduction: dict[str, Any] | None = None
    task_result: TaskResult | None = None


class IdentifyFaceResult(SyncResult):
    """Answer of identify-face: a session id and the faces found."""

    face_data: list[FaceData] = Field(default_factory=list)


class ResourcePack(_Tolerant):
    """One resource pack of the account."""

    resource_pack_name: str | None = None
    resource_pack_id: OptStr = None
    resource_pack_type: str | None = None
    total_quantity: float | None = None
    remaining_quantity: float | None = None
    purchase_time: OptInt = None
    effective_time: OptInt = None
    invalid_time: OptInt = None
    status: str | None = None


class AccountCosts(_Tolerant):
    """Answer of ``/account/costs`` (``remaining_quantity`` may lag by up to 12 h)."""

    code: OptInt = None
    msg: str | None = None
    resource_pack_subscribe_infos: list[ResourcePack] = Field(default_factory=list)
