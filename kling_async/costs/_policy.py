"""A client's cost settings in one value: the price table and the budget."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kling_async.costs._budget import Budget, BudgetGuard
from kling_async.costs._table import PriceTable

__all__ = ["CostPolicy"]

Prices = PriceTable | str | os.PathLike[str] | Mapping[str, Any] | Sequence[Mapping[str, Any]]
"""A price table, a JSON file of your own entries, or those entries as data."""


@dataclass(frozen=True)
class CostPolicy:
    """What a client's estimates come from and what it may spend.

    Give it as ``KlingClient(costs=CostPolicy(budget="video=50"))``.

    Attributes:
        prices: the price table estimates come from: a
            :class:`~kling_async.costs.PriceTable`, a JSON file of your own entries, or
            those entries as data (added to the built-in table, winning where they
            match). None: the built-in table.
        budget: never create a task whose estimate would take spent plus committed
            units over this (:class:`~kling_async.costs.Budget`, ``"video=50,image=200"``
            or a total such as ``"100"``, or a guard carrying what earlier runs spent).
            A request the table cannot price is then refused at submit
            (:class:`~kling_async.UnpricedRequestError`); one that would go over ends
            with :class:`~kling_async.BudgetExceededError`, uncreated.

    Example:
        >>> str(CostPolicy(budget="video=50").guard(PriceTable.default()).budget)
        'video=50'
    """

    prices: Prices | None = None
    budget: Budget | BudgetGuard | str | None = None

    def table(self) -> PriceTable:
        """The price table these settings name."""
        return PriceTable.of(self.prices)

    def guard(self, prices: PriceTable) -> BudgetGuard | None:
        """The budget guard over ``prices`` (None: no budget)."""
        return BudgetGuard.of(self.budget, prices)
