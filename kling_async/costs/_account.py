"""The account's remaining units per pack (from ``/account/costs``) against an estimate.

A pack's type is read from its name (``Trial-Video-100Units-5Con-1Months``: video;
``...-Image-...``: image; ``try-on`` / ``tryon``: try_on); packs ``online`` count (and
``runOut`` ones, with nothing left), expired and not-yet-online ones do not.
``remaining_quantity`` lags by up to 12 hours (``kling_api.md`` 9.23), so a shortfall is
reported with that caveat; a pack whose type cannot be read is named and not counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kling_async.models import AccountCosts

__all__ = ["pack_of_name", "remaining_by_pack", "shortfalls"]

_KINDS = (
    ("try_on", re.compile(r"try[-_ ]?on", re.I)),
    ("video", re.compile(r"video", re.I)),
    ("image", re.compile(r"image", re.I)),
)


def pack_of_name(name: str | None) -> str | None:
    """The pack type a resource pack's name says (None when it says none)."""
    for pack, pattern in _KINDS:
        if name and pattern.search(name):
            return pack
    return None


def remaining_by_pack(costs: AccountCosts) -> tuple[dict[str, float], list[str]]:
    """Remaining units per pack type over the online packs, and the names of packs
    whose type could not be read."""
    remaining: dict[str, float] = {}
    unread: list[str] = []
    for info in costs.resource_pack_subscribe_infos:
        if (info.status or "").lower() not in ("online", "runout", ""):
            continue  # expired or not yet online: none of its units can be used
        pack = pack_of_name(info.resource_pack_name)
        if pack is None:
            unread.append(info.resource_pack_name or info.resource_pack_id or "?")
            continue
        remaining[pack] = round(remaining.get(pack, 0.0) + (info.remaining_quantity or 0.0), 6)
    return remaining, unread


def shortfalls(needed: Mapping[str, float], remaining: Mapping[str, float]) -> list[str]:
    """Readable lines for each pack whose remaining units do not cover ``needed``."""
    return [
        f"{pack}: about {units:g} units needed, {remaining.get(pack, 0.0):g} remaining"
        for pack, units in sorted(needed.items())
        if units > remaining.get(pack, 0.0) + 1e-9
    ]
