"""Job files: JSONL (any family per line) or CSV (one family), validated up front.

JSONL, one job a line::

    {"id": "fox-1", "family": "text2video", "params": {"prompt": "a fox"}, "priority": 0}

CSV, one family (given by ``--family`` or a ``family`` column), one job a row; the
``id`` and optional ``priority`` columns are the job's, every other non-empty cell
is a request parameter (cells starting with ``[`` or ``{`` are read as JSON).

Every row is validated with the request models before anything is sent; a file
with bad rows is refused as a whole, listing every bad row and field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kling_async._text import is_control
from kling_async.endpoints import FAMILIES, REQUEST_MODELS
from kling_async.errors import KlingError
from kling_async.models import KlingRequest

__all__ = ["Job", "JobFileError", "is_control", "load_jobs"]

MAX_ID = 128


@dataclass(frozen=True, slots=True)
class Job:
    """One validated job of a batch."""

    id: str
    family: str
    params: dict[str, Any]
    priority: int
    request: KlingRequest


class JobFileError(KlingError, ValueError):
    """The job file has bad rows; ``problems`` lists every one (nothing was sent)."""

    def __init__(self, path: str, problems: list[str]) -> None:
        shown = "\n".join(f"  - {p}" for p in problems[:200])
        more = f"\n  ... and {len(problems) - 200} more" if len(problems) > 200 else ""
        super().__init__(
            f"{path}: {len(problems)} problem(s); nothing was submitted:\n{shown}{more}"
        )
        self.problems = problems


def _family_name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    by_model = {model.__name__: name for name, model in REQUEST_MODELS.items()}
    return value if value in REQUEST_MODELS else by_model.get(value)


def _describe(error: ValidationError) -> list[str]:
    out = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "params"
        out.append(f"{where}: {item['msg']}")
    return out


def _cell(value: str) -> Any:
    value = value.strip()
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _rows_jsonl(path: Path) -> Iterable[tuple[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"line {number}", ValueError(f"not JSON ({exc.msg})")


def _rows_csv(path: Path, family: str | None) -> Iterable[tuple[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            params = {
                k: _cell(v)
                for k, v in row.items()
                if k and k not in ("id", "priority", "family") and v is not None and v.strip()
            }
            yield (
                f"line {number}",
                {
                    "id": (row.get("id") or "").strip(),
                    "family": (row.get("family") or "").strip() or family,
                    "priority": (row.get("priority") or "0").strip() or "0",
                    "params": params,
                },
            )


def load_jobs(path: str | Path, *, family: str | None = None) -> list[Job]:
    """Read and validate every job of ``path`` (``.jsonl`` / ``.json`` or ``.csv``).

    Args:
        path: the job file.
        family: the family of a CSV file without a ``family`` column.

    Raises:
        JobFileError: one or more rows are bad; every problem is listed.
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    if family is not None and _family_name(family) is None:
        raise JobFileError(str(path), [f"--family {family!r} is not a task family"])
    rows = (
        _rows_csv(path, _family_name(family) if family else None)
        if path.suffix.lower() == ".csv"
        else _rows_jsonl(path)
    )
    jobs: list[Job] = []
    problems: list[str] = []
    seen: set[str] = set()
    for where, row in rows:
        if isinstance(row, Exception):
            problems.append(f"{where}: {row}")
            continue
        if not isinstance(row, dict):
            problems.append(f"{where}: expected an object with id, family, params")
            continue
        job_id = row.get("id")
        label = f"{where} (id {job_id!r})"
        if not isinstance(job_id, str | int) or isinstance(job_id, bool) or not str(job_id):
            problems.append(f"{where}: id is missing")
            continue
        job_id = str(job_id)
        if len(job_id) > MAX_ID or any(c in job_id for c in "/\\\0") or job_id.startswith("."):
            problems.append(
                f"{label}: id must be <= {MAX_ID} characters without / \\ or a leading ."
            )
            continue
        if any(is_control(c) for c in job_id):
            problems.append(f"{label}: id must not contain control characters")
            continue
        if job_id in seen:
            problems.append(f"{label}: duplicate id")
            continue
        seen.add(job_id)
        name = _family_name(row.get("family"))
        if name is None:
            problems.append(f"{label}: family {row.get('family')!r} is not a task family")
            continue
        try:
            priority = int(row.get("priority", 0) or 0)
        except (TypeError, ValueError):
            problems.append(f"{label}: priority must be an integer")
            continue
        params = row.get("params", {})
        if not isinstance(params, dict):
            problems.append(f"{label}: params must be an object")
            continue
        for reserved in ("external_task_id", "callback_url"):
            if reserved in params:
                problems.append(f"{label}: params.{reserved} is set by the batch runner")
        try:
            request = REQUEST_MODELS[name].model_validate(params)
        except ValidationError as exc:
            problems.extend(f"{label}: {text}" for text in _describe(exc))
            continue
        if FAMILIES[name].pack is None:
            problems.append(f"{label}: {name} has no task to track")
            continue
        jobs.append(Job(job_id, name, params, priority, request))
    if problems:
        raise JobFileError(str(path), problems)
    if not jobs:
        raise JobFileError(str(path), ["the file holds no jobs"])
    return jobs
