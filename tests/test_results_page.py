"""The results page in a real browser: Debian's Chromium, headless, driven by selenium.

A batch of videos, images, audio and a forced failure runs on the simulator; its
``report.html`` is opened straight from disk (``file://``). Checked: no console
errors, every image decoded (``naturalWidth > 0``), every video's and audio's metadata
loaded, the filters change what is shown. The screenshot lands in ``tmp_path`` (and
in ``docs/assets/report.png`` with ``KLING_SCREENSHOT=1``, for the README).

Skipped where Chromium or chromedriver is missing, except in CI: ``.ci/run`` installs
them and sets ``KLING_REQUIRE_BROWSER=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from kling_async.batch import run_batch
from kling_async.simulator import Faults, Simulator
from tests._batchkit import sim_kwargs, write_jobs

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

JOBS: list[dict[str, Any]] = [
    {"id": "fox", "family": "text2video", "params": {"prompt": "a red fox in snow"}},
    {
        "id": "lighthouse",
        "family": "text2video",
        "params": {"prompt": "a lighthouse in a storm", "mode": "pro", "duration": "10"},
    },
    {"id": "posters", "family": "image_generation", "params": {"prompt": "alps poster", "n": 2}},
    {"id": "mug", "family": "image_generation", "params": {"prompt": "a ceramic mug"}},
    {
        "id": "rain",
        "family": "text_to_audio",
        "params": {"prompt": "rain on a tin roof", "duration": 5},
    },
    {"id": "broken", "family": "text2video", "params": {"prompt": "this one fails"}},
]


def _browser() -> Any:
    if CHROMIUM is None or DRIVER is None:
        if os.environ.get("KLING_REQUIRE_BROWSER"):
            pytest.fail("Chromium and chromedriver are required (KLING_REQUIRE_BROWSER is set)")
        pytest.skip(
            "chromium / chromedriver not installed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(flag)
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    folder = tmp_path_factory.mktemp("page") / "out"
    jobs = write_jobs(folder.parent / "jobs.jsonl", JOBS)

    async def go() -> None:
        faults = Faults(risky_words=("fails",))
        async with Simulator(time_scale=0.002, seed=3, faults=faults, live_shapes=False) as sim:
            await run_batch(jobs, folder, **sim_kwargs(sim))

    asyncio.run(go())
    return folder


def test_the_page_is_self_contained(out: Path) -> None:
    page = (out / "report.html").read_text()
    assert "http://" not in page and "https://" not in page  # nothing fetched from a network
    assert "<script src" not in page and '<link rel="stylesheet"' not in page
    for row in JOBS:
        assert f"<h3>{row['id']}</h3>" in page


def test_the_page_works_in_a_real_browser(out: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    driver = _browser()
    try:
        driver.get((out / "report.html").as_uri())
        images = driver.find_elements(By.TAG_NAME, "img")
        videos = driver.find_elements(By.TAG_NAME, "video")
        audios = driver.find_elements(By.TAG_NAME, "audio")
        assert len(images) == 3 and len(videos) == 2 and audios  # every file is shown

        def loaded(d: Any) -> bool:
            return bool(
                d.execute_script(
                    "return [...document.images].every(i => i.complete) &&"
                    " [...document.querySelectorAll('video,audio')]"
                    ".every(m => m.readyState >= 1 || m.error)"
                )
            )

        WebDriverWait(driver, 30).until(loaded)
        widths = driver.execute_script("return [...document.images].map(i => i.naturalWidth)")
        assert all(w > 0 for w in widths), widths
        media = driver.execute_script(
            "return [...document.querySelectorAll('video,audio')].map(m =>"
            " [m.tagName, m.readyState, m.error && m.error.code, m.duration])"
        )
        for tag, ready, error, duration in media:
            assert error is None and ready >= 1 and duration > 0, (tag, ready, error, duration)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []

        cards = driver.find_elements(By.CSS_SELECTOR, ".job")
        assert len(cards) == len(JOBS)

        def visible() -> list[str]:
            return [
                c.find_element(By.TAG_NAME, "h3").text
                for c in driver.find_elements(By.CSS_SELECTOR, ".job")
                if c.is_displayed()
            ]

        Select(driver.find_element(By.ID, "state-filter")).select_by_value("failed")
        assert visible() == ["broken"]
        assert driver.find_element(By.ID, "shown").text == "1 shown"
        Select(driver.find_element(By.ID, "state-filter")).select_by_value("all")
        Select(driver.find_element(By.ID, "family-filter")).select_by_value("image_generation")
        assert visible() == ["posters", "mug"]
        Select(driver.find_element(By.ID, "family-filter")).select_by_value("all")
        assert len(visible()) == len(JOBS)

        assert driver.find_elements(By.CSS_SELECTOR, "svg polyline")  # the slot timeline
        shot = tmp_path / "report.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("KLING_SCREENSHOT"):
            target = ROOT / "docs" / "assets" / "report.png"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, target)
    finally:
        driver.quit()
