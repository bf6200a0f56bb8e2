"""The synchronous endpoints of :class:`~kling_async.KlingClient`.

These calls answer inline: nothing to schedule, no slot held, no task to track.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from aiolimiter import AsyncLimiter
from pydantic import BaseModel, ValidationError

from kling_async.errors import ResponseError, UsageError
from kling_async.models import (
    AccountCosts,
    Element,
    IdentifyFace,
    IdentifyFaceResult,
    ImageRecognize,
    KlingSyncRequest,
    MultiElementsInitSelection,
    MultiElementsSelection,
    MultiElementsSession,
    SyncResult,
    Task,
    TextToSpeech,
    Voice,
)
from kling_async.wire._transport import Envelope, Transport

__all__ = ["SYNC_PATHS", "SyncEndpoints", "parse_data"]

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

_M = TypeVar("_M", bound=BaseModel)


class SyncEndpoints:
    """Calls that answer inline (mixed into ``KlingClient``)."""

    _transport: Transport
    _costs_limiter: AsyncLimiter

    async def text_to_speech(self, request: TextToSpeech) -> Task:
        """Synthesize speech; the answer is the finished task (no query endpoint)."""
        return parse_data(Task, await self._sync("tts", request, path="/v1/audio/tts"), what="tts")

    async def identify_face(self, request: IdentifyFace) -> IdentifyFaceResult:
        """Detect faces in a video for lip-sync; returns ``session_id`` and faces."""
        return parse_data(
            IdentifyFaceResult, await self._sync("identify_face", request), what="faces"
        )

    async def image_recognize(self, request: ImageRecognize) -> SyncResult:
        """Segment an image; ``task_result.images`` lists the masks."""
        return parse_data(
            SyncResult, await self._sync("image_recognize", request), what="recognize"
        )

    async def multi_elements_init_selection(
        self, request: MultiElementsInitSelection
    ) -> SyncResult:
        """Start a multi-elements selection session for a video."""
        data = await self._sync("multi_elements_init_selection", request)
        return parse_data(SyncResult, data, what="init-selection")

    async def multi_elements_add_selection(self, request: MultiElementsSelection) -> SyncResult:
        """Mark points on a frame of the session's video."""
        data = await self._sync("multi_elements_add_selection", request)
        return parse_data(SyncResult, data, what="add-selection")

    async def multi_elements_delete_selection(self, request: MultiElementsSelection) -> SyncResult:
        """Remove points previously added (they must match exactly)."""
        data = await self._sync("multi_elements_delete_selection", request)
        return parse_data(SyncResult, data, what="delete-selection")

    async def multi_elements_clear_selection(self, request: MultiElementsSession) -> SyncResult:
        """Clear every selection of the session."""
        data = await self._sync("multi_elements_clear_selection", request)
        return parse_data(SyncResult, data, what="clear-selection")

    async def multi_elements_preview_selection(self, request: MultiElementsSession) -> SyncResult:
        """Render a preview of the current selection."""
        data = await self._sync("multi_elements_preview_selection", request)
        return parse_data(SyncResult, data, what="preview-selection")

    async def account_costs(
        self,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        resource_pack_name: str | None = None,
    ) -> AccountCosts:
        """The account's resource packs; limited to 1 request per second.

        Args:
            start_time, end_time: Unix milliseconds; default the last 30 days.
            resource_pack_name: only this pack.
        """
        now = int(time.time() * 1000)
        end = now if end_time is None else end_time
        start = end - 30 * 86_400_000 if start_time is None else start_time
        if start > end:
            raise UsageError("start_time must not be after end_time")
        params: dict[str, str | int] = {"start_time": start, "end_time": end}
        if resource_pack_name:
            params["resource_pack_name"] = resource_pack_name
        async with self._costs_limiter:
            envelope = await self._transport.request(
                "GET", SYNC_PATHS["account_costs"], params=params, idempotent=True
            )
        return parse_data(AccountCosts, envelope.data, what="account costs")

    async def preset_voices(self, *, page: int = 1, page_size: int = 30) -> list[Voice]:
        """One page of Kling's official voices (``GET /v1/general/presets-voices``).

        Their ``voice_id`` goes in ``voice_list`` / ``element_voice_id`` (not in TTS,
        which has its own catalogue).
        """
        items = await self._library_page("presets_voices", page, page_size)
        return [Voice.model_validate(v) for v in _library_items(items, "voices", "voice_id")]

    async def preset_elements(self, *, page: int = 1, page_size: int = 30) -> list[Element]:
        """One page of Kling's official elements
        (``GET /v1/general/advanced-presets-elements``)."""
        items = await self._library_page("presets_elements", page, page_size)
        return [Element.model_validate(e) for e in _library_items(items, "elements", "element_id")]

    async def delete_voice(self, voice_id: str) -> SyncResult:
        """Delete one of your custom voices (``POST /v1/general/delete-voices``).

        Returns the answer's data (empty when Kling sends none).

        Raises:
            InvalidRequestError: unknown or already deleted voice.
        """
        return await self._delete("delete_voices", "voice_id", voice_id)

    async def delete_element(self, element_id: str | int) -> SyncResult:
        """Delete one of your elements (``POST /v1/general/delete-advanced-elements``).

        Live Kling answers code 0 with no data at all; that is a success (an empty
        :class:`SyncResult`).

        Raises:
            InvalidRequestError: unknown or already deleted element
                (``Element already be deleted for id: …``).
        """
        return await self._delete("delete_elements", "element_id", element_id)

    async def _delete(self, name: str, key: str, value: str | int) -> SyncResult:
        ident = str(value).strip() if isinstance(value, str | int) else ""
        if not ident or isinstance(value, bool):
            raise UsageError(f"{key} must be a non-empty id")
        envelope = await self._transport.request(
            "POST", SYNC_PATHS[name], json_body={key: ident}, idempotent=False
        )
        data = envelope.data if envelope.data is not None else {}
        return parse_data(SyncResult, data, what=name.replace("_", "-"))

    async def _library_page(self, name: str, page: int, page_size: int) -> list[Any]:
        if not 1 <= page <= 1000 or not 1 <= page_size <= 500:
            raise UsageError("page must be 1..1000 and page_size 1..500")
        envelope = await self._transport.request(
            "GET",
            SYNC_PATHS[name],
            params={"pageNum": page, "pageSize": page_size},
            idempotent=True,
        )
        data = envelope.data if envelope.data is not None else []
        if not isinstance(data, list):
            raise ResponseError(f"{name}: expected a list in 'data', got {type(data).__name__}")
        return data

    async def _sync(self, name: str, request: KlingSyncRequest, *, path: str | None = None) -> Any:
        payload = request.payload()
        # These calls deduct units but create nothing to find again; a fault after
        # sending is surfaced as is (TransportError) rather than resent blindly.
        envelope: Envelope = await self._transport.request(
            "POST", path or SYNC_PATHS[name], json_body=payload, idempotent=False
        )
        return envelope.data


def parse_data(model: type[_M], data: Any, *, what: str) -> _M:
    """Validate an answer's ``data`` into ``model``, or raise a clear ResponseError."""
    if not isinstance(data, Mapping):
        raise ResponseError(f"{what}: expected an object in 'data', got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "data"
        raise ResponseError(f"{what}: unexpected answer at {where}: {first['msg']}") from None


def _library_items(items: list[Any], kind: str, id_key: str) -> list[Mapping[str, Any]]:
    """Voices / elements from a page: task objects carry them in ``task_result``;
    a bare item (``{voice_id: …}``) is taken as is."""
    found: list[Mapping[str, Any]] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if id_key in item:
            found.append(item)
            continue
        result = item.get("task_result")
        inner = result.get(kind) if isinstance(result, Mapping) else None
        if isinstance(inner, list):
            found.extend(x for x in inner if isinstance(x, Mapping))
    return found
