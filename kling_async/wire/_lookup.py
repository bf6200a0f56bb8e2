"""What a task lookup may believe: not-found answers and the identity check.

Pure functions shared by every place that takes a task from an answer (the single
lookup of :mod:`kling_async.wire._task_calls`, the tracker's list pages):

* :func:`is_not_found` reads "no such task" the way live Kling says it
  (``kling_api_2026.md`` A2): HTTP 400 with code 1201 and a message starting
  ``Task not found``; code 1203 and HTTP 404 defensively. Any other 1201 is a bad
  request, not an absence.
* :func:`check_identity` refuses a task that is not the one asked for (design
  invariant 9): the task id must be the one asked; an external id must be named by
  the answer and equal. With both asked, an answer that names no external id is
  accepted on its task id (answers may omit ``task_info``), one that names another
  is refused.
* :func:`check_kind` refuses a task that is not of the family asked for, as far as
  the answer shows it (Kling's task objects name no family: the packs its outputs
  and billing items show must include the family's pack). Kling's external ids are
  one namespace across families and designs, so an id may be held by another
  family's task: that task is named and never adopted.
* Two answers naming one external id are a conflict (:func:`one_named`), never a
  choice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kling_async.errors import APIError, KlingError, ResponseError, TaskMismatchError
from kling_async.models._task import Task, record_external_id

__all__ = [
    "check_identity",
    "check_kind",
    "find_in_list",
    "is_duplicate_external_id",
    "is_not_found",
    "named_external_id",
    "named_task_id",
    "one_named",
]

_NOT_FOUND = re.compile(r"\s*task not found", re.IGNORECASE)
_ALREADY_EXISTS = re.compile(r"already exist", re.IGNORECASE)
_INVALID_METHOD = 1202


def is_not_found(error: KlingError) -> bool:
    """True when ``error``, answered to a task lookup, means "no such task"."""
    if isinstance(error, APIError):
        if error.code == 1203:
            return True
        if error.code == 1201:
            return bool(_NOT_FOUND.match(error.message))
        return error.http_status == 404 and error.code != _INVALID_METHOD
    return isinstance(error, ResponseError) and error.http_status == 404


def is_duplicate_external_id(error: KlingError) -> bool:
    """True for Kling's refusal of a create whose ``external_task_id`` is taken
    (HTTP 400, code 1201, ``External_task_id <id> already exists``; nothing created)."""
    return (
        isinstance(error, APIError)
        and error.code == 1201
        and bool(_ALREADY_EXISTS.search(error.message))
    )


def named_external_id(item: Mapping[str, Any]) -> str | None:
    """The external id a raw task object names (``task_info.external_task_id``, or
    ``external_id`` in a 2026 task record)."""
    return record_external_id(item)


def named_task_id(item: Mapping[str, Any]) -> str | None:
    """The task id a raw task object names (``task_id``, or a 2026 record's ``id``)."""
    value = item.get("task_id", item.get("id"))
    return None if value is None or value == "" else str(value)


def check_identity(
    got_task_id: str,
    got_external_id: str | None,
    *,
    task_id: str | None,
    external_task_id: str | None,
    where: str,
) -> None:
    """Raise :class:`TaskMismatchError` unless the answer names what was asked.

    Args:
        got_task_id, got_external_id: what the answer names.
        task_id, external_task_id: what was asked (at least one).
        where: for the message, e.g. ``"text2video lookup"``.
    """
    if task_id is not None and got_task_id != task_id:
        raise TaskMismatchError(
            f"{where}: asked for task {task_id!r}, the answer is task {got_task_id!r}; not adopted",
            asked=task_id,
            got_task_id=got_task_id,
        )
    if external_task_id is None or got_external_id == external_task_id:
        return
    if got_external_id is None and task_id is not None:
        return  # the task id matched; answers may leave task_info out
    named = "names no external id" if got_external_id is None else f"names {got_external_id!r}"
    raise TaskMismatchError(
        f"{where}: asked for external_task_id {external_task_id!r}, the answer (task "
        f"{got_task_id!r}) {named}; not adopted",
        asked=external_task_id,
        got_task_id=got_task_id,
    )


def check_kind(task: Task, *, family: str, pack: str | None, where: str) -> None:
    """Raise :class:`TaskMismatchError` when ``task`` shows it is not a task of
    ``family`` (its outputs or billing name packs without ``pack``)."""
    if pack is None:
        return
    shown = task.packs_shown()
    if shown is None or pack in shown:
        return
    ext = task.external_task_id
    held = f" (external_task_id {ext!r})" if ext else ""
    raise TaskMismatchError(
        f"{where}: task {task.task_id!r}{held} is a {'/'.join(sorted(shown)) or 'other'} "
        f"task, not a {family} task ({pack} pack); not adopted, nothing created. Kling's "
        "external ids are shared by every family: use another external_task_id",
        asked=ext or task.task_id,
        got_task_id=task.task_id,
    )


def one_named(found: list[Task], *, external_task_id: str | None, where: str) -> list[Task]:
    """``found`` unless two or more different tasks name ``external_task_id``: that
    is a conflict (Kling keeps one task per external id), never a choice."""
    if external_task_id is None:
        return found
    named = {t.task_id: t for t in found if t.external_task_id == external_task_id}
    if len(named) > 1:
        raise TaskMismatchError(
            f"{where}: {len(named)} tasks name external_task_id {external_task_id!r} "
            f"({', '.join(sorted(named))}); a conflict, none is adopted",
            asked=external_task_id,
            got_task_id=None,
        )
    return found


def find_in_list(
    items: list[Any], *, task_id: str | None, external_task_id: str | None
) -> Mapping[str, Any] | None:
    """The one object of a list answer that is the task asked for, if any (two
    different tasks matching are a conflict: :class:`TaskMismatchError`)."""
    matches: dict[str, Mapping[str, Any]] = {}
    for item in items:
        if not isinstance(item, Mapping):
            continue
        got_id = named_task_id(item)
        if got_id is None:
            continue
        try:
            check_identity(
                got_id,
                named_external_id(item),
                task_id=task_id,
                external_task_id=external_task_id,
                where="list",
            )
        except TaskMismatchError:
            continue
        matches.setdefault(got_id, item)
    if len(matches) > 1:
        asked = task_id if task_id is not None else external_task_id
        raise TaskMismatchError(
            f"list: {len(matches)} tasks match {asked!r} ({', '.join(sorted(matches))}); "
            "a conflict, none is adopted",
            asked=asked or "",
            got_task_id=None,
        )
    return next(iter(matches.values()), None)
