"""Shared pieces of the request models: base classes, field types, helpers.

Every request model validates the documented constraints of its family before any
network I/O and names the offending field in its error. Unknown extra fields are
kept and sent as given, so a new server parameter never waits for a release.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

__all__ = [
    "AspectRatio",
    "AudioPrompt",
    "CameraConfig",
    "CameraControl",
    "Duration",
    "ElementRef",
    "HttpURL",
    "KlingModel",
    "KlingRequest",
    "Media",
    "MultiPromptShot",
    "Prompt",
    "VoiceRef",
    "WatermarkInfo",
    "encode_bytes",
    "encode_file",
]

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_AUDIO_BYTES = 5 * 1024 * 1024


def encode_bytes(data: bytes) -> str:
    """Return raw Base64 (no ``data:`` prefix) for ``data``, as Kling expects.

    >>> encode_bytes(b"hi")
    'aGk='
    """
    return base64.b64encode(data).decode("ascii")


def encode_file(path: str | os.PathLike[str]) -> str:
    """Read a local file and return it as raw Base64 for an image/audio field.

    Raises:
        FileNotFoundError: the path does not exist.
    """
    return encode_bytes(Path(path).read_bytes())


def _coerce_media(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return encode_bytes(bytes(value))
    if isinstance(value, os.PathLike):
        return encode_file(value)
    return value


def _media_checker(max_bytes: int) -> AfterValidator:
    def check(value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("must not be empty")
        if stripped.startswith(("http://", "https://")):
            return stripped
        if stripped[:5].lower() == "data:":
            raise ValueError(
                "must be raw Base64 without a 'data:...;base64,' prefix (or an http(s) URL)"
            )
        # Estimate before decoding so a huge string is refused cheaply.
        if len(stripped) * 3 // 4 > max_bytes + 3:
            raise ValueError(f"is larger than {max_bytes // (1024 * 1024)} MB")
        try:
            decoded = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be an http(s) URL or raw Base64 data") from None
        if len(decoded) > max_bytes:
            raise ValueError(f"is larger than {max_bytes // (1024 * 1024)} MB")
        return stripped

    return AfterValidator(check)


def _check_url(value: str) -> str:
    stripped = value.strip()
    if not stripped.startswith(("http://", "https://")) or len(stripped) < 10:
        raise ValueError("must be an http(s) URL")
    return stripped


def _duration_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


Media = Annotated[str, BeforeValidator(_coerce_media), _media_checker(MAX_IMAGE_BYTES)]
"""An image given as an http(s) URL or raw Base64 (≤ 10 MB); ``bytes`` and
``pathlib.Path`` values are read and encoded for you."""

AudioMedia = Annotated[str, BeforeValidator(_coerce_media), _media_checker(MAX_AUDIO_BYTES)]
"""An audio file as an http(s) URL or raw Base64 (≤ 5 MB)."""

HttpURL = Annotated[str, AfterValidator(_check_url)]
"""An http(s) URL (Base64 not accepted, e.g. for video inputs)."""

Prompt = Annotated[str, StringConstraints(max_length=2500)]
AudioPrompt = Annotated[str, StringConstraints(max_length=200)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]

Duration = Annotated[str, BeforeValidator(_duration_to_str), StringConstraints(pattern=r"^\d+$")]
"""A video duration in seconds as Kling spells it: a string (``"5"``); ints are
converted."""

AspectRatio = Literal["16:9", "9:16", "1:1"]
ImageAspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"]
Mode = Literal["std", "pro"]
OnOff = Literal["on", "off"]
YesNo = Literal["yes", "no"]


class KlingModel(BaseModel):
    """Base of request objects: extra fields are kept and sent.

    Blank values (``""`` and ``[]``) mean "not given", as in Kling's own examples
    (``"callback_url": ""``); they are dropped, so a required field left blank is
    reported as missing.
    """

    model_config = ConfigDict(
        extra="allow",
        validate_assignment=True,
        protected_namespaces=(),
        populate_by_name=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str | list) and not v)}
        return data


class WatermarkInfo(KlingModel):
    """``watermark_info``: ask for an extra watermarked copy of the result."""

    enabled: bool


class ElementRef(KlingModel):
    """A reference to an element (subject) by id."""

    element_id: int | Annotated[str, StringConstraints(pattern=r"^\d+$")]


class VoiceRef(KlingModel):
    """A reference to a voice by id (custom or preset voice)."""

    voice_id: NonEmpty


class MultiPromptShot(KlingModel):
    """One shot of a ``multi_shot`` / ``shot_type="customize"`` video."""

    index: Annotated[int, Field(ge=1, le=6)]
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    duration: Duration


CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")


class CameraConfig(KlingModel):
    """Camera movement for ``camera_control.type = "simple"``: exactly one non-zero axis."""

    horizontal: Annotated[float, Field(ge=-10, le=10)] = 0
    vertical: Annotated[float, Field(ge=-10, le=10)] = 0
    pan: Annotated[float, Field(ge=-10, le=10)] = 0
    tilt: Annotated[float, Field(ge=-10, le=10)] = 0
    roll: Annotated[float, Field(ge=-10, le=10)] = 0
    zoom: Annotated[float, Field(ge=-10, le=10)] = 0


class CameraControl(KlingModel):
    """``camera_control``: a preset movement, or ``simple`` with a :class:`CameraConfig`."""

    type: Literal["simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward"]
    config: CameraConfig | None = None

    @model_validator(mode="after")
    def _check_pairing(self) -> CameraControl:
        if self.type == "simple":
            if self.config is None:
                raise ValueError("camera_control.config is required when type is 'simple'")
            moving = [axis for axis in CAMERA_AXES if getattr(self.config, axis) != 0]
            if len(moving) != 1:
                raise ValueError(
                    "camera_control.config must have exactly one non-zero axis, "
                    f"got {len(moving)} ({', '.join(moving) or 'none'})"
                )
        elif self.config is not None:
            raise ValueError(f"camera_control.config must be omitted when type is {self.type!r}")
        return self


class KlingRequest(KlingModel):
    """Base of every task-creating request model.

    Subclasses set ``family`` (a key of :data:`kling_async.endpoints.FAMILIES`).
    ``external_task_id`` and ``callback_url`` may be set here or given to the
    client; every create carries an ``external_task_id`` (one is generated when
    none is given).
    """

    family: ClassVar[str]

    callback_url: HttpURL | None = None
    external_task_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON body to send: set fields and extras, ``None`` values omitted."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)

    def slot_cost(self) -> int:
        """Concurrency slots this request holds in its pack while it runs."""
        from kling_async.endpoints import FAMILIES

        # Only these fields decide the cost; reading them beats dumping the model.
        declared = type(self).model_fields
        fields: dict[str, Any] = {
            name: value
            for name in ("n", "result_type", "series_amount")
            if name in declared and (value := getattr(self, name)) is not None
        }
        return FAMILIES[self.family].slot_cost(fields)


class KlingSyncRequest(KlingModel):
    """Base of requests to synchronous endpoints (answer inline, no task to track)."""

    endpoint: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        """The JSON body to send."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


def exactly_one(model: BaseModel, names: Iterable[str], *, required: bool = True) -> None:
    """Raise ValueError unless exactly one (or, if not ``required``, at most one) is set."""
    names = tuple(names)
    given = [n for n in names if getattr(model, n, None) is not None]
    if len(given) > 1:
        raise ValueError(f"give only one of {' / '.join(names)}, not {' and '.join(given)}")
    if required and not given:
        raise ValueError(f"one of {' / '.join(names)} is required")


def check_duration(value: str | None, allowed: Iterable[int], field: str = "duration") -> None:
    """Raise ValueError naming ``field`` unless ``value`` is one of ``allowed`` seconds."""
    if value is None:
        return
    allowed = tuple(allowed)
    if int(value) not in allowed:
        shown = (
            f'"{allowed[0]}"..."{allowed[-1]}"'
            if len(allowed) > 3 and allowed == tuple(range(allowed[0], allowed[-1] + 1))
            else " / ".join(f'"{a}"' for a in allowed)
        )
        raise ValueError(f"{field} must be {shown} for this model, got {value!r}")
