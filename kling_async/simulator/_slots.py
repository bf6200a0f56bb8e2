"""The simulator's concurrency accounting: per pack, or per pack and model version.

Kling's pages give two readings of what one limit counts over (``kling_api_2026.md``
A7): the account's pack type, or its pack type and model version. ``SlotBook`` models
either: with ``pack`` every task of a pack shares the pack's :class:`PackState`; with
``pack_model`` each ``pack/model`` gets its own, with the pack's capacity (a request
without ``model_name`` counts under its family's name).
"""

from __future__ import annotations

from collections.abc import Mapping

from kling_async.errors import UsageError
from kling_async.simulator._state import PackState

__all__ = ["SCOPES", "SlotBook"]

SCOPES = ("pack", "pack_model")


class SlotBook:
    """Slots in use per pack (and per model), with the configured capacities."""

    def __init__(self, capacity: Mapping[str, int], scope: str) -> None:
        if scope not in SCOPES:
            raise UsageError("concurrency_scope must be 'pack' or 'pack_model'")
        self.scope = scope
        self.packs = {name: PackState(value) for name, value in capacity.items()}
        self.by_model: dict[str, PackState] = {}

    def for_task(self, pack: str, model: str) -> PackState:
        """Where a task of ``pack`` made with ``model`` counts its slots."""
        state = self.packs[pack]
        if self.scope == "pack":
            return state
        key = f"{pack}/{model}"
        own = self.by_model.get(key)
        if own is None:
            own = self.by_model[key] = PackState(state.capacity)
        return own

    def _of(self, pack: str) -> list[PackState]:
        return [self.packs[pack]] + [
            state for key, state in self.by_model.items() if key.split("/", 1)[0] == pack
        ]

    def in_use(self, pack: str, now: float) -> int:
        """Slots of ``pack`` held at ``now`` (every model of it with ``pack_model``)."""
        states = self._of(pack)
        for state in states:
            state.settle(now)
        return sum(state.in_use for state in states)

    def set_capacity(self, pack: str, capacity: int) -> None:
        """Change a pack's limit (and each of its models')."""
        for state in self._of(pack):
            state.capacity = capacity

    def __repr__(self) -> str:
        return f"<SlotBook {self.scope} {self.packs} {self.by_model}>"
