"""The billing ledgers (``POST /account/billing/package`` and ``/balance``), with paging.

Each call returns one page (:class:`~kling_async.models.BillingPage`); the
``iter_*`` forms follow ``next_cursor`` while ``has_more``. Filters are checked
before anything is sent: the package ledger takes ``api_key_name``,
``product_type``, ``package_name`` or ``package_id`` (not both of the last two),
the balance ledger ``api_key_name`` only (``kling_api.md`` 9.23).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from kling_async.errors import UsageError
from kling_async.models import BillingPage, BillingRecord
from kling_async.wire._sync_calls import parse_data
from kling_async.wire._transport import Transport

__all__ = ["BILLING_PATHS", "BillingEndpoints"]

BILLING_PATHS = {
    "package": "/account/billing/package",
    "balance": "/account/billing/balance",
}
_FILTER_KEYS = {
    "package": ("api_key_name", "product_type", "package_name", "package_id"),
    "balance": ("api_key_name",),
}
_MAX_LIMIT = 500
_DAY_MS = 86_400_000

Filters = Mapping[str, Sequence[str]]


class BillingEndpoints:
    """Ledger calls (mixed into ``KlingClient``)."""

    _transport: Transport

    async def billing_package(
        self,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        filters: Filters | None = None,
        limit: int = _MAX_LIMIT,
        cursor: str | None = None,
    ) -> BillingPage:
        """One page of the unit-deduction ledger (a deduction per task and pack).

        Args:
            start_time: Unix milliseconds; default 30 days before ``end_time``.
            end_time: Unix milliseconds; default now.
            filters: ``{"product_type": ["video"], "package_id": [...]}``: values of a
                key are OR-ed, keys AND-ed.
            limit: records per page, 1-500.
            cursor: the previous page's ``next_cursor`` (the window is then Kling's).

        Raises:
            ValueError: a bad filter key, both ``package_name`` and ``package_id``,
                a limit out of range or ``start_time`` after ``end_time``.
        """
        return await self._ledger("package", start_time, end_time, filters, limit, cursor)

    async def billing_balance(
        self,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        filters: Filters | None = None,
        limit: int = _MAX_LIMIT,
        cursor: str | None = None,
    ) -> BillingPage:
        """One page of the cash-balance ledger; arguments as :meth:`billing_package`
        (the only filter key is ``api_key_name``)."""
        return await self._ledger("balance", start_time, end_time, filters, limit, cursor)

    async def iter_billing_package(
        self,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        filters: Filters | None = None,
        limit: int = _MAX_LIMIT,
    ) -> AsyncIterator[BillingRecord]:
        """Every unit deduction in the window, page after page."""
        async for record in self._iter("package", start_time, end_time, filters, limit):
            yield record

    async def iter_billing_balance(
        self,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        filters: Filters | None = None,
        limit: int = _MAX_LIMIT,
    ) -> AsyncIterator[BillingRecord]:
        """Every cash deduction in the window, page after page."""
        async for record in self._iter("balance", start_time, end_time, filters, limit):
            yield record

    async def _iter(
        self,
        ledger: str,
        start_time: int | None,
        end_time: int | None,
        filters: Filters | None,
        limit: int,
    ) -> AsyncIterator[BillingRecord]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self._ledger(ledger, start_time, end_time, filters, limit, cursor)
            for record in page.records:
                yield record
            if not page.has_more or not page.next_cursor or page.next_cursor in seen:
                return  # a cursor seen before would loop for ever
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    async def _ledger(
        self,
        ledger: str,
        start_time: int | None,
        end_time: int | None,
        filters: Filters | None,
        limit: int,
        cursor: str | None,
    ) -> BillingPage:
        body = ledger_body(ledger, start_time, end_time, filters, limit, cursor)
        envelope = await self._transport.request(
            "POST", BILLING_PATHS[ledger], json_body=body, idempotent=True
        )
        return parse_data(BillingPage, envelope.data, what=f"billing {ledger} ledger")


def ledger_body(
    ledger: str,
    start_time: int | None,
    end_time: int | None,
    filters: Filters | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """The request body of a ledger page, checked (see the module docstring)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
        raise UsageError(f"limit must be an integer from 1 to {_MAX_LIMIT}, got {limit!r}")
    body: dict[str, Any] = {"limit": limit}
    if cursor:
        body["cursor"] = cursor
    else:
        end = int(time.time() * 1000) if end_time is None else end_time
        start = end - 30 * _DAY_MS if start_time is None else start_time
        if start > end:
            raise UsageError("start_time must not be after end_time")
        body["start_time"], body["end_time"] = start, end
    if filters:
        allowed = _FILTER_KEYS[ledger]
        items = []
        for key, values in filters.items():
            if key not in allowed:
                raise UsageError(
                    f"filters: {key!r} is not a filter of the {ledger} ledger; "
                    f"expected {', '.join(allowed)}"
                )
            if isinstance(values, str) or not values:
                raise UsageError(f"filters[{key!r}] must be a non-empty list of strings")
            items.append({"key": key, "values": [str(v) for v in values]})
        if "package_name" in filters and "package_id" in filters:
            raise UsageError("filters: package_name and package_id cannot be used together")
        body["filters"] = items
    return body
