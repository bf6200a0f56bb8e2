"""Cost safety: the price table, estimates, the budget guard, the account's balance.

``PriceTable.default()`` holds units per task for each family, model and option
(``prices.json`` in this package, each entry with its source and date); estimates
come from it, never from guesses: what it cannot price is "no estimate", with the
reason. Video-pack and image-pack units are kept apart everywhere.
"""

from kling_async.costs._account import pack_of_name, remaining_by_pack, shortfalls
from kling_async.costs._budget import Budget, BudgetGuard, actual_units
from kling_async.costs._estimate import CostEstimate
from kling_async.costs._policy import CostPolicy
from kling_async.costs._table import PACKS, PER, Estimate, PriceEntry, PriceTable, attributes

__all__ = [
    "PACKS",
    "PER",
    "Budget",
    "BudgetGuard",
    "CostEstimate",
    "CostPolicy",
    "Estimate",
    "PriceEntry",
    "PriceTable",
    "actual_units",
    "attributes",
    "pack_of_name",
    "remaining_by_pack",
    "shortfalls",
]
