"""One rule for text from outside, per medium, applied where the medium is written:
task ids, messages and deductions with escape codes, line breaks and HTML reach the
terminal report, the log lines and the page escaped; deductions that are not numbers
("N/A", "NaN", "") show as unknown and are never summed. Checked structurally too:
no ``print`` under ``cli/`` but the one writer, every package logger carries the
log rule."""

from __future__ import annotations

import ast
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kling_async._logging import LOGGER_NAMES
from kling_async._text import for_html, for_log, for_terminal, read_units
from kling_async.batch import Journal, build_report, run_batch
from kling_async.cli import main
from kling_async.costs import actual_units
from kling_async.simulator import Simulator
from tests._batchkit import sim_kwargs, video_jobs, write_jobs
from tests.test_results_page import _browser

PACKAGE = Path(__file__).resolve().parent.parent / "kling_async"
HOSTILE_ID = "t-\x1b]0;pwned\x07\x1b[31m<script>alert(1)</script>"
HOSTILE_REASON = "bad\r\nkling-async: every job succeeded\x1b[2J\u202e"


def test_the_rule_per_medium() -> None:
    assert for_terminal("a\x1b[31mb\x07c\r\nd\u202e") == "a\\x1b[31mb\\x07c\\x0d\\x0ad\\u202e"
    assert for_terminal("\U0001f98a ok") == "\U0001f98a ok"
    assert for_log("x\x1by") == "x\\x1by"
    assert for_html('<a href="x">\x1b') == "&lt;a href=&quot;x&quot;&gt;\\x1b"
    assert for_terminal(for_terminal(HOSTILE_ID)) == for_terminal(HOSTILE_ID)  # idempotent


@pytest.mark.parametrize(
    ("value", "units"),
    [
        ("2.4", 2.4),
        (3, 3.0),
        ("N/A", None),
        ("NaN", None),
        ("", None),
        (None, None),
        ("inf", None),
        ("-1", None),
        (True, None),
        ([], None),
    ],
)
def test_numbers_from_kling_are_read_leniently(value: Any, units: float | None) -> None:
    assert read_units(value) == units
    assert actual_units({"final_unit_deduction": value}) == units


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished batch whose journal then holds what a hostile server could answer."""
    import asyncio

    folder = tmp_path_factory.mktemp("hostile")
    out = folder / "out"
    jobs = write_jobs(folder / "jobs.jsonl", video_jobs(3))

    async def go() -> None:
        async with Simulator(time_scale=0.002, live_shapes=False) as sim:
            await run_batch(jobs, out, **sim_kwargs(sim))

    asyncio.run(go())
    with sqlite3.connect(out / "journal.sqlite") as db:
        rows = {"v0": "N/A", "v1": "NaN", "v2": "2"}
        for job_id, units in rows.items():
            task = {"task_id": HOSTILE_ID, "task_status": "succeed", "final_unit_deduction": units}
            db.execute(
                "UPDATE jobs SET task_id = ?, units = ?, task = ?, reason = ? WHERE job_id = ?",
                (HOSTILE_ID, units, json.dumps(task), HOSTILE_REASON, job_id),
            )
    return out


def test_the_terminal_report_escapes_and_reads_deductions_leniently(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["batch", "report", str(hostile), "--jobs"]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "\u202e" not in text
    assert "\\x1b]0;pwned\\x07" in text
    assert not any(line.startswith("kling-async:") for line in text.splitlines())
    assert "unknown" in text and "nan" not in text.lower().replace("\\x", "")
    journal = Journal.open(hostile, create=False, read_only=True)
    try:
        report = build_report(journal, per_job=True)
    finally:
        journal.close()
    assert report.units == 2.0  # "N/A" and "NaN" are unknown, never summed
    assert report.deducted == {"video": 2.0}


def test_the_page_escapes_everything_from_outside(hostile: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    assert main(["batch", "report", str(hostile), "--html"]) == 0
    page = (hostile / "report.html").read_text()
    assert "<script>alert(1)</script>" not in page and "\x1b" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    driver = _browser()
    try:
        driver.get((hostile / "report.html").as_uri())
        assert len(driver.find_elements(By.TAG_NAME, "script")) == 1  # the page's own
        assert driver.title.startswith("kling-async")
        cards = driver.find_elements(By.CSS_SELECTOR, ".job")
        text = " ".join(card.text for card in cards)
        assert "<script>alert(1)</script>" in text  # shown as text, not run
        assert "deducted unknown" in text and "deducted 2" in text
    finally:
        driver.quit()


def test_log_lines_escape_what_kling_answered(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kling_async")
    for name in LOGGER_NAMES:
        logging.getLogger(name).warning("task %s: %s", HOSTILE_ID, HOSTILE_REASON)
    assert len(caplog.records) == len(LOGGER_NAMES)
    for record in caplog.records:
        line = record.getMessage()
        assert "\x1b" not in line and "\r" not in line and "\n" not in line, line


def _calls(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def test_the_command_prints_only_through_its_one_writer() -> None:
    printing = {
        f"{path.name}:{line}"
        for path in (PACKAGE / "cli").glob("*.py")
        if path.name != "_output.py"
        for line in _calls(path, "print")
    }
    assert printing == set()


def test_every_package_logger_is_one_the_rule_covers() -> None:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "getLogger"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    assert names and names <= set(LOGGER_NAMES) | {"kling_async"}, names - set(LOGGER_NAMES)
    for name in LOGGER_NAMES:
        assert logging.getLogger(name).filters, name
