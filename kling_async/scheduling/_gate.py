"""The create gate: every way to create a task passes here, in one order.

``submit``, ``run``, the family coroutines (``text2video(...)``), batch jobs and the
service examples (all through ``submit``), the low-level ``create``, and the
re-create after a confirmed-lost create (the same :class:`CreateCall` again) reach
Kling only through a :class:`CreateCall` built by :meth:`CreateGate.admit`::

    request
      1. validate         a request model; the client open; the family known
      2. wire body        prepare_create(): path + body, extra_body merged, ids set
      3. estimate         PriceTable.estimate_request(request, body): from the body sent
      4. budget           BudgetGuard.plan(): unpriced / unknown fields / can never
                          fit -> refused (UnpricedRequestError, BudgetExceededError)
      5. API key          a 2026-design family without one -> APIKeyRequiredError
    CreateCall
      6. reserve          budget committed (submit: at dispatch; create: at once)
      7. slot             the scheduler's pack slots (submit only)
      8. exactly once     Creator.create (submit) / CreateGate.create_now (create)

Nothing is sent and nothing is committed when a step before 6 refuses; a refusal
at 6 sends nothing either. The matrix test (``tests/test_gate_matrix.py``) runs every
public create path against every promise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kling_async.costs import BudgetGuard, Estimate, PriceTable
from kling_async.endpoints import Family, family
from kling_async.errors import BudgetExceededError, CreateOutcomeUnknownError, UsageError
from kling_async.models import KlingRequest, Task
from kling_async.wire._task_calls import CreateCall, prepare_create

__all__ = ["CreateGate"]


class CreateGate:
    """Builds, prices and checks every create (see the module docstring).

    Args:
        budget: the budget guard, or None.
        prices: the price table (for estimates without a budget).
        require_credentials: raises when the family's design cannot be used with
            the configured credentials (the client's check); None skips it.
    """

    __slots__ = ("_budget", "_prices", "_require")

    def __init__(
        self,
        *,
        budget: BudgetGuard | None = None,
        prices: PriceTable | None = None,
        require_credentials: Callable[[Family], None] | None = None,
    ) -> None:
        self._budget = budget
        self._prices = prices if prices is not None else (budget.prices if budget else None)
        self._require = require_credentials

    @property
    def budget(self) -> BudgetGuard | None:
        """The budget guard, or None."""
        return self._budget

    def admit(
        self,
        request: KlingRequest,
        *,
        external_task_id: str | None,
        callback_url: str | None,
        check: Callable[[CreateCall], None] | None = None,
    ) -> CreateCall:
        """Steps 1-5: the :class:`CreateCall` to send, or the refusal (nothing sent,
        nothing committed). ``check`` is the path's own part of step 1 (the
        scheduler's: open, slots, an external id not live), run on the built call
        before anything is planned.

        Raises:
            ClientClosedError: the client is closed (``check``).
            UsageError: not a request model, conflicting ids, an unknown family.
            UnpricedRequestError, BudgetExceededError: the budget refuses it.
            APIKeyRequiredError: a 2026-design family and no API key.
        """
        if not isinstance(request, KlingRequest):
            raise UsageError(
                f"expected a request model such as TextToVideo(...), got {type(request).__name__}"
            )
        fam = family(request.family)
        call = prepare_create(
            fam, request, external_task_id=external_task_id, callback_url=callback_url
        )
        if check is not None:
            check(call)
        if self._budget is not None:
            self._budget.plan(call.external_task_id, self.estimate(call))
        try:
            if self._require is not None:
                self._require(fam)
        except BaseException:
            self.release(call)
            raise
        return call

    def estimate(self, call: CreateCall) -> Estimate:
        """Step 3: the estimate of what ``call`` sends."""
        prices = self._prices or PriceTable.default()
        return prices.estimate_request(call.request, call.body)

    def reserve(self, call: CreateCall) -> BudgetExceededError | None:
        """Step 6: commit the planned estimate; the error when it would go over the
        budget (nothing committed, nothing to send)."""
        if self._budget is None:
            return None
        what = f"{call.family} (external_task_id {call.external_task_id})"
        return self._budget.reserve(call.external_task_id, what)

    def release(self, call: CreateCall | str) -> None:
        """Nothing was (or will be) created for it: its estimate is forgotten."""
        if self._budget is not None:
            ext = call if isinstance(call, str) else call.external_task_id
            self._budget.release(ext)

    def settle(self, external_task_id: str, task: Task) -> None:
        """Its task ended: committed units become spent."""
        if self._budget is not None and task.is_terminal:
            self._budget.settle(external_task_id, task)

    async def create_now(self, call: CreateCall, send: Callable[[CreateCall], Any]) -> Task:
        """Steps 6 and 8 for the low-level ``create`` (no queue, no slots): reserve,
        send once, and release the reservation when Kling provably created nothing.
        A create whose outcome is unknown stays committed (the task may exist)."""
        over = self.reserve(call)
        if over is not None:
            self.release(call)
            raise over
        try:
            task: Task = await send(call)
        except CreateOutcomeUnknownError:
            raise
        except BaseException:
            self.release(call)
            raise
        self.settle(call.external_task_id, task)
        return task
