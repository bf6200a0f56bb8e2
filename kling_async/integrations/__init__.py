"""Service integrations: FastAPI and aiohttp glue for one long-lived client.

Both follow the same recipe:

1. open one :class:`~kling_async.KlingClient` when the app starts and close it when
   it stops (aiohttp ``cleanup_ctx`` / FastAPI ``lifespan``);
2. give it ``callback_route=CallbackRoute(url, webhook_secrets=[...])`` with ``url`` =
   the public URL of the callback route (without the token); every create then
   carries that URL plus an unguessable per-client token;
3. mount the callback route, which verifies deliveries (Standard Webhooks, when
   webhook secrets are set) and feeds them to the client's tracker.

See ``docs/services.md`` for exposing the route and configuring the secret.
"""

from __future__ import annotations

from kling_async.errors import BudgetExceededError, KlingError, MissingCredentialsError, UsageError

__all__ = ["refusal_status"]


def refusal_status(error: KlingError) -> int:
    """The HTTP status a service answers when ``client.submit`` refused a request
    before sending anything (the create gate): over the budget 402, a missing API key
    or a closed client 503, a bad request (including an unpriced one under a budget)
    422.

    Example:
        >>> from kling_async import BudgetExceededError
        >>> refusal_status(BudgetExceededError("x", pack="video", units=9, used=0, limit=5))
        402
    """
    if isinstance(error, BudgetExceededError):
        return 402
    if isinstance(error, MissingCredentialsError) or not isinstance(error, UsageError):
        return 503
    return 422
