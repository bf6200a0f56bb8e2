"""Credentials and the bearer token sent with every request.

Two schemes:

* **Access key + secret key** → a self-signed JWT (HS256; ``iss`` = access key,
  ``exp`` = now + 1800, ``nbf`` = now - 5). The token is cached and re-minted when
  fewer than 60 s remain, or when Kling answers 1003/1004 for it.
* **API key** (``api_key=``) → the console key is sent as the bearer unchanged.

Minting is synchronous and takes no lock that could be awaited, so hundreds of
coroutines asking at once on one event loop see exactly one mint: the first caller
mints and stores before any other coroutine runs.

Secrets live in :class:`Secret` objects whose ``repr``/``str`` never show the value.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final, Protocol

import jwt

from kling_async._config import (
    TOKEN_NBF_SKEW_SECONDS,
    TOKEN_REFRESH_MARGIN_SECONDS,
    TOKEN_TTL_SECONDS,
)
from kling_async.errors import APIKeyRequiredError, MissingCredentialsError, UsageError

__all__ = [
    "APIKeyAuth",
    "APIKeyRequiredError",
    "Auth",
    "Credentials",
    "JWTAuth",
    "MissingCredentialsError",
    "Secret",
    "api_key_for_2026",
    "auth_from",
]

ENV_ACCESS_KEY: Final = "KLING_ACCESS_KEY"
ENV_SECRET_KEY: Final = "KLING_SECRET_KEY"
ENV_API_KEY: Final = "KLING_API_KEY"


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise MissingCredentialsError("a credential must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        """Return the secret value (for signing only)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise UsageError("Secret objects cannot be pickled")


class Auth(Protocol):
    """Supplies the bearer token for a request."""

    def bearer(self) -> str:
        """Return the token to send as ``Authorization: Bearer <token>``."""
        ...

    def invalidate(self, token: str) -> bool:
        """Forget ``token`` after the server refused it as expired/not yet valid.

        Returns True when a fresh token will be different (a retry can help).
        """
        ...


class JWTAuth:
    """HS256 JWT minted from an access key and a secret key, cached.

    Args:
        access_key: the Access Key (becomes ``iss``).
        secret_key: the Secret Key (HMAC-SHA256 signing key).
        ttl: token lifetime in seconds (``exp = now + ttl``).
        refresh_margin: re-mint when fewer than this many seconds remain.
        clock: returns the current Unix time; injectable for tests.

    Example:
        >>> auth = JWTAuth("ak", "s" * 32)
        >>> auth.bearer().count(".")
        2
    """

    __slots__ = (
        "_access_key",
        "_clock",
        "_expires_at",
        "_lock",
        "_refresh_margin",
        "_secret_key",
        "_token",
        "_ttl",
        "mint_count",
    )

    def __init__(
        self,
        access_key: str | Secret,
        secret_key: str | Secret,
        *,
        ttl: int = TOKEN_TTL_SECONDS,
        refresh_margin: int = TOKEN_REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl <= refresh_margin:
            raise UsageError("ttl must be longer than refresh_margin")
        self._access_key = access_key if isinstance(access_key, Secret) else Secret(access_key)
        self._secret_key = secret_key if isinstance(secret_key, Secret) else Secret(secret_key)
        self._ttl = ttl
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        # Guards against threads (e.g. a sync wrapper); on one event loop the mint
        # never yields, so coroutines cannot interleave inside it.
        self._lock = threading.Lock()
        self.mint_count = 0
        """How many tokens were minted (for tests and diagnostics)."""

    def bearer(self) -> str:
        """Return a valid cached token, minting a new one when needed."""
        now = self._clock()
        token = self._token
        if token is not None and now < self._expires_at - self._refresh_margin:
            return token
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._expires_at - self._refresh_margin:
                return self._token
            return self._mint(now)

    def _mint(self, now: float) -> str:
        issued = int(now)
        payload = {
            "iss": self._access_key.reveal(),
            "exp": issued + self._ttl,
            "nbf": issued - TOKEN_NBF_SKEW_SECONDS,
        }
        token = jwt.encode(
            payload,
            self._secret_key.reveal(),
            algorithm="HS256",
            headers={"alg": "HS256", "typ": "JWT"},
        )
        self._token = token
        self._expires_at = float(issued + self._ttl)
        self.mint_count += 1
        return token

    def invalidate(self, token: str) -> bool:
        """Drop ``token`` from the cache if it is still the cached one."""
        with self._lock:
            if self._token == token:
                self._token = None
                self._expires_at = 0.0
        return True

    def __repr__(self) -> str:
        return f"JWTAuth(access_key=<hidden>, secret_key=<hidden>, ttl={self._ttl})"


class APIKeyAuth:
    """A console API key sent as the bearer unchanged."""

    __slots__ = ("_key",)

    def __init__(self, api_key: str | Secret) -> None:
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)

    def bearer(self) -> str:
        """Return the API key."""
        return self._key.reveal()

    def invalidate(self, token: str) -> bool:
        """An API key cannot be refreshed; a retry would send the same key."""
        return False

    def __repr__(self) -> str:
        return "APIKeyAuth(api_key=<hidden>)"


def auth_from(
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    api_key: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> JWTAuth | APIKeyAuth:
    """Build the auth scheme from arguments, falling back to the environment.

    Arguments win over ``KLING_ACCESS_KEY`` / ``KLING_SECRET_KEY`` /
    ``KLING_API_KEY``. An explicit ``api_key`` selects API-key mode; otherwise an
    access key and secret key pair is required.

    Raises:
        MissingCredentialsError: nothing usable was given; the message names the
            arguments and environment variables to set (never their values).
    """
    env = os.environ if environ is None else environ
    if api_key is not None:
        return APIKeyAuth(_require(api_key, "api_key"))
    if access_key is not None or secret_key is not None:
        ak = access_key if access_key is not None else env.get(ENV_ACCESS_KEY)
        sk = secret_key if secret_key is not None else env.get(ENV_SECRET_KEY)
        if not ak or not sk:
            missing = "access_key" if not ak else "secret_key"
            raise MissingCredentialsError(
                f"{missing} is missing: pass access_key= and secret_key= together "
                f"(or set {ENV_ACCESS_KEY} and {ENV_SECRET_KEY})"
            )
        return JWTAuth(ak, sk)
    ak, sk = env.get(ENV_ACCESS_KEY), env.get(ENV_SECRET_KEY)
    if ak and sk:
        return JWTAuth(ak, sk)
    env_key = env.get(ENV_API_KEY)
    if env_key:
        return APIKeyAuth(env_key)
    if ak or sk:
        missing = ENV_SECRET_KEY if ak else ENV_ACCESS_KEY
        raise MissingCredentialsError(
            f"{missing} is not set: both {ENV_ACCESS_KEY} and {ENV_SECRET_KEY} are needed"
        )
    raise MissingCredentialsError(
        "no Kling credentials: pass access_key= and secret_key= (or api_key=), or set "
        f"{ENV_ACCESS_KEY} and {ENV_SECRET_KEY} (or {ENV_API_KEY})"
    )


def _require(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MissingCredentialsError(f"{name} must be a non-empty string")
    return value


def api_key_for_2026(
    primary: JWTAuth | APIKeyAuth, environ: Mapping[str, str] | None = None
) -> APIKeyAuth | None:
    """The API key 2026-design calls use: the client's own when it runs on one,
    else ``KLING_API_KEY`` (a JWT client may also hold a console key), else None."""
    if isinstance(primary, APIKeyAuth):
        return primary
    env = os.environ if environ is None else environ
    key = env.get(ENV_API_KEY)
    return APIKeyAuth(key) if key else None


class Credentials:
    """The client's credentials, resolved once: the bearer ``/v1`` calls send (a JWT
    or an API key) and the console API key the 2026 design needs, if there is one
    (the client's own, or ``KLING_API_KEY`` beside an AK/SK pair).

    Which calls need the API key is the API design's rule
    (``APIDesign.require_credentials``); :meth:`bearer` applies it. Never shows a
    secret in ``repr``.
    """

    __slots__ = ("api_key", "primary")

    def __init__(self, primary: JWTAuth | APIKeyAuth, api_key: APIKeyAuth | None) -> None:
        self.primary = primary
        self.api_key = api_key

    @classmethod
    def resolve(
        cls,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Credentials:
        """From arguments and the environment (see :func:`auth_from`).

        Raises:
            MissingCredentialsError: nothing usable was given.
        """
        primary = auth_from(
            access_key=access_key, secret_key=secret_key, api_key=api_key, environ=environ
        )
        return cls(primary, api_key_for_2026(primary, environ))

    @property
    def has_api_key(self) -> bool:
        """True when calls that need a console API key can be sent."""
        return self.api_key is not None

    def bearer(self, *, api_key_only: bool, what: str) -> JWTAuth | APIKeyAuth:
        """The scheme a call sends: the API key when ``api_key_only``, else the primary.

        Raises:
            APIKeyRequiredError: ``api_key_only`` and no API key (``what`` names the
                call); nothing is sent.
        """
        if not api_key_only:
            return self.primary
        if self.api_key is None:
            raise APIKeyRequiredError(
                f"{what}: a 2026-design call, and Kling accepts only a console API key there "
                "(an access key / secret key JWT is refused with 401/1002). Pass api_key= "
                f"or set {ENV_API_KEY} (create one at https://kling.ai/dev/api-key)"
            )
        return self.api_key

    @property
    def mode(self) -> str:
        """``"jwt"`` or ``"api_key"``: what ``/v1`` calls send."""
        return "jwt" if isinstance(self.primary, JWTAuth) else "api_key"

    def __repr__(self) -> str:
        key = ", api_key=<hidden>" if self.api_key is not None else ""
        return f"Credentials({self.mode}{key})"
