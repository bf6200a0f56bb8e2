"""HTTP transport: one aiohttp session, the Kling envelope, typed errors, retries.

Data flow of one call::

    request(method, path, idempotent=...)
      loop over attempts:
        bearer = auth.bearer()                     (cached JWT or API key)
        send with aiohttp                          (connect/read timeouts)
        decode envelope {code, message, request_id, data}
          code == 0  -> return Envelope
          code != 0  -> typed APIError (errors.error_for_code)
        on failure: _retry.classify(error, idempotent)
          RETRY           -> sleep retry_delay(...) then loop (bounded)
          REAUTH          -> auth.invalidate(token), loop once at once
          UNKNOWN_OUTCOME -> raise; the client turns it into CreateOutcomeUnknownError
          FAIL            -> raise

Lifecycle: ``unopened -> opened`` (the first request opens the session) ``->
closed`` (:meth:`Transport.close`). A closed transport never reopens: every request
raises :class:`~kling_async.errors.ClientClosedError` before anything is sent.

Nothing here logs headers, tokens or bodies that could carry credentials.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from kling_async._config import Limits, RetryPolicy, Timeouts
from kling_async.errors import (
    APIError,
    ClientClosedError,
    KlingError,
    ResponseError,
    TransportError,
    UsageError,
    error_for_code,
)
from kling_async.wire._auth import APIKeyAuth, Credentials, JWTAuth
from kling_async.wire._retry import Decision, classify, parse_retry_after, retry_delay

__all__ = ["Envelope", "Transport", "TransportState"]

logger = logging.getLogger("kling_async.transport")

_BODY_SNIPPET = 200


class TransportState(enum.Enum):
    """Where a transport is in its life."""

    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A successful (``code == 0``) Kling answer."""

    data: Any
    request_id: str | None
    http_status: int


class Transport:
    """Sends requests to Kling and decodes its answers.

    Args:
        base_url: e.g. ``https://api-singapore.klingai.com`` (no trailing slash).
        credentials: the bearer schemes (:class:`Credentials`; a bare JWT or API-key
            scheme is taken as the only one).
        timeouts, retry, limits: see :mod:`kling_async._config`.
        session: an existing ``aiohttp.ClientSession`` to use; it is then not closed
            by :meth:`close`. When omitted, one is created on first use and owned.
        rng: random source for backoff jitter (seedable in tests).
        sleep: the coroutine used to wait between retries (fake time in tests).
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | JWTAuth | APIKeyAuth,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
        session: aiohttp.ClientSession | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if not isinstance(credentials, Credentials):
            credentials = Credentials(
                credentials, credentials if isinstance(credentials, APIKeyAuth) else None
            )
        self.credentials = credentials
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        self._session = session
        self._owns_session = session is None
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.request_count = 0
        """HTTP requests actually sent (attempts, not calls)."""
        self.state = TransportState.UNOPENED

    def _client_timeout(self) -> aiohttp.ClientTimeout:
        # total/connect stay unset: they would include time spent waiting for a
        # pooled connection. sock_connect/sock_read bound the real network waits.
        return aiohttp.ClientTimeout(
            total=None,
            connect=None,
            sock_connect=self.timeouts.connect,
            sock_read=self.timeouts.read,
        )

    def _get_session(self) -> aiohttp.ClientSession:
        if self.state is TransportState.CLOSED:
            raise ClientClosedError("the client is closed; make a new KlingClient")
        self.state = TransportState.OPENED
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise UsageError("the injected aiohttp session is closed")
            connector = aiohttp.TCPConnector(limit=self.limits.max_connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._client_timeout()
            )
        return self._session

    async def close(self) -> None:
        """Close for good: the session if this transport created it; every later
        request raises :class:`~kling_async.errors.ClientClosedError`."""
        self.state = TransportState.CLOSED
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None if self._owns_session else self._session

    @property
    def has_api_key(self) -> bool:
        """True when 2026-design calls can be sent (an API key is configured)."""
        return self.credentials.has_api_key

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Mapping[str, Any] | None = None,
        idempotent: bool,
        auth: bool = True,
        api_key_only: bool = False,
    ) -> Envelope:
        """Send one logical call, retrying per policy; return the success envelope.

        ``idempotent`` must be False for calls that start billable work (creates):
        those are resent only when the request provably never left.

        Raises:
            APIError subclasses: Kling answered with a non-zero code.
            TransportError: the network failed (after retries for idempotent calls,
                or when a create provably never left and retries ran out).
            ResponseError: the answer was not a valid envelope.
            APIKeyRequiredError: ``api_key_only`` (a 2026-design path) and no API
                key configured; nothing was sent.
        """
        if self.state is TransportState.CLOSED:
            raise ClientClosedError("the client is closed; make a new KlingClient")
        scheme = self.credentials.bearer(api_key_only=api_key_only, what=f"{method} {path}")
        attempt = 0
        reauthed = False
        while True:
            token = scheme.bearer() if auth else None
            try:
                return await self._send_once(method, path, params, json_body, token)
            except KlingError as error:
                decision = classify(error, idempotent=idempotent)
                if decision is Decision.REAUTH and token is not None and not reauthed:
                    reauthed = True
                    if scheme.invalidate(token):
                        logger.info("token refused (%s); minting a new one", _code_of(error))
                        continue
                    raise
                if decision is not Decision.RETRY or attempt + 1 >= self.retry.max_attempts:
                    raise
                delay = retry_delay(
                    attempt,
                    self.retry,
                    retry_after=getattr(error, "retry_after", None),
                    rng=self._rng,
                )
                logger.info(
                    "%s %s failed (%s); retry %d/%d in %.2fs",
                    method,
                    path,
                    type(error).__name__,
                    attempt + 1,
                    self.retry.max_attempts - 1,
                    delay,
                )
                attempt += 1
                await self._sleep(delay)

    async def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        json_body: Mapping[str, Any] | None,
        token: str | None,
    ) -> Envelope:
        session = self._get_session()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = self.base_url + path
        data = None if json_body is None else json.dumps(json_body, separators=(",", ":"))
        self.request_count += 1
        try:
            async with session.request(
                method,
                url,
                params=None if params is None else {k: str(v) for k, v in params.items()},
                data=data,
                headers=headers,
                timeout=self._client_timeout(),
                allow_redirects=False,
            ) as response:
                if 300 <= response.status < 400:
                    raise ResponseError(
                        f"{method} {path}: HTTP {response.status} redirect to "
                        f"{_redacted(response.headers.get('Location'))} refused: API requests "
                        f"never follow redirects (is base_url {self.base_url} right?)",
                        http_status=response.status,
                    )
                body = await self._read_body(response, method, path)
                logger.debug("%s %s -> HTTP %d, %d bytes", method, path, response.status, len(body))
                return decode_envelope(response.status, body, response.headers.get("Retry-After"))
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Connect/DNS/TLS-handshake failures: no byte of the request was sent.
            raise TransportError(
                f"could not connect to {self.base_url}: {type(exc).__name__}: {_cause(exc)}",
                request_sent=False,
            ) from None
        except TimeoutError:
            raise TransportError(
                f"{method} {path} timed out waiting for the server", request_sent=True
            ) from None
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"{method} {path} failed: {type(exc).__name__}", request_sent=True
            ) from None

    async def _read_body(self, response: aiohttp.ClientResponse, method: str, path: str) -> bytes:
        """The whole body, refused past ``limits.max_response_bytes`` (never buffered)."""
        cap = self.limits.max_response_bytes
        declared = response.content_length
        if declared is not None and declared > cap:
            raise ResponseError(
                f"{method} {path}: HTTP {response.status} answer of {declared} bytes refused "
                f"(over Limits.max_response_bytes={cap})",
                http_status=response.status,
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise ResponseError(
                    f"{method} {path}: HTTP {response.status} answer over {cap} bytes refused "
                    "(Limits.max_response_bytes)",
                    http_status=response.status,
                )
            chunks.append(chunk)
        return b"".join(chunks)


def decode_envelope(status: int, body: bytes, retry_after_header: str | None = None) -> Envelope:
    """Turn an HTTP status and raw body into an :class:`Envelope` or a typed error.

    Raises:
        APIError subclass: ``code`` is non-zero.
        ResponseError: the body is not JSON, not an object, lacks an integer
            ``code``, or says success with an HTTP error status.
    """
    retry_after = parse_retry_after(retry_after_header)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        if status == 429:
            raise _too_many(body, retry_after) from None
        raise ResponseError(
            f"HTTP {status}: body is not JSON: {_snippet(body)!r}", http_status=status
        ) from None
    if not isinstance(payload, dict):
        if status == 429:
            raise _too_many(body, retry_after)
        raise ResponseError(
            f"HTTP {status}: expected a JSON object, got {type(payload).__name__}",
            http_status=status,
        )
    code = payload.get("code")
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code = int(code)
    if status == 429 and (not isinstance(code, int) or isinstance(code, bool) or code == 0):
        raise _too_many(body, retry_after)
    if not isinstance(code, int) or isinstance(code, bool):
        raise ResponseError(
            f"HTTP {status}: envelope has no integer 'code': {_snippet(body)!r}",
            http_status=status,
        )
    request_id = payload.get("request_id")
    request_id = None if request_id is None else str(request_id)
    if code != 0:
        message = payload.get("message")
        return_msg = message if isinstance(message, str) and message else "no message"
        raise error_for_code(
            code,
            return_msg,
            http_status=status,
            request_id=request_id,
            retry_after=retry_after,
        )
    if status >= 400:
        raise ResponseError(
            f"HTTP {status} with code 0 (request_id={request_id})", http_status=status
        )
    return Envelope(data=payload.get("data"), request_id=request_id, http_status=status)


def _too_many(body: bytes, retry_after: float | None) -> APIError:
    """HTTP 429 is a rate limit whatever its body (a gateway's HTML page, say); an
    envelope with its own code (1102 comes with 429) keeps that code."""
    return error_for_code(
        1302,
        f"HTTP 429 without a Kling envelope (a gateway's rate limit): {_snippet(body)[:80]!r}",
        http_status=429,
        retry_after=retry_after,
    )


def _redacted(location: str | None) -> str:
    """A redirect target without its query string (it may carry a signature)."""
    if not location:
        return "(no Location)"
    return repr(location.split("?", 1)[0][:200])


def _cause(exc: aiohttp.ClientError) -> str:
    """The OS-level reason of a connect failure, in a few words."""
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror
    return str(exc)[:200] or "no detail"


def _snippet(body: bytes) -> str:
    return body[:_BODY_SNIPPET].decode("utf-8", errors="replace")


def _code_of(error: KlingError) -> str:
    code = getattr(error, "code", None)
    return f"code {code}" if code is not None else type(error).__name__
