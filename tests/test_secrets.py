"""Secrets never appear in logs or exception text, even when things go wrong."""

from __future__ import annotations

import logging

import pytest

from kling_async import (
    AuthenticationError,
    CreateOutcomeUnknownError,
    KlingClient,
    RetryPolicy,
    TextToVideo,
)
from kling_async.simulator import Faults, Simulator
from kling_async.wire._auth import JWTAuth
from tests.conftest import ACCESS_KEY, SECRET_KEY


async def test_failures_and_retries_log_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    """Auth failures, retries and unknown outcomes never show keys or tokens."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    token = JWTAuth(ACCESS_KEY, SECRET_KEY).bearer()
    async with Simulator(
        access_key="another-access-key-000000000000",
        secret_key="another-secret-key-0000000000000000",
    ) as other:
        client = KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=other.base_url)
        with pytest.raises(AuthenticationError) as bad_auth:
            await client.get_task("text2video", task_id="1")
        texts += [str(bad_auth.value), repr(bad_auth.value)]
        await client.aclose()
    async with Simulator(
        access_key=ACCESS_KEY, secret_key=SECRET_KEY, faults=Faults(server_error_rate=1.0)
    ) as sim:
        client = sim.client(retry=RetryPolicy(max_attempts=3, initial_delay=0.001))
        with pytest.raises(CreateOutcomeUnknownError) as unknown:
            await client.create(TextToVideo(prompt="fox"))
        with pytest.raises(Exception) as query:
            await client.get_task("text2video", task_id="1")
        texts += [
            str(unknown.value),
            repr(unknown.value),
            str(query.value),
            repr(client),
            repr(sim),
        ]
        await client.aclose()
    texts.append(caplog.text)
    assert "retry" in caplog.text  # the retries were logged...
    joined = "\n".join(texts)
    for secret in (ACCESS_KEY, SECRET_KEY, token, token.split(".")[2]):
        assert secret not in joined  # ...without any credential
