"""Pytest fixtures for testing your own code against the Kling simulator.

Enable them in your ``conftest.py``::

    pytest_plugins = ["kling_async.testing"]

and use them in async tests (pytest-asyncio)::

    async def test_my_pipeline(kling_client, kling_simulator):
        task = await kling_client.create(TextToVideo(prompt="a fox"))
        assert kling_simulator.stats.total_creates == 1

Fixtures:
    kling_simulator: a running :class:`~kling_async.simulator.Simulator`
        (capacity video=5, image=9, try_on=1; ``time_scale`` 0.001 so a 300 s
        video ends in about 0.3 s). Override ``kling_simulator_options`` to change it.
    kling_client: a :class:`~kling_async.KlingClient` pointed at it, on the
        simulator's API key (so both API designs work: ``/v1`` and the 2026 design's
        ``TextToVideo2026``...). Use ``kling_simulator.client()`` for an AK/SK client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from kling_async._client import KlingClient
from kling_async.simulator import Simulator

__all__ = ["kling_client", "kling_simulator", "kling_simulator_options"]


@pytest.fixture
def kling_simulator_options() -> dict[str, Any]:
    """Keyword arguments for the :class:`Simulator` of ``kling_simulator``."""
    return {"time_scale": 0.001, "seed": 0}


@pytest_asyncio.fixture
async def kling_simulator(kling_simulator_options: dict[str, Any]) -> AsyncIterator[Simulator]:
    """A running Kling simulator on a free loopback port."""
    async with Simulator(**kling_simulator_options) as sim:
        yield sim


@pytest_asyncio.fixture
async def kling_client(kling_simulator: Simulator) -> AsyncIterator[KlingClient]:
    """A KlingClient pointed at ``kling_simulator`` (its API key: both designs)."""
    async with kling_simulator.client(auth="api_key") as client:
        yield client
