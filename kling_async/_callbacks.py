"""Callback receiver: turns Kling's status POSTs into tracker updates.

Data flow of one delivery (framework glue in ``kling_async.integrations``)::

    POST {route}/{token}
      token != this client's token        -> 404 (the route is not guessable)
      body larger than max_body_bytes     -> 413
      secrets configured:
        Standard Webhooks verify (any secret; timestamp within tolerance)
        missing headers / bad signature / stale -> 401, nothing resolved
      webhook-id seen before               -> 200, ignored (replay / duplicate)
      body not a task object (any shape: deep nesting, huge numbers) -> 400
      Scheduler.on_callback(task, signed)
        unknown task id                    -> ignored (200, logged)
        older status than known            -> ignored
        signed (or trusted)                -> applied: terminal resolves at once
        unsigned, untrusted                -> never changes what a handle shows:
                                              terminal -> confirmed by a (batched)
                                              query; processing -> ignored (polls)

The token is in the URL path: keep it out of access logs (aiohttp:
``web.AppRunner(app, access_log=None)`` or a log format without ``%r``; uvicorn:
``--no-access-log`` or a filter; a reverse proxy: log ``$uri`` without this route's
last segment). See docs/services.md.

Callbacks are hints; polling stays the source of truth (design invariant 8): the
tracker keeps polling, slowly, for tasks whose callback never comes.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from kling_async._config import CallbackRoute
from kling_async.errors import MissingExtraError, UsageError
from kling_async.models import Task

__all__ = ["CallbackReceiver", "CallbackResult", "OnCallback"]

logger = logging.getLogger("kling_async.callbacks")

DEFAULT_MAX_BODY = 256 * 1024
SEEN_IDS = 10_000


class OnCallback(Protocol):
    """Where verified deliveries go (the scheduler's ``on_callback``): returns False
    when the task is not one in flight."""

    def __call__(self, task: Task, *, signed: bool, trusted: bool) -> Awaitable[bool]:
        """Apply one delivery."""
        ...


class CallbackResult:
    """What to answer a delivery: an HTTP status and a small JSON body."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.body: dict[str, Any] = {"status": message}

    def __repr__(self) -> str:
        return f"CallbackResult({self.status}, {self.body['status']!r})"


class CallbackReceiver:
    """Verifies callback deliveries and feeds them to a client's scheduler.

    Created by :class:`~kling_async.KlingClient` when a ``callback_route`` is given;
    reach it as ``client.callbacks``.

    Args:
        on_callback: where verified deliveries go (the scheduler's ``on_callback``).
        public_url: the public URL of the callback route, without the token.
        token: the path token (random, unguessable by default). Pin it (e.g. from
            a secret store) so tasks created before a restart still call back.
        webhook_secrets: Standard Webhooks secrets (``whsec_...``); two during a
            rotation. When set, unsigned deliveries are refused.
        trust_unsigned: resolve on an unsigned terminal callback without first
            confirming it with a query (opt-out of the confirmation).
        max_body_bytes: larger deliveries are refused (413).
    """

    def __init__(
        self,
        on_callback: OnCallback,
        *,
        public_url: str,
        token: str | None = None,
        webhook_secrets: Sequence[str] = (),
        trust_unsigned: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY,
    ) -> None:
        _check(public_url, token, webhook_secrets)
        self._on_callback = on_callback
        self.public_url = public_url.rstrip("/")
        self._token = token or secrets.token_urlsafe(32)
        self._verifiers = [_verifier(secret) for secret in webhook_secrets]

        self.trust_unsigned = trust_unsigned
        self.max_body_bytes = max_body_bytes
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.accepted = 0
        self.rejected = 0
        self.duplicates = 0
        self.unknown = 0

    @staticmethod
    def check(route: CallbackRoute) -> None:
        """Raise :class:`~kling_async.UsageError` when ``route`` could not serve (the
        URL, the token, the number and form of the webhook secrets); nothing is built."""
        _check(route.url, route.token, route.secrets)
        for secret in route.secrets:
            _verifier(secret)

    @property
    def url(self) -> str:
        """The ``callback_url`` sent with every create (contains the token)."""
        return f"{self.public_url}/{self._token}"

    @property
    def signed(self) -> bool:
        """True when deliveries must carry a valid Standard Webhooks signature."""
        return bool(self._verifiers)

    def __repr__(self) -> str:
        return (
            f"CallbackReceiver(public_url={self.public_url!r}, token=<hidden>, "
            f"signed={self.signed}, accepted={self.accepted}, rejected={self.rejected})"
        )

    async def handle(self, token: str, body: bytes, headers: Mapping[str, str]) -> CallbackResult:
        """Process one delivery; returns the HTTP status and body to answer."""
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            self.rejected += 1
            return CallbackResult(404, "not found")
        if len(body) > self.max_body_bytes:
            self.rejected += 1
            return CallbackResult(413, "too large")
        lowered = {k.lower(): v for k, v in headers.items()}
        signed = False
        if self._verifiers:
            if not self._verify(body, lowered):
                self.rejected += 1
                logger.warning("callback refused: missing, invalid or stale signature")
                return CallbackResult(401, "invalid signature")
            signed = True
        delivery = lowered.get("webhook-id")
        if delivery is not None:
            if delivery in self._seen:
                self.duplicates += 1
                return CallbackResult(200, "duplicate")
            self._remember(delivery)
        try:
            task = Task.model_validate(json.loads(body))
        except (ValueError, ValidationError, RecursionError, TypeError):
            # ValueError covers bad JSON, bad UTF-8 and integers past Python's
            # digit limit; RecursionError very deep nesting.
            self.rejected += 1
            return CallbackResult(400, "not a task object")
        known = await self._on_callback(task, signed=signed, trusted=signed or self.trust_unsigned)
        if known:
            self.accepted += 1
            return CallbackResult(200, "ok")
        self.unknown += 1
        logger.info("callback for unknown task %s ignored", task.task_id)
        return CallbackResult(200, "unknown task")

    def _verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for verifier in self._verifiers:
            try:
                verifier.verify(body, headers)
            except Exception:  # WebhookVerificationError and malformed headers alike
                continue
            return True
        return False

    def _remember(self, delivery: str) -> None:
        self._seen[delivery] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)


def _verifier(secret: str) -> Any:
    try:
        from standardwebhooks.webhooks import Webhook
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise MissingExtraError(
            "signed callbacks need the standardwebhooks package: "
            "pip install 'kling-async[webhooks]'"
        ) from exc
    if not secret:
        raise UsageError("webhook secrets must not be empty")
    try:
        return Webhook(secret)
    except Exception:
        raise UsageError("a webhook secret is not a valid whsec_... value") from None


def _check(public_url: str, token: str | None, webhook_secrets: Sequence[str]) -> None:
    if not public_url.startswith(("http://", "https://")):
        raise UsageError("the callback route's URL must be an http(s) URL")
    if token is not None and (len(token) < 16 or "/" in token):
        raise UsageError("callback token must be at least 16 characters, without '/'")
    if len(webhook_secrets) > 2:
        raise UsageError("give at most two webhook secrets (old and new during rotation)")
