"""Simulator state: tasks, per-pack slot accounting and ground-truth statistics.

A task's lifecycle is computed from time rather than driven by timers:
``submitted`` until ``processing_at``, ``processing`` until ``ends_at``, then
``succeed`` or ``failed``. Slots are held from creation until ``ends_at``
(failures included). Each pack keeps a heap of running tasks by end time, so
"slots in use now" costs O(log n) per finished task however many tasks exist.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kling_async.errors import UsageError

__all__ = ["QUIRK_BITS", "PackState", "SimStats", "SimTask"]

QUIRK_NO_TASK_INFO = 1
"""The create answer leaves ``task_info`` out (seen live, even with an id sent)."""
QUIRK_NULL_SIBLINGS = 2
"""A video result carries ``"images": null`` beside ``videos``."""
QUIRK_EMPTY_SIBLINGS = 4
"""A video result carries ``"images": []`` and ``"audios": []``."""
QUIRK_SPARSE = 8
"""``final_unit_deduction`` and ``watermark_info`` are missing."""
QUIRK_BITS = 16
"""Quirk sets are drawn from ``range(QUIRK_BITS)``."""


@dataclass(slots=True)
class SimTask:
    """One task held by the simulator."""

    task_id: str
    family: str
    path: str
    pack: str | None
    cost: int
    external_task_id: str | None
    callback_url: str | None
    created_at: float  # monotonic seconds
    processing_at: float
    ends_at: float
    fails: bool
    failure_msg: str
    created_ms: int  # wall-clock ms, as Kling reports
    duration_ms: int  # wall-clock ms from creation to end (scaled)
    params: dict[str, Any]
    result_kind: str
    base_url: str
    seq: int = 0
    quirks: int = 0
    """Which of live Kling's optional shapes this task's answers take (bit set, see
    :data:`QUIRK_BITS`); 0 = the plain documented shape."""
    units: float = 0.0
    """Units it deducts if it succeeds (``final_unit_deduction``; see ``_billing``)."""
    design: str = "v1"
    """``"2026"`` for a task created through a 2026-design path: its answers and
    callbacks use the task record (``id``, ``status``, ``outputs``, ``billing``)."""

    def status(self, now: float) -> str:
        """Kling's ``task_status`` at monotonic time ``now``."""
        if now >= self.ends_at:
            return "failed" if self.fails else "succeed"
        if now >= self.processing_at:
            return "processing"
        return "submitted"

    def updated_ms(self, now: float) -> int:
        """``updated_at`` (ms): the moment of the latest status change."""
        if now >= self.ends_at:
            return self.created_ms + self.duration_ms
        if now >= self.processing_at:
            return self.created_ms + int((self.processing_at - self.created_at) * 1000)
        return self.created_ms

    def to_json(self, now: float, *, create: bool = False) -> dict[str, Any]:
        """The task object as Kling's create, query, list and callback answers show it.

        Live shapes (``kling_api_2026.md`` A5), chosen per task by :attr:`quirks`: a
        create answer has no ``task_result`` and sometimes no ``task_info``;
        ``task_result`` is ``{}`` while processing and on failure; a succeed result
        may carry ``null`` or ``[]`` sibling lists; ``final_unit_deduction`` and
        ``watermark_info`` may be missing.
        """
        if self.design == "2026":
            return self.to_record(now, create=create)
        status = self.status(now)
        body: dict[str, Any] = {
            "task_id": self.task_id,
            "task_status": status,
            "task_status_msg": self.failure_msg if status == "failed" else "",
            "created_at": self.created_ms,
            "updated_at": self.updated_ms(now),
        }
        if not (create and self.quirks & QUIRK_NO_TASK_INFO):
            body["task_info"] = (
                {"external_task_id": self.external_task_id} if self.external_task_id else {}
            )
        if create:
            return body
        sparse = bool(self.quirks & QUIRK_SPARSE)
        if "watermark_info" in self.params and not sparse:
            body["watermark_info"] = self.params["watermark_info"]
        if status == "succeed":
            body["task_result"] = self._result()
            if not sparse:
                body["final_unit_deduction"] = self._units()
        elif status == "failed":
            body["task_result"] = {}
            if not sparse:
                body["final_unit_deduction"] = "0"
        else:
            body["task_result"] = {}
        return body

    def to_record(self, now: float, *, create: bool = False) -> dict[str, Any]:
        """The task as the 2026 design shows it (``kling_api_2026.md`` C4): ``id``,
        ``status`` (``succeeded``), times in ms, ``external_id``, ``outputs[]`` and
        ``billing[]``. ``GET /tasks`` shows ``/v1`` tasks this way too, keeping their
        own status word ``succeed`` (which word live Kling uses there is not recorded;
        the client must read both)."""
        status = self.status(now)
        if status == "succeed" and self.design == "2026":
            status = "succeeded"
        body: dict[str, Any] = {
            "id": self.task_id,
            "status": status,
            "message": self.failure_msg if status == "failed" else "",
            "create_time": self.created_ms,
            "update_time": self.updated_ms(now),
            "external_id": self.external_task_id or "",
        }
        if create:
            return body
        outputs: list[dict[str, Any]] = []
        billing: list[dict[str, Any]] = []
        if status in ("succeed", "succeeded"):
            outputs = _outputs(self._result())
            billing = [
                {
                    "charge_type": "unit",
                    "amount": self._units(),
                    "package_type": self.pack or "video",
                }
            ]
        body["outputs"] = outputs
        body["billing"] = billing
        return body

    def made_id(self) -> str:
        """The voice or element id this custom-voice / element task produces ("" else)."""
        if self.result_kind == "voice":
            return f"v{self.task_id}"
        if self.result_kind == "element":
            return str(800000000000000000 + int(self.task_id[-9:]))
        return ""

    def _units(self) -> str:
        return f"{self.units:g}"

    def _file(self, name: str) -> str:
        return f"{self.base_url}/__files/{self.task_id}/{name}"

    def _result(self) -> dict[str, Any]:
        seconds = f"{float(self.params.get('duration', 5) or 5) + 0.1:.1f}"
        kind = self.result_kind
        if kind == "image":
            return {
                "images": [
                    {"index": i, "url": self._file(f"{i}.png")} for i in range(max(1, self.cost))
                ]
            }
        if kind == "audio":
            return {
                "audios": [
                    {
                        "id": f"{self.task_id}-a0",
                        "url_mp3": self._file("0.mp3"),
                        "url_wav": self._file("0.wav"),
                        "duration_mp3": "5.0",
                        "duration_wav": "5.0",
                    }
                ]
            }
        if kind == "voice":
            return {
                "voices": [
                    {
                        "voice_id": self.made_id(),
                        "voice_name": self.params.get("voice_name", "voice"),
                        "trial_url": self._file("0.mp3"),
                        "owned_by": "10001",
                    }
                ]
            }
        if kind == "element":
            return {
                "elements": [
                    {
                        "element_id": self.made_id(),
                        "element_name": self.params.get("element_name", "element"),
                        "status": "succeed",
                        "owned_by": "10001",
                    }
                ]
            }
        videos = [{"id": f"{self.task_id}-v0", "url": self._file("0.mp4"), "duration": seconds}]
        if self.params.get("watermark_info", {}).get("enabled"):
            videos[0]["watermark_url"] = self._file("0-wm.mp4")
        result: dict[str, Any] = {"videos": videos}
        if self.quirks & QUIRK_NULL_SIBLINGS:
            result["images"] = None  # seen live (2024)
        elif self.quirks & QUIRK_EMPTY_SIBLINGS:
            result["images"] = []  # seen live (2025-12)
            result["audios"] = []
        if kind == "video+audio":
            result["audios"] = [
                {
                    "id": f"{self.task_id}-a0",
                    "url_mp3": self._file("0.mp3"),
                    "url_wav": self._file("0.wav"),
                    "duration_mp3": seconds,
                    "duration_wav": seconds,
                }
            ]
        return result


def _outputs(result: dict[str, Any]) -> list[dict[str, Any]]:
    """``task_result`` lists as typed ``outputs`` items (live: durations are strings,
    ``watermark_url`` absent when no watermark was asked for)."""
    items: list[dict[str, Any]] = []
    for video in result.get("videos") or []:
        items.append({"type": "video", **video})
    for image in result.get("images") or []:
        items.append({"type": "image", **{k: v for k, v in image.items() if k != "index"}})
    for audio in result.get("audios") or []:
        items.append(
            {
                "type": "audio",
                "id": audio.get("id"),
                "mp3_url": audio.get("url_mp3"),
                "wav_url": audio.get("url_wav"),
                "mp3_duration": audio.get("duration_mp3"),
                "wav_duration": audio.get("duration_wav"),
            }
        )
    for voice in result.get("voices") or []:
        items.append(
            {
                "type": "voice",
                "id": voice.get("voice_id"),
                "name": voice.get("voice_name"),
                "url": voice.get("trial_url"),
                "owned_by": voice.get("owned_by"),
                "status": "succeed",
            }
        )
    for element in result.get("elements") or []:
        items.append(
            {
                "type": "element",
                "id": element.get("element_id"),
                "name": element.get("element_name"),
                "status": element.get("status"),
                "owned_by": element.get("owned_by"),
            }
        )
    return items


class PackState:
    """Slots in use for one pack, released lazily as tasks reach ``ends_at``."""

    __slots__ = ("_counter", "_running", "capacity", "in_use", "max_in_use")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self.max_in_use = 0
        self._running: list[tuple[float, int, int]] = []
        self._counter = itertools.count()

    def settle(self, now: float) -> None:
        """Release the slots of every task that has ended by ``now``."""
        while self._running and self._running[0][0] <= now:
            _, _, cost = heapq.heappop(self._running)
            self.in_use -= cost

    def hold(self, cost: int, ends_at: float) -> None:
        """Count ``cost`` slots until ``ends_at`` whatever the capacity (a restored task)."""
        self.in_use += cost
        self.max_in_use = max(self.max_in_use, self.in_use)
        heapq.heappush(self._running, (ends_at, next(self._counter), cost))

    def try_acquire(self, cost: int, ends_at: float, now: float) -> bool:
        """Take ``cost`` slots until ``ends_at`` if they fit; False (1303) otherwise."""
        self.settle(now)
        if self.in_use + cost > self.capacity:
            return False
        self.in_use += cost
        self.max_in_use = max(self.max_in_use, self.in_use)
        heapq.heappush(self._running, (ends_at, next(self._counter), cost))
        return True

    def __repr__(self) -> str:
        return f"<PackState {self.in_use}/{self.capacity} max={self.max_in_use}>"


@dataclass
class SimStats:
    """What the simulator saw: the ground truth tests and benchmarks assert on."""

    max_in_use: dict[str, int] = field(default_factory=dict)
    creates_by_external_id: Counter[str] = field(default_factory=Counter)
    total_creates: int = 0
    count_1302: int = 0
    count_1303: int = 0
    count_5xxx: int = 0
    dropped_connections: int = 0
    dropped_before_create: int = 0
    callbacks_sent: int = 0
    callbacks_dropped: int = 0
    callbacks_failed: int = 0
    requests_by_endpoint: Counter[str] = field(default_factory=Counter)
    task_times: dict[str, tuple[str, str | None, int, float, float]] = field(default_factory=dict)
    """task_id -> (family, pack, cost, start, end) in simulator seconds."""

    @property
    def total_requests(self) -> int:
        """All HTTP requests answered (any endpoint)."""
        return sum(self.requests_by_endpoint.values())

    @property
    def duplicate_creates(self) -> dict[str, int]:
        """External ids created more than once (must stay empty)."""
        return {k: v for k, v in self.creates_by_external_id.items() if v > 1}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (served at ``GET /__stats``)."""
        return {
            "max_in_use": dict(self.max_in_use),
            "total_creates": self.total_creates,
            "creates_by_external_id": dict(self.creates_by_external_id),
            "duplicate_creates": self.duplicate_creates,
            "count_1302": self.count_1302,
            "count_1303": self.count_1303,
            "count_5xxx": self.count_5xxx,
            "dropped_connections": self.dropped_connections,
            "dropped_before_create": self.dropped_before_create,
            "callbacks_sent": self.callbacks_sent,
            "callbacks_dropped": self.callbacks_dropped,
            "callbacks_failed": self.callbacks_failed,
            "total_requests": self.total_requests,
            "requests_by_endpoint": dict(self.requests_by_endpoint),
            "tasks": {
                task_id: {"family": f, "pack": p, "cost": c, "start": s, "end": e}
                for task_id, (f, p, c, s, e) in self.task_times.items()
            },
        }


@dataclass(frozen=True)
class Faults:
    """Injected faults; all off by default, drawn from the simulator's seeded RNG.

    Attributes:
        server_error_rate: fraction of API requests answered 5000/5001/5002.
        rate_limit_rate: chance that a request starts a burst of 1302 answers.
        rate_limit_burst: how many consecutive requests one burst refuses.
        latency: extra delay per request, uniform in ``[latency/2, latency]`` real seconds.
        drop_after_create_rate: fraction of creates that create the task and then
            drop the connection without answering (outcome unknown to the client).
        drop_before_create_rate: fraction of creates whose connection is dropped
            before the task is made (outcome unknown to the client; nothing exists).
        failure_rate: fraction of tasks that end ``failed``.
        callback_drop_rate: fraction of callbacks never sent.
        callback_duplicate_rate: fraction of callbacks sent twice.
        retry_after: when set, 1302/1303/5001 answers carry this ``Retry-After``.
        risky_words: tasks whose ``prompt`` contains one of these words end
            ``failed`` (content risk control), every time: a deterministic failure.
    """

    server_error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    rate_limit_burst: int = 3
    latency: float = 0.0
    drop_after_create_rate: float = 0.0
    drop_before_create_rate: float = 0.0
    failure_rate: float = 0.0
    callback_drop_rate: float = 0.0
    callback_duplicate_rate: float = 0.0
    retry_after: float | None = None
    risky_words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "server_error_rate",
            "rate_limit_rate",
            "drop_after_create_rate",
            "drop_before_create_rate",
            "failure_rate",
            "callback_drop_rate",
            "callback_duplicate_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"Faults.{name} must be in [0, 1], got {value}")
        if self.latency < 0 or self.rate_limit_burst < 1:
            raise UsageError("Faults.latency must be >= 0 and rate_limit_burst >= 1")
