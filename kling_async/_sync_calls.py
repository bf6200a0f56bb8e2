"""The synchronous endpoints of :class:`~kling_async.KlingClient`.

These calls answer inline: nothing to schedule, no slot held, no task to track.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from pydantic import BaseModel, ValidationError

from kling_async._transport import Envelope, Transport
from kling_async.endpoints import SYNC_PATHS
from kling_async.errors import ResponseError
from kling_async.models import (
    AccountCosts,
    IdentifyFace,
    IdentifyFaceResult,
    ImageRecognize,
    MultiElementsInitSelection,
    MultiElementsSelection,
    MultiElementsSession,
    SyncResult,
    Task,
    TextToSpeech,
)

__all__ = ["SyncEndpoints", "parse_data"]

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
            raise ValueError("start_time must not be after end_time")
        params: dict[str, str | int] = {"start_time": start, "end_time": end}
        if resource_pack_name:
            params["resource_pack_name"] = resource_pack_name
        async with self._costs_limiter:
            envelope = await self._transport.request(
                "GET", SYNC_PATHS["account_costs"], params=params, idempotent=True
            )
        return parse_data(AccountCosts, envelope.data, what="account costs")

    async def _sync(self, name: str, request: BaseModel, *, path: str | None = None) -> Any:
        payload = request.model_dump(mode="json", exclude_none=True, by_alias=True)
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
