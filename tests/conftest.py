"""Shared fixtures: realistic test credentials, the simulator plugin."""

from __future__ import annotations

import pytest

pytest_plugins = ["kling_async.testing"]

# 32+ character secrets: PyJWT warns about short HMAC keys, and warnings are errors.
ACCESS_KEY = "test-access-key-0123456789abcdef"
SECRET_KEY = "test-secret-key-0123456789abcdef-0123456789"


@pytest.fixture(autouse=True)
def _no_kling_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up real credentials from the developer's environment."""
    for name in (
        "KLING_ACCESS_KEY",
        "KLING_SECRET_KEY",
        "KLING_API_KEY",
        "KLING_BASE_URL",
        "KLING_POLL_SCALE",
        "KLING_LOG",
    ):
        monkeypatch.delenv(name, raising=False)
