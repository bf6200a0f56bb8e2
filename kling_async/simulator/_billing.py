"""The simulator bills: units per task, pack balances, the deduction ledger.

Its own copy of the documented prices (``kling_api.md`` 12, ``kling_api_2026.md`` C6),
written independently of the client's price table so a mistake in one shows up as
a difference against the other. Live behaviour modelled (``kling_api_2026.md`` A7):
units are deducted when a task **succeeds** (failed and refused tasks cost nothing);
a create whose pack has nothing left is answered 429 / 1102. Output-length prices
(motion control, avatar, lip-sync) use the length of the video the simulator makes.
Where the docs give no price (effects, try-on) the simulator charges its own
assumption, named below, which the client cannot estimate ("no estimate").

Deductions happen lazily: tasks end by the clock, so every balance read first
sweeps the tasks that have ended since (:meth:`Billing.sweep`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from kling_async.errors import UsageError
from kling_async.simulator._state import SimTask

__all__ = ["DEFAULT_BALANCES", "Billing", "units_for"]

DEFAULT_BALANCES: Mapping[str, float] = {"video": 10_000.0, "image": 100_000.0, "try_on": 1_000.0}
"""Units in each pack of a simulator started without ``balances``."""

# Units per second of video, by model, then by (mode, with sound).
_PER_SECOND: dict[str, dict[tuple[str, bool], float]] = {
    "kling-v3": {
        ("std", False): 0.6,
        ("std", True): 0.9,
        ("pro", False): 0.8,
        ("pro", True): 1.2,
        ("4k", False): 3.0,
        ("4k", True): 3.0,
    },
    "kling-v2-6": {("std", False): 0.3, ("pro", False): 0.5, ("pro", True): 1.0},
    "kling-v2-5-turbo": {("std", False): 0.3, ("pro", False): 0.5},
    "kling-v2-1": {("std", False): 0.4, ("pro", False): 0.7},
    "kling-v1-6": {("std", False): 0.4, ("pro", False): 0.7},
    "kling-v1-5": {("std", False): 0.4, ("pro", False): 0.7},
    "kling-v1": {("std", False): 0.2, ("pro", False): 0.7},
    "kling-3.0-turbo": {("std", True): 0.8, ("pro", True): 1.0},  # always with sound
}
_MASTER = {"kling-v2-master", "kling-v2-1-master"}  # 10 units per 5 s, any mode
_OMNI_RATES = {  # mode -> (with video input, with sound, silent) units per second
    "kling-video-o1": {"std": (0.9, 0.6, 0.6), "pro": (1.2, 0.8, 0.8)},
    "kling-v3-omni": {"std": (0.9, 0.8, 0.6), "pro": (1.2, 1.0, 0.8), "4k": (3.0, 3.0, 3.0)},
}
_MOTION = {"kling-v3": {"std": 0.9, "pro": 1.2}, "kling-v2-6": {"std": 0.5, "pro": 0.8}}
_IMAGE = {  # per image: (text to image, image to image)
    "kling-v1": (1.0, 1.0),
    "kling-v1-5": (4.0, 8.0),
    "kling-v2": (4.0, 8.0),
    "kling-v2-1": (4.0, 8.0),
    "kling-v3": (8.0, 8.0),
    "kling-image-o1": (8.0, 8.0),
}
_PER_TASK = {
    "text_to_audio": 0.25,
    "video_to_audio": 0.25,
    "custom_voices": 0.05,
    "advanced_custom_elements": 0.0,
    "ai_multi_shot": 20.0,
    "effects": 2.0,  # the simulator's assumption: no documented price
    "virtual_try_on": 1.0,  # the simulator's assumption: one try-on unit per image
}
_DEFAULT_MODEL = {
    "text2video": "kling-v1",
    "image2video": "kling-v1",
    "multi_image2video": "kling-v1-6",
    "multi_elements": "kling-v1-6",
    "omni_video": "kling-video-o1",
    "motion_control": "kling-v2-6",
    "image_generation": "kling-v3",
    "omni_image": "kling-image-o1",
}


_BILLED_AS = {  # 2026-design endpoints priced like their /v1 families
    "text-to-video": "text2video",
    "image-to-video": "image2video",
    "omni-video": "omni_video",
    "motion-control": "motion_control",
}


def output_seconds(params: Mapping[str, Any]) -> float:
    """Length of the video the simulator makes for a request (its ``duration``, or 5)."""
    try:
        return float(params.get("duration") or 5)
    except (TypeError, ValueError):
        return 5.0


def units_for(family: str, params: Mapping[str, Any], images: int) -> float:
    """Units a succeeded task of ``family`` deducts (``images``: images it made)."""
    family = _BILLED_AS.get(family, family)
    model = str(params.get("model_name") or _DEFAULT_MODEL.get(family, ""))
    mode = str(params.get("mode") or "std")
    sound = params.get("sound") == "on"
    seconds = output_seconds(params)
    if family in _PER_TASK:
        return _PER_TASK[family]
    if family in ("image_generation", "omni_image"):
        if model == "kling-v3-omni":
            return images * (16.0 if params.get("resolution") == "4k" else 8.0)
        t2i, i2i = _IMAGE.get(model, (8.0, 8.0))
        return images * (i2i if params.get("image") else t2i)
    if family == "multi_image2image":
        return images * 16.0
    if family == "image_expand":
        return images * 8.0
    if family == "video_extend":
        return 3.5 if mode == "pro" else 2.0
    if family in ("lip_sync", "advanced_lip_sync"):
        return 0.5 * max(1, math.ceil(seconds / 5))
    if family == "avatar":
        return round((0.8 if mode == "pro" else 0.4) * seconds, 4)
    if family == "motion_control":
        return round(_MOTION.get(model, _MOTION["kling-v2-6"]).get(mode, 0.8) * seconds, 4)
    if family == "multi_elements":
        return round((1.0 if mode == "pro" else 0.6) * seconds, 4)
    if family == "omni_video":
        by_mode = _OMNI_RATES.get(model, _OMNI_RATES["kling-video-o1"])
        video, audio, silent = by_mode.get(mode, by_mode["pro"])
        rate = video if params.get("video_list") else audio if sound else silent
        return round(rate * seconds, 4)
    if model in _MASTER:
        return round(2.0 * seconds, 4)
    rates = _PER_SECOND.get(model, _PER_SECOND["kling-v3"])
    rate = rates.get((mode, sound)) or rates.get((mode, False)) or 0.8
    if model == "kling-v2-6" and sound and params.get("voice_list"):
        rate = 1.2
    return round(rate * seconds, 4)


class Billing:
    """Pack balances and the deduction ledger of one simulated account."""

    def __init__(self, balances: Mapping[str, float] | None, now: Any) -> None:
        self.remaining: dict[str, float] = dict(DEFAULT_BALANCES)
        if balances is not None:
            unknown = set(balances) - set(DEFAULT_BALANCES)
            if unknown:
                raise UsageError(f"balances: unknown pack(s) {', '.join(sorted(unknown))}")
            self.remaining.update({k: float(v) for k, v in balances.items()})
        self.total: dict[str, float] = dict(self.remaining)
        self.ledger: list[dict[str, Any]] = []
        self._unbilled: list[SimTask] = []
        self._now = now

    def track(self, task: SimTask) -> None:
        """A task was created: it is billed when it succeeds."""
        if task.pack is not None:
            self._unbilled.append(task)

    def sweep(self) -> None:
        """Deduct the units of every task that succeeded since the last sweep."""
        now = self._now()
        waiting = []
        for task in self._unbilled:
            if task.ends_at > now:
                waiting.append(task)
            elif not task.fails:
                self._deduct(task)
        self._unbilled = waiting

    def _deduct(self, task: SimTask) -> None:
        assert task.pack is not None
        before = self.remaining.get(task.pack, 0.0)
        after = max(0.0, round(before - task.units, 6))
        self.remaining[task.pack] = after
        params = task.params
        self.ledger.append(
            {
                "package_id": f"sim-{task.pack}",
                "product_type": task.pack.replace("_", "-"),
                "task_id": task.task_id,
                "api_key_name": "simulator",
                "product_function": task.family,
                "model_name": params.get("model_name") or _DEFAULT_MODEL.get(task.family, ""),
                "resolution": {"std": "720p", "pro": "1080p", "4k": "4k"}.get(
                    str(params.get("mode") or "std"), "720p"
                ),
                "duration": str(params.get("duration") or ""),
                "deduction_time": task.created_ms + task.duration_ms,
                "unit_before_deduction": before,
                "deduction_amount": task.units,
                "unit_after_deduction": after,
            }
        )

    def empty(self, pack: str) -> bool:
        """True when ``pack`` has no units left (creates there answer 1102)."""
        self.sweep()
        return self.remaining.get(pack, 0.0) <= 0.0

    def top_up(self, pack: str, units: float) -> None:
        """Add ``units`` to ``pack``."""
        if pack not in self.remaining:
            raise UsageError(f"unknown pack {pack!r}")
        self.remaining[pack] += units
        self.total[pack] += units

    def packs_answer(self, capacity: Mapping[str, int]) -> list[dict[str, Any]]:
        """``resource_pack_subscribe_infos`` of ``/account/costs``."""
        self.sweep()
        now_ms = int(time.time() * 1000)
        names = {"video": "Video", "image": "Image", "try_on": "TryOn"}
        return [
            {
                "resource_pack_name": (
                    f"Simulated-{names[pack]}-{self.total[pack]:g}Units-{capacity.get(pack, 0)}Con"
                ),
                "resource_pack_id": f"sim-{pack}",
                "resource_pack_type": "decreasing_total",
                "total_quantity": self.total[pack],
                "remaining_quantity": self.remaining[pack],
                "purchase_time": now_ms,
                "effective_time": now_ms,
                "invalid_time": now_ms + 86_400_000 * 365,
                "status": "online" if self.remaining[pack] > 0 else "runOut",
            }
            for pack in sorted(self.remaining)
        ]

    def ledger_page(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A page of ``POST /account/billing/package`` (cursor = the next offset)."""
        self.sweep()
        cursor = str(body.get("cursor") or "")
        if cursor:  # "c<offset>:<start>:<end>": the window travels with the cursor
            try:
                offset, start, end = (int(part) for part in cursor[1:].split(":"))
            except ValueError:
                raise UsageError("cursor is not valid") from None
        else:
            first, last = body.get("start_time"), body.get("end_time")
            if not isinstance(first, int) or not isinstance(last, int):
                raise UsageError("start_time and end_time are required (ms) without a cursor")
            offset, start, end = 0, first, last
        rows = [r for r in self.ledger if start <= r["deduction_time"] <= end]
        for item in body.get("filters") or []:
            key, values = item.get("key"), set(item.get("values") or [])
            if key in ("product_type", "package_id", "api_key_name"):
                rows = [r for r in rows if str(r[key]) in values]
        limit = int(body.get("limit") or 500)
        page = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        return {
            "result": {"detail": page, "count": len(page)},
            "next_cursor": f"c{offset + limit}:{start}:{end}" if more else None,
            "has_more": more,
        }
