"""Shared pieces of the request models: base classes, field types, helpers.

Strict on requests, open to the future:

* every request model validates the documented constraints of its family before any
  network I/O and names the offending field in its error;
* a field the model does not know is refused, naming it and the closest known field
  (``duraton`` -> "did you mean 'duration'?"): Kling ignores unknown fields and bills
  its defaults, so a typo must never be sent;
* fields the client does not know yet go through ``extra_body`` (sent as given,
  merged over the model's own fields);
* an unknown ``model_name`` is sent as given with an :class:`UnknownModelWarning`
  (once per name), and only the rules that hold for every model apply to it.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import warnings
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from kling_async.errors import UsageError

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
    "UnknownModelWarning",
    "VoiceRef",
    "WatermarkInfo",
    "encode_bytes",
    "encode_file",
    "rules_for",
]

_R = TypeVar("_R")

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
            raise UsageError("must not be empty")
        if stripped.startswith(("http://", "https://")):
            return stripped
        if stripped[:5].lower() == "data:":
            raise UsageError(
                "must be raw Base64 without a 'data:...;base64,' prefix (or an http(s) URL)"
            )
        # Estimate before decoding so a huge string is refused cheaply.
        if len(stripped) * 3 // 4 > max_bytes + 3:
            raise UsageError(f"is larger than {max_bytes // (1024 * 1024)} MB")
        try:
            decoded = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError):
            raise UsageError("must be an http(s) URL or raw Base64 data") from None
        if len(decoded) > max_bytes:
            raise UsageError(f"is larger than {max_bytes // (1024 * 1024)} MB")
        return stripped

    return AfterValidator(check)


def _check_url(value: str) -> str:
    stripped = value.strip()
    if not stripped.startswith(("http://", "https://")) or len(stripped) < 10:
        raise UsageError("must be an http(s) URL")
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
    """Base of request objects: every field is declared; unknown ones are refused.

    Blank values (``""`` and ``[]``) mean "not given", as in Kling's own examples
    (``"callback_url": ""``); they are dropped, so a required field left blank is
    reported as missing.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        protected_namespaces=(),
        populate_by_name=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise UsageError(unknown_fields_message(cls, unknown))
            return {k: v for k, v in data.items() if not (isinstance(v, str | list) and not v)}
        return data


_RENAMED = {"model": "model_name"}
"""Old spellings Kling still accepts but reads as unset (``model`` behaves as an empty
``model_name``: the default model), so they are worth a precise hint."""


def unknown_fields_message(model: type[BaseModel], unknown: Iterable[object]) -> str:
    """Say which fields of ``model`` are unknown and the closest known names."""
    known = [name for name in model.model_fields if name != "extra_body"]
    parts = []
    for key in unknown:
        name = str(key)
        renamed = _RENAMED.get(name)
        close = (
            [renamed]
            if renamed in known
            else difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        )
        hint = f"; did you mean {close[0]!r}?" if close else ""
        parts.append(f"unknown field {name!r} for {model.__name__}{hint}")
    escape = (
        " (a field the client does not know yet goes in extra_body={...})"
        if "extra_body" in model.model_fields
        else ""
    )
    return "; ".join(parts) + escape


class UnknownModelWarning(UserWarning):
    """A ``model_name`` the client does not know: it is sent as given, and only the
    rules that hold for every model are checked (Kling adds models often; the
    server has the last word)."""


_warned_models: set[tuple[str, str]] = set()


def rules_for(
    family: str,
    model_name: str | None,
    table: Mapping[str, _R],
    *,
    unknown: _R,
    omitted: _R | None = None,
    field: str = "model_name",
) -> _R:
    """The per-model rules of ``model_name`` in ``table``.

    ``None`` (no ``model_name`` sent) gives ``omitted``, or the table's first entry
    (the family's default model). A name the client does not know gives ``unknown``
    (rules that hold for every model) and one :class:`UnknownModelWarning` per name.
    """
    if model_name is None:
        return omitted if omitted is not None else next(iter(table.values()))
    rules = table.get(model_name)
    if rules is not None:
        return rules
    check_known_model(family, model_name, table, field=field)
    return unknown


def check_known_model(
    family: str, model_name: str | None, known: Collection[str], *, field: str = "model_name"
) -> None:
    """Warn once per name when ``model_name`` is not in ``known`` (it is still sent)."""
    if model_name is None or model_name in known or (family, model_name) in _warned_models:
        return
    _warned_models.add((family, model_name))
    warnings.warn(
        f"{family}: {field} {model_name!r} is not one the client knows "
        f"({', '.join(known)}); sending it as given with only the rules that hold "
        "for every model",
        UnknownModelWarning,
        stacklevel=3,
    )


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
                raise UsageError("camera_control.config is required when type is 'simple'")
            moving = [axis for axis in CAMERA_AXES if getattr(self.config, axis) != 0]
            if len(moving) != 1:
                raise UsageError(
                    "camera_control.config must have exactly one non-zero axis, "
                    f"got {len(moving)} ({', '.join(moving) or 'none'})"
                )
        elif self.config is not None:
            raise UsageError(f"camera_control.config must be omitted when type is {self.type!r}")
        return self


_MANAGED = frozenset({"external_task_id", "callback_url", "n", "result_type", "series_amount"})
"""Fields ``extra_body`` may not set: the client manages them (exactly-once ids,
callback tokens) or counts slots from them."""


def _check_extra_body(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    managed = sorted(_MANAGED & set(value))
    if managed:
        raise UsageError(
            f"extra_body may not set {', '.join(managed)}: set the field itself "
            "(the client manages ids and counts slots from these)"
        )
    return value


ExtraBody = Annotated[dict[str, Any] | None, AfterValidator(_check_extra_body)]
"""Fields sent as given, merged over the model's own: the escape hatch for what the
client does not know yet (``extra_body={"new_knob": 1}``)."""


class KlingRequest(KlingModel):
    """Base of every task-creating request model.

    Subclasses set ``family``: the name of the task family the family table
    (``kling_async.endpoints``) lists this model under.
    ``external_task_id`` and ``callback_url`` may be set here or given to the
    client; every create carries an ``external_task_id`` (one is generated when
    none is given). ``extra_body`` holds fields the client does not know yet; they
    are sent as given (not validated) and win over a declared field of the same name.

    Example:
        >>> TextToVideo(prompt="a fox", extra_body={"new_knob": 1}).payload()
        {'prompt': 'a fox', 'new_knob': 1}
    """

    family: ClassVar[str]

    callback_url: HttpURL | None = None
    external_task_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    extra_body: ExtraBody = None

    def payload(self) -> dict[str, Any]:
        """The JSON body to send: set fields, ``None`` values omitted, ``extra_body``
        merged on top."""
        return _payload(self)

    def create_body(self, external_task_id: str, callback_url: str | None) -> dict[str, Any]:
        """The create body: :meth:`payload` with the client's ``external_task_id``
        (and ``callback_url`` when given) set."""
        body = self.payload()
        body["external_task_id"] = external_task_id
        if callback_url is not None:
            body["callback_url"] = callback_url
        return body

    def pricing_params(self, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What the price table reads: on ``/v1`` the wire body itself (``body``,
        default :meth:`payload`; ``extra_body`` included)."""
        return self.payload() if body is None else dict(body)

    def unpriced_fields(self) -> tuple[str, ...]:
        """``extra_body`` fields the model does not declare: the price table cannot
        know what they do to the price (an estimate with them is uncertain)."""
        if not self.extra_body:
            return ()
        known = declared_names(type(self))
        return tuple(sorted(k for k in self.extra_body if k not in known))


class KlingSyncRequest(KlingModel):
    """Base of requests to synchronous endpoints (answer inline, no task to track).

    ``extra_body`` works as on :class:`KlingRequest`.
    """

    endpoint: ClassVar[str]

    extra_body: ExtraBody = None

    def payload(self) -> dict[str, Any]:
        """The JSON body to send (``extra_body`` merged on top)."""
        return _payload(self)


def declared_names(model: type[BaseModel]) -> frozenset[str]:
    """The body keys a model declares (field names and their aliases)."""
    names = set()
    for name, info in model.model_fields.items():
        if name != "extra_body":
            names.add(info.alias or name)
            names.add(name)
    return frozenset(names)


def _payload(model: KlingRequest | KlingSyncRequest) -> dict[str, Any]:
    body = model.model_dump(mode="json", exclude_none=True, by_alias=True, exclude={"extra_body"})
    if model.extra_body:
        body.update(model.extra_body)
    return body


def exactly_one(model: BaseModel, names: Iterable[str], *, required: bool = True) -> None:
    """Raise ValueError unless exactly one (or, if not ``required``, at most one) is set."""
    names = tuple(names)
    given = [n for n in names if getattr(model, n, None) is not None]
    if len(given) > 1:
        raise UsageError(f"give only one of {' / '.join(names)}, not {' and '.join(given)}")
    if required and not given:
        raise UsageError(f"one of {' / '.join(names)} is required")


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
        raise UsageError(f"{field} must be {shown} for this model, got {value!r}")
