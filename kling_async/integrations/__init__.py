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
