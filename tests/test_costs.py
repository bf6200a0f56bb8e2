"""The price table, estimates and the budget guard (library use), against documented prices
and the simulator's deductions."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from kling_async import (
    BudgetExceededError,
    CostPolicy,
    ImageGeneration,
    KlingClient,
    TextToVideo,
    UnpricedRequestError,
    UsageError,
)
from kling_async.cli import main
from kling_async.costs import Budget, BudgetGuard, PriceTable, pack_of_name, shortfalls
from kling_async.models import VideoEffects, VirtualTryOn
from kling_async.simulator import Faults, Simulator
from tests._batchkit import sim_kwargs
from tests.conftest import ACCESS_KEY, SECRET_KEY

TABLE = PriceTable.default()

# (family, params, units, pack): figures worked out by hand from kling_api_2026.md C6
# (units per second) and kling_api.md section 12 (per clip / per image).
DOCUMENTED = [
    ("text2video", {"model_name": "kling-v3", "duration": "5"}, 3.0, "video"),
    ("text2video", {"model_name": "kling-v3", "sound": "on", "duration": "10"}, 9.0, "video"),
    ("text2video", {"model_name": "kling-v3", "mode": "pro", "duration": "5"}, 4.0, "video"),
    ("image2video", {"model_name": "kling-v3", "mode": "pro", "sound": "on"}, 6.0, "video"),
    ("text2video", {"model_name": "kling-v3", "mode": "4k", "duration": "5"}, 15.0, "video"),
    ("text2video", {"model_name": "kling-v2-6", "mode": "std", "duration": "10"}, 3.0, "video"),
    (
        "text2video",
        {"model_name": "kling-v2-6", "mode": "pro", "sound": "on", "voice_list": [{"v": 1}]},
        6.0,
        "video",
    ),
    ("text2video", {"model_name": "kling-v2-5-turbo", "duration": "10"}, 3.0, "video"),
    ("image2video", {"model_name": "kling-v2-1", "mode": "pro", "duration": "10"}, 7.0, "video"),
    ("text2video", {"model_name": "kling-v2-1-master", "duration": "10"}, 20.0, "video"),
    ("text2video", {}, 1.0, "video"),  # default kling-v1, std, 5 s: 1 unit per clip
    ("text2video", {"mode": "pro", "duration": "10"}, 7.0, "video"),
    ("multi_elements", {"mode": "pro", "duration": "5"}, 5.0, "video"),
    ("omni_video", {"mode": "std", "video_list": [{"u": 1}]}, 4.5, "video"),
    (
        "omni_video",
        {"model_name": "kling-v3-omni", "mode": "pro", "sound": "on", "duration": "10"},
        10.0,
        "video",
    ),
    ("image_generation", {"model_name": "kling-v1-5", "image": "x", "n": 2}, 16.0, "image"),
    ("image_generation", {"model_name": "kling-v2"}, 4.0, "image"),
    ("omni_image", {"model_name": "kling-v3-omni", "resolution": "4k", "n": 3}, 48.0, "image"),
    ("multi_image2image", {"n": 2}, 32.0, "image"),
    ("image_expand", {}, 8.0, "image"),
    ("ai_multi_shot", {}, 20.0, "image"),
    ("text_to_audio", {}, 0.25, "video"),
    ("custom_voices", {}, 0.05, "video"),
]


@pytest.mark.parametrize(("family", "params", "units", "pack"), DOCUMENTED)
def test_estimates_match_the_documented_prices(
    family: str, params: dict[str, Any], units: float, pack: str
) -> None:
    est = TABLE.estimate(family, params)
    assert (est.units, est.pack) == (pytest.approx(units), pack), est.basis
    assert est.source and est.basis  # every figure says what it rests on


def test_what_the_table_cannot_price_is_no_estimate_with_the_reason() -> None:
    motion = TABLE.estimate("motion_control", {"model_name": "kling-v3"})
    assert motion.units is None and "per second of output" in motion.basis
    tryon = TABLE.estimate("virtual_try_on", {})
    assert tryon.units is None and tryon.pack == "try_on" and "no price" in tryon.basis
    assert TABLE.estimate("effects", {}).units is None
    odd = TABLE.estimate("text2video", {"model_name": "kling-v9-future"})
    assert odd.units is None and "kling-v9-future" in odd.basis
    assert TABLE.estimate("no_such_family", {}).units is None


def test_sources_are_dated_and_uncertain_prices_say_so() -> None:
    doc = TABLE.estimate("text2video", {"model_name": "kling-v3"})
    assert "2026-09-20" in doc.source and not doc.uncertain
    third_party = TABLE.estimate("text2video", {"model_name": "kling-v1-6"})
    assert third_party.uncertain and "UNCERTAIN" in third_party.source
    series = TABLE.estimate("omni_image", {"result_type": "series", "series_amount": "auto"})
    assert series.units == 72.0 and series.uncertain and "up to 9" in series.basis


def test_user_entries_extend_and_win(tmp_path: Path) -> None:
    mine = [
        {"families": ["virtual_try_on"], "per": "task", "units": 1, "pack": "try_on"},
        {
            "families": ["text2video"],
            "model": "kling-v3",
            "per": "second",
            "units": 0.5,
            "pack": "video",
            "source": "our contract",
            "date": "2026-11-01",
        },
    ]
    table = TABLE.extended(mine)
    assert table.estimate("virtual_try_on", {}).units == 1.0
    own = table.estimate("text2video", {"model_name": "kling-v3", "mode": "pro"})
    assert own.units == 2.5 and "our contract" in own.source
    assert table.estimate("text2video", {"model_name": "kling-v2-6"}).units == 1.5  # built-in
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"entries": mine}))
    assert PriceTable.load(path).estimate("virtual_try_on", {}).units == 1.0
    again = PriceTable.default().extended(table.user_data())  # what a journal keeps
    assert again.estimate("virtual_try_on", {}).units == 1.0


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"families": ["nope"], "per": "task", "units": 1, "pack": "video"}, "'nope'"),
        ({"families": ["effects"], "per": "minute", "units": 1, "pack": "video"}, "per must"),
        ({"families": ["effects"], "per": "task", "units": -1, "pack": "video"}, "units"),
        ({"families": ["effects"], "per": "task", "units": 1, "pack": "gold"}, "pack"),
        (
            {"families": ["effects"], "per": "task", "units": 1, "pack": "video", "x": 1},
            "field(s) x",
        ),
        (
            {
                "families": ["effects"],
                "per": "task",
                "units": 1,
                "pack": "video",
                "when": {"colour": "red"},
            },
            "when",
        ),
    ],
)
def test_a_malformed_user_entry_is_refused_naming_the_field(
    entry: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match="entry 1") as info:
        TABLE.extended([entry])
    assert named in str(info.value)


def test_budget_parsing() -> None:
    assert Budget.parse("100") == Budget(total=100.0)
    assert Budget.parse("video=50,image=200").packs == {"video": 50.0, "image": 200.0}
    assert Budget.parse("try-on=3").packs == {"try_on": 3.0}
    for bad in ("", "video=abc", "gold=5", "video", "-5"):
        with pytest.raises(ValueError, match="budget"):
            Budget.parse(bad)
    assert Budget.parse("video=5").exceeded_by({"video": 6, "image": 900}) == [
        "video: 6 > budget 5"
    ]
    assert Budget(total=10).exceeded_by({"video": 6, "image": 5}) == ["total: 11 > budget 10"]


def test_pack_names_and_shortfalls() -> None:
    assert pack_of_name("Trial-Video-100Units-5Con-1Months") == "video"
    assert pack_of_name("Trial-Image-1000Units-9Con-1Months") == "image"
    assert pack_of_name("Kolors-Try-On-50") == "try_on"
    assert pack_of_name("Mystery pack") is None
    assert shortfalls({"video": 12, "image": 8}, {"video": 10, "image": 100}) == [
        "video: about 12 units needed, 10 remaining"
    ]


def test_client_estimates_without_sending_anything() -> None:
    client = KlingClient(
        access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url="http://127.0.0.1:9"
    )
    one = client.estimate(TextToVideo(prompt="fox", model_name="kling-v3", duration="10"))
    assert one.units == 6.0 and one.pack == "video"
    many = client.estimate_all(
        [
            TextToVideo(prompt="a"),
            ImageGeneration(prompt="b", n=3),
            VideoEffects.model_validate(
                {
                    "effect_scene": "bloombloom",
                    "input": {"image": "https://e.com/a.png", "duration": "5"},
                }
            ),
        ]
    )
    assert many.by_pack == {"video": 1.0, "image": 24.0}  # never added across packs
    assert len(many.missing) == 1 and "effects" in many.to_text()


async def test_the_guard_never_creates_over_the_budget() -> None:
    async with Simulator(time_scale=0.002, live_shapes=False) as sim:
        async with KlingClient(**sim_kwargs(sim), costs=CostPolicy(budget="video=3")) as client:
            handles = [client.submit(TextToVideo(prompt=f"p{i}")) for i in range(5)]
            outcomes = []
            for handle in handles:
                try:
                    outcomes.append((await handle).final_unit_deduction)
                except BudgetExceededError as exc:
                    outcomes.append(type(exc).__name__)
                    assert exc.pack == "video" and exc.limit == 3
            assert outcomes.count("BudgetExceededError") == 2
            assert sim.stats.total_creates == 3  # ground truth: never more than fits
            snap = client.budget.snapshot() if client.budget else {}
            assert snap["spent"] == {"video": 3.0} and snap["committed"] == {}
            assert snap["left"] == {"video": 0.0} and snap["refused"] == 2
        assert sum(r["deduction_amount"] for r in sim.ledger()) == 3.0


async def test_failed_tasks_cost_nothing_and_free_their_budget() -> None:
    faults = Faults(risky_words=("forbidden",))
    budget = Budget(packs={"video": 1})
    async with (
        Simulator(time_scale=0.002, live_shapes=False, faults=faults) as sim,
        KlingClient(**sim_kwargs(sim), costs=CostPolicy(budget=budget)) as client,
    ):
        with pytest.raises(Exception, match="failed"):
            await client.run(TextToVideo(prompt="forbidden fox"))
        assert client.budget is not None and client.budget.spent == {"video": 0.0}
        task = await client.run(TextToVideo(prompt="allowed fox"))
        assert task.final_unit_deduction == "1"


async def test_refusals_before_the_network() -> None:
    async with Simulator(time_scale=0.002) as sim:
        async with KlingClient(
            **sim_kwargs(sim), costs=CostPolicy(budget="video=5,try_on=1")
        ) as client:
            with pytest.raises(UnpricedRequestError, match="virtual_try_on"):
                client.submit(
                    VirtualTryOn(
                        human_image="https://e.com/a.png", cloth_image="https://e.com/b.png"
                    )
                )
            with pytest.raises(BudgetExceededError, match="needs 15"):  # can never fit
                client.submit(
                    TextToVideo(prompt="x", model_name="kling-v3", mode="4k", duration="5")
                )
            # a pack the budget does not name is not limited
            await client.run(ImageGeneration(prompt="cat"))
        assert sim.stats.total_creates == 1


def test_a_guard_counts_what_a_resume_already_spent() -> None:
    guard = BudgetGuard(Budget(packs={"video": 5}))
    guard.add_spent("video", 3)
    guard.hold("ext-running", "video", 1)
    request = TextToVideo(prompt="x")
    guard.plan("a", guard.estimate(request))
    assert guard.reserve("a", "a") is None
    guard.plan("b", guard.estimate(request))
    over = guard.reserve("b", "job b")
    assert isinstance(over, BudgetExceededError) and "5 of the 5" in str(over)


BAD_PRICES = {
    "NaN units": (
        '[{"families": ["text2video"], "per": "second", "units": NaN, "pack": "video"}]',
        "entry 1: units must be a finite number >= 0, got nan",
    ),
    "infinite units": (
        '[{"families": ["text2video"], "per": "second", "units": 1e999, "pack": "video"}]',
        "entry 1: units must be a finite number >= 0, got inf",
    ),
    "-Infinity": (
        '[{"families": ["text2video"], "per": "task", "units": -Infinity, "pack": "video"}]',
        "units must be a finite number",
    ),
    "negative units": (
        '[{"families": ["text2video"], "per": "task", "units": -1, "pack": "video"}]',
        "entry 1: units must be a finite number >= 0",
    ),
    "text units": (
        '[{"families": ["text2video"], "per": "task", "units": "2", "pack": "video"}]',
        "entry 1: units must be a finite number",
    ),
    "one object": (
        '{"families": ["text2video"], "per": "task", "units": 2, "pack": "video"}',
        "one entry on its own; put it in a list",
    ),
    "another object": ('{"prices": []}', "expected a list of price entries or an object"),
    "a number": ("3", "expected a list of price entries, got int"),
    "empty": ("", "empty; expected a JSON list of price entries"),
    "blank": ("  \n", "empty"),
    "deep": ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    "deep inside an entry": (
        '[{"families": ["text2video"], "per": "task", "units": 1, "pack": "video", "when": '
        + '{"mode": '
        + "[" * 500
        + "]" * 500
        + "}}]",
        "when's values must be text",
    ),
    "not JSON": ("[{", "not JSON"),
}


@pytest.mark.parametrize("case", BAD_PRICES)
def test_a_bad_prices_file_is_one_line_naming_the_file(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = BAD_PRICES[case]
    prices = tmp_path / "prices.json"
    prices.write_text(text)
    with pytest.raises(UsageError) as info:
        PriceTable.load(prices)
    assert str(prices) in str(info.value) and expected in str(info.value)
    assert "\n" not in str(info.value)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"id": "a", "family": "text2video", "params": {"prompt": "x"}}\n')
    assert main(["batch", "estimate", str(jobs), "--prices", str(prices)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(prices) in err and expected in err
    assert "Traceback" not in err


def test_a_prices_directory_or_undecodable_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"id": "a", "family": "text2video", "params": {"prompt": "x"}}\n')
    binary = tmp_path / "prices.bin"
    binary.write_bytes(b"\xff\xfe\x00[garbage\x80")
    cases = {tmp_path: "is a directory", binary: "not UTF-8 text", tmp_path / "nope": "No such"}
    for path, expected in cases.items():
        assert main(["batch", "estimate", str(jobs), "--prices", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert str(path) in err and expected in err


def test_prices_given_as_data_are_checked_the_same_way() -> None:
    entry = {"families": ["text2video"], "per": "task", "pack": "video"}
    for units in (math.nan, math.inf, -math.inf, -0.5):
        with pytest.raises(UsageError, match="prices entry 1: units must be a finite number"):
            PriceTable.of([{**entry, "units": units}])
    with pytest.raises(UsageError, match="one entry on its own"):
        PriceTable.of({**entry, "units": 1})
