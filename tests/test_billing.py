"""The simulator bills (its own copy of the prices), keeps balances, answers
/account/costs and the ledgers; the client's ledger calls page through them."""

from __future__ import annotations

from typing import Any

import pytest

from kling_async import ImageGeneration, InsufficientBalanceError, KlingClient, TextToVideo
from kling_async.costs import PriceTable, remaining_by_pack
from kling_async.simulator import Simulator
from kling_async.simulator._billing import units_for
from kling_async.wire._billing_calls import ledger_body
from tests._batchkit import sim_kwargs
from tests._simproc import start_simulator
from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.test_costs import DOCUMENTED


@pytest.mark.parametrize(("family", "params", "units", "pack"), DOCUMENTED)
def test_the_simulator_and_the_price_table_agree(
    family: str, params: dict[str, Any], units: float, pack: str
) -> None:
    """Two independent copies of the documented prices: a slip in one shows here."""
    images = params.get("n", 1)
    assert units_for(family, params, images) == pytest.approx(units)
    assert PriceTable.default().estimate(family, params).units == pytest.approx(units)


async def test_balances_ledger_and_account_costs() -> None:
    async with (
        Simulator(time_scale=0.002, live_shapes=False, balances={"video": 50}) as sim,
        KlingClient(**sim_kwargs(sim)) as client,
    ):
        for i in range(5):
            task = await client.run(TextToVideo(prompt=f"p{i}", duration="10"))
            assert task.final_unit_deduction == "2"
        remaining, unread = remaining_by_pack(await client.account_costs())
        assert remaining["video"] == 40.0 and not unread
        records = [r async for r in client.iter_billing_package(limit=2)]
        assert [r.deduction_amount for r in records] == [2.0] * 5
        assert records[0].unit_before_deduction == 50.0
        assert records[-1].unit_after_deduction == 40.0
        assert {r.product_type for r in records} == {"video"}
        pages = sim.stats.requests_by_endpoint["POST /account/billing/package"]
        assert pages == 3  # 2 + 2 + 1, following next_cursor
        only = await client.billing_package(filters={"product_type": ["image"]})
        assert only.records == [] and not only.has_more
        cash = await client.billing_balance()
        assert cash.records == []


async def test_an_empty_pack_answers_1102_and_a_top_up_reopens_it() -> None:
    async with Simulator(time_scale=0.002, balances={"image": 0}) as sim:
        async with KlingClient(**sim_kwargs(sim)) as client:
            with pytest.raises(InsufficientBalanceError):
                await client.run(ImageGeneration(prompt="cat"))
            assert sim.stats.total_creates == 0
        sim.top_up("image", 8)
        async with KlingClient(**sim_kwargs(sim)) as client:
            await client.run(ImageGeneration(prompt="cat"))
        assert sim.balances()["image"] == 0.0


def test_ledger_requests_are_checked_before_the_network() -> None:
    body = ledger_body("package", 1, 2, {"product_type": ["video", "image"]}, 100, None)
    assert body == {
        "limit": 100,
        "start_time": 1,
        "end_time": 2,
        "filters": [{"key": "product_type", "values": ["video", "image"]}],
    }
    assert ledger_body("package", None, None, None, 500, "c2") == {"limit": 500, "cursor": "c2"}
    with pytest.raises(ValueError, match="not a filter of the balance ledger"):
        ledger_body("balance", None, None, {"product_type": ["video"]}, 500, None)
    with pytest.raises(ValueError, match="cannot be used together"):
        ledger_body("package", None, None, {"package_name": ["a"], "package_id": ["b"]}, 5, None)
    with pytest.raises(ValueError, match="limit"):
        ledger_body("package", None, None, None, 501, None)
    with pytest.raises(ValueError, match="start_time"):
        ledger_body("package", 5, 1, None, 10, None)


async def test_the_simulate_command_takes_balances() -> None:
    proc, info = await start_simulator("--balance", "video=3,image=0", "--time-scale", "0.002")
    try:
        async with KlingClient(
            base_url=info["base_url"], access_key=ACCESS_KEY, secret_key=SECRET_KEY
        ) as client:
            remaining, _ = remaining_by_pack(await client.account_costs())
            assert remaining == {"video": 3.0, "image": 0.0, "try_on": 1000.0}
            with pytest.raises(InsufficientBalanceError):
                await client.run(ImageGeneration(prompt="cat"))
    finally:
        proc.terminate()
        await proc.wait()
