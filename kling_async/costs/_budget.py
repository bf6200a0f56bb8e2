"""The budget guard: never create a task whose estimate would take spent plus
committed units over the budget.

Data flow (the scheduler calls these; a batch pre-loads its journal)::

    submit()        plan(ext_id, estimate)   no estimate -> UnpricedRequestError;
                                             can never fit -> BudgetExceededError
    dispatch        reserve(ext_id)          fits? -> committed (else the submission
                                             ends with BudgetExceededError, not created)
    create refused/failed, cancelled         release(ext_id)
    task ended      settle(ext_id, task)     committed -> spent: final_unit_deduction,
                                             else the estimate (succeed) or 0 (failed)

``spent`` counts units deducted (or expected) for ended tasks, ``committed`` the
estimates of tasks created or being created. A budget is per pack
(``video=50,image=200``; packs it does not name are not limited) or one total
over every pack.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kling_async._text import read_units
from kling_async.costs._table import PACKS, Estimate, PriceTable
from kling_async.errors import BudgetExceededError, UnpricedRequestError, UsageError

if TYPE_CHECKING:
    from kling_async.models import KlingRequest, Task

__all__ = ["Budget", "BudgetGuard", "actual_units"]

_TOTAL = "*"


@dataclass(frozen=True)
class Budget:
    """Units a client (or a batch) may spend: per pack, or one total.

    Attributes:
        packs: limit per pack (``{"video": 50, "image": 200}``); packs not named are
            not limited.
        total: a limit over every pack together (None: none).
    """

    packs: Mapping[str, float] = field(default_factory=dict)
    total: float | None = None

    def __post_init__(self) -> None:
        for pack, units in self.packs.items():
            if pack not in PACKS:
                raise UsageError(f"budget: unknown pack {pack!r}; expected {', '.join(PACKS)}")
            if not math.isfinite(units) or units < 0:
                raise UsageError(f"budget: {pack} must be a number >= 0, got {units!r}")
        if self.total is not None and (not math.isfinite(self.total) or self.total < 0):
            raise UsageError(f"budget: the total must be a number >= 0, got {self.total!r}")
        if not self.packs and self.total is None:
            raise UsageError("budget: give a total or at least one pack")

    @classmethod
    def parse(cls, text: str) -> Budget:
        """``"100"`` (a total over every pack) or ``"video=50,image=200"``.

        Raises:
            ValueError: the text is not one of those forms; the message says why.
        """
        text = text.strip()
        try:
            return cls(total=float(text))
        except ValueError:
            pass
        packs: dict[str, float] = {}
        for part in text.split(","):
            name, sep, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or not name:
                raise UsageError(
                    f"budget {text!r}: expected a number (the total) or pack=units pairs "
                    "such as video=50,image=200"
                )
            try:
                packs[name] = float(value)
            except ValueError:
                raise UsageError(f"budget {text!r}: {name} must be a number") from None
        return cls(packs=packs)

    def limits_pack(self, pack: str | None) -> bool:
        """True when units of ``pack`` count against this budget."""
        return self.total is not None or (pack is not None and pack in self.packs)

    def limits(self) -> dict[str, float]:
        """Every limit: per pack, and ``"*"`` for the total."""
        out = dict(self.packs)
        if self.total is not None:
            out[_TOTAL] = self.total
        return out

    def over(self, used: Mapping[str, float], pack: str, units: float) -> tuple[str, float] | None:
        """The limit (key, used there) that ``units`` more in ``pack`` would exceed."""
        limit = self.packs.get(pack)
        if limit is not None and used.get(pack, 0.0) + units > limit + 1e-9:
            return pack, used.get(pack, 0.0)
        if self.total is not None:
            everything = sum(used.values())
            if everything + units > self.total + 1e-9:
                return _TOTAL, everything
        return None

    def exceeded_by(self, planned: Mapping[str, float]) -> list[str]:
        """What ``planned`` units per pack exceed, as readable lines (empty: fits)."""
        lines = []
        for pack, limit in sorted(self.packs.items()):
            if planned.get(pack, 0.0) > limit + 1e-9:
                lines.append(f"{pack}: {planned.get(pack, 0.0):g} > budget {limit:g}")
        if self.total is not None and sum(planned.values()) > self.total + 1e-9:
            lines.append(f"total: {sum(planned.values()):g} > budget {self.total:g}")
        return lines

    def __str__(self) -> str:
        parts = [f"{pack}={units:g}" for pack, units in sorted(self.packs.items())]
        if self.total is not None:
            parts.append(f"total={self.total:g}")
        return ",".join(parts)


def actual_units(task: Task | Mapping[str, Any] | None) -> float | None:
    """Units deducted for ``task`` (``final_unit_deduction``), None when not reported
    or not a number (Kling answers strings: ``"N/A"``, ``"NaN"``, ``""`` are unknown)."""
    if task is None:
        return None
    value = (
        task.get("final_unit_deduction") if isinstance(task, Mapping) else task.final_unit_deduction
    )
    return read_units(value)


class BudgetGuard:
    """Keeps spent + committed units within a :class:`Budget` (see the module docstring).

    Args:
        budget: the limits.
        prices: the price table estimates come from (default: the built-in one).
    """

    def __init__(self, budget: Budget, prices: PriceTable | None = None) -> None:
        self.budget = budget
        self.prices = prices or PriceTable.default()
        self.spent: dict[str, float] = {}
        self._planned: dict[str, Estimate] = {}
        self._held: dict[str, tuple[str, float]] = {}
        self.refused = 0
        """Submissions ended because the budget would have been exceeded."""

    @classmethod
    def of(
        cls, budget: Budget | BudgetGuard | str | None, prices: PriceTable
    ) -> BudgetGuard | None:
        """The guard for a ``budget=`` setting (a guard, a :class:`Budget`, its text, or
        None for no guard)."""
        if budget is None or isinstance(budget, BudgetGuard):
            return budget
        return cls(Budget.parse(budget) if isinstance(budget, str) else budget, prices)

    @property
    def committed(self) -> dict[str, float]:
        """Estimated units of tasks created or being created, per pack."""
        out: dict[str, float] = {}
        for pack, units in self._held.values():
            out[pack] = out.get(pack, 0.0) + units
        return out

    def used(self) -> dict[str, float]:
        """Spent plus committed, per pack."""
        out = dict(self.spent)
        for pack, units in self.committed.items():
            out[pack] = out.get(pack, 0.0) + units
        return out

    def estimate(self, request: KlingRequest) -> Estimate:
        """The estimate of ``request`` from this guard's price table (from its wire
        body, ``extra_body`` included)."""
        return self.prices.estimate_request(request)

    def plan(self, external_task_id: str, est: Estimate) -> Estimate:
        """Note a request's estimate (made by the create gate from its wire body)
        before it is created.

        Raises:
            UnpricedRequestError: its pack counts against the budget and the price
                table cannot estimate it, or it sends fields the table does not read
                (``est.unpriced``) that may change the price.
            BudgetExceededError: it could not fit even if nothing else were committed.
        """
        if not self.budget.limits_pack(est.pack):
            return est  # a pack this budget does not limit: nothing to guard
        if est.units is None or est.pack is None:
            raise UnpricedRequestError(
                f"a budget is set but {est.family} cannot be estimated ({est.basis}); "
                "add a price for it (prices= / --prices) or leave the budget out"
            )
        if est.unpriced:
            raise UnpricedRequestError(
                f"a budget is set but {est.family} sends extra_body "
                f"{', '.join(est.unpriced)}, which may change the price and which the "
                "price table does not read; set the field itself when the model has it, "
                "or leave the budget out"
            )
        over = self.budget.over(self.spent, est.pack, est.units)
        if over is not None:
            raise BudgetExceededError(
                est.family,
                pack=over[0],
                units=est.units,
                used=over[1],
                limit=self.budget.limits()[over[0]],
            )
        if external_task_id not in self._held:
            self._planned[external_task_id] = est
        return est

    def reserve(self, external_task_id: str, what: str) -> BudgetExceededError | None:
        """Commit the planned estimate before the create leaves; the error (nothing
        committed) when it would go over the budget. Reserving twice is a no-op."""
        if external_task_id in self._held:
            return None
        est = self._planned.get(external_task_id)
        if est is None or est.units is None or est.pack is None:
            return None  # not planned here (attached tasks): nothing to guard
        over = self.budget.over(self.used(), est.pack, est.units)
        if over is not None:
            self.refused += 1
            return BudgetExceededError(
                what,
                pack=over[0],
                units=est.units,
                used=over[1],
                limit=self.budget.limits()[over[0]],
            )
        self._held[external_task_id] = (est.pack, est.units)
        return None

    def hold(self, external_task_id: str, pack: str, units: float) -> None:
        """Count a task already created (a resumed batch's running jobs) as committed."""
        self._held[external_task_id] = (pack, units)

    def add_spent(self, pack: str, units: float) -> None:
        """Count units already deducted (a resumed batch's ended jobs)."""
        self.spent[pack] = round(self.spent.get(pack, 0.0) + units, 6)

    def release(self, external_task_id: str) -> None:
        """Nothing was (or will be) created for it: forget its estimate."""
        self._held.pop(external_task_id, None)
        self._planned.pop(external_task_id, None)

    def settle(self, external_task_id: str, task: Task) -> None:
        """The task ended: its committed estimate becomes spent units (the deduction
        Kling reports; without one, the estimate when it succeeded, 0 when it failed)."""
        self._planned.pop(external_task_id, None)
        held = self._held.pop(external_task_id, None)
        if held is None:
            return
        pack, estimate = held
        actual = actual_units(task)
        if actual is None:
            actual = 0.0 if task.task_status.value == "failed" else estimate
        self.add_spent(pack, actual)

    def snapshot(self) -> dict[str, Any]:
        """Limits, spent, committed and left, per pack (for stats and reports)."""
        used = self.used()
        limits = self.budget.limits()
        left = {
            key: round(limit - (sum(used.values()) if key == _TOTAL else used.get(key, 0.0)), 6)
            for key, limit in limits.items()
        }
        return {
            "budget": str(self.budget),
            "spent": dict(self.spent),
            "committed": self.committed,
            "left": left,
            "refused": self.refused,
        }
