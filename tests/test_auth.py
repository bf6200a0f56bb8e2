"""JWT minting, caching, refresh, credential resolution and secret hygiene."""

from __future__ import annotations

import asyncio
import logging
import pickle

import jwt
import pytest

from kling_async import KlingClient, MissingCredentialsError
from kling_async.wire._auth import APIKeyAuth, JWTAuth, Secret, auth_from
from tests.conftest import ACCESS_KEY, SECRET_KEY


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_token_claims_match_the_official_sample() -> None:
    """HS256, typ JWT, iss = access key, exp = now + 1800, nbf = now - 5."""
    clock = FakeClock(1_800_000_000.7)
    token = JWTAuth(ACCESS_KEY, SECRET_KEY, clock=clock).bearer()
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(
        token, SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}
    )
    assert claims == {"iss": ACCESS_KEY, "exp": 1_800_000_000 + 1800, "nbf": 1_800_000_000 - 5}


@pytest.mark.parametrize(
    ("elapsed", "minted"),
    [(0, 1), (1000, 1), (1739, 1), (1740, 2), (1800, 2), (5000, 2)],
)
def test_token_is_cached_until_60s_before_expiry(elapsed: float, minted: int) -> None:
    """The cached token is reused until fewer than 60 s of its 1800 s remain."""
    clock = FakeClock(1_000_000.0)
    auth = JWTAuth(ACCESS_KEY, SECRET_KEY, clock=clock)
    first = auth.bearer()
    clock.now += elapsed
    second = auth.bearer()
    assert auth.mint_count == minted
    assert (first == second) is (minted == 1)


def test_invalidate_forces_one_new_mint() -> None:
    """After a 1003/1004 the refused token is dropped; a stale refusal is ignored."""
    clock = FakeClock(1_000_000.0)
    auth = JWTAuth(ACCESS_KEY, SECRET_KEY, clock=clock)
    old = auth.bearer()
    clock.now += 2  # a new mint yields a different token
    assert auth.invalidate(old)
    new = auth.bearer()
    assert new != old and auth.mint_count == 2
    auth.invalidate(old)  # a late refusal of the old token does not drop the new one
    assert auth.bearer() == new and auth.mint_count == 2


async def test_hundreds_of_concurrent_callers_cause_one_mint() -> None:
    """500 coroutines asking at once share a single minted token."""
    auth = JWTAuth(ACCESS_KEY, SECRET_KEY)

    async def ask() -> str:
        await asyncio.sleep(0)
        return auth.bearer()

    tokens = await asyncio.gather(*(ask() for _ in range(500)))
    assert len(set(tokens)) == 1 and auth.mint_count == 1


def test_api_key_is_sent_unchanged_and_cannot_refresh() -> None:
    """api_key mode sends the console key as the bearer and never re-mints."""
    auth = APIKeyAuth("console-api-key-abcdefghijklmnopqrstuvwxyz")
    assert auth.bearer() == "console-api-key-abcdefghijklmnopqrstuvwxyz"
    assert auth.invalidate("anything") is False


@pytest.mark.parametrize(
    ("kwargs", "env", "kind"),
    [
        ({"access_key": ACCESS_KEY, "secret_key": SECRET_KEY}, {}, JWTAuth),
        (
            {"api_key": "k" * 40},
            {"KLING_ACCESS_KEY": "a", "KLING_SECRET_KEY": "b" * 32},
            APIKeyAuth,
        ),
        ({}, {"KLING_ACCESS_KEY": ACCESS_KEY, "KLING_SECRET_KEY": SECRET_KEY}, JWTAuth),
        ({}, {"KLING_API_KEY": "k" * 40}, APIKeyAuth),
        ({"access_key": ACCESS_KEY}, {"KLING_SECRET_KEY": SECRET_KEY}, JWTAuth),
    ],
)
def test_credentials_from_arguments_or_environment(
    kwargs: dict[str, str], env: dict[str, str], kind: type
) -> None:
    """Arguments win; KLING_ACCESS_KEY/KLING_SECRET_KEY/KLING_API_KEY fill the gaps."""
    assert isinstance(auth_from(environ=env, **kwargs), kind)


@pytest.mark.parametrize(
    ("kwargs", "env", "names"),
    [
        ({}, {}, "KLING_ACCESS_KEY"),
        ({"access_key": ACCESS_KEY}, {}, "secret_key"),
        ({"secret_key": SECRET_KEY}, {}, "access_key"),
        ({}, {"KLING_ACCESS_KEY": ACCESS_KEY}, "KLING_SECRET_KEY"),
        ({"api_key": "  "}, {}, "api_key"),
    ],
)
def test_missing_credentials_are_a_clear_error(
    kwargs: dict[str, str], env: dict[str, str], names: str
) -> None:
    """A missing credential fails at construction and names what to set."""
    with pytest.raises(MissingCredentialsError, match=names):
        auth_from(environ=env, **kwargs)


def test_client_construction_fails_without_credentials() -> None:
    """KlingClient() with nothing configured raises before any I/O."""
    with pytest.raises(MissingCredentialsError, match="KLING_ACCESS_KEY"):
        KlingClient()


def test_client_rejects_unknown_region() -> None:
    """Only the documented regions are accepted."""
    with pytest.raises(ValueError, match="singapore"):
        KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region="mars")


def test_region_selects_host() -> None:
    """singapore is the default host; beijing and an explicit base_url are honoured."""
    kw = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
    assert KlingClient(**kw).base_url == "https://api-singapore.klingai.com"
    assert KlingClient(region="beijing", **kw).base_url == "https://api-beijing.klingai.com"
    assert KlingClient(base_url="http://127.0.0.1:9/", **kw).base_url == "http://127.0.0.1:9"


def test_secrets_never_appear_in_repr_str_or_format() -> None:
    """Keys and tokens are hidden from repr, str, f-strings and pickling."""
    auth = JWTAuth(ACCESS_KEY, SECRET_KEY)
    token = auth.bearer()
    client = KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    secret = Secret(SECRET_KEY)
    shown = " ".join(
        [
            repr(auth),
            str(auth),
            repr(client),
            str(client),
            repr(secret),
            str(secret),
            f"{secret}",
            repr(APIKeyAuth("api-key-" + "z" * 32)),
        ]
    )
    for value in (ACCESS_KEY, SECRET_KEY, token, "z" * 32):
        assert value not in shown
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_missing_credential_messages_never_echo_values(caplog: pytest.LogCaptureFixture) -> None:
    """Errors about credentials name variables, never the values given."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MissingCredentialsError) as info:
        auth_from(access_key=ACCESS_KEY, environ={})
    assert ACCESS_KEY not in str(info.value)
    assert ACCESS_KEY not in caplog.text
