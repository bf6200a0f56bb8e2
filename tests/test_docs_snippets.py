"""Every code block of the README and of ``docs/`` runs as written.

The README's set-up block runs first, in a copy of the repository's files, and creates
the venv every later block uses (``pip install`` lines in the pages install extras into
it, from the package registry). A simulator started as ``kling-async simulate`` stands
in for Kling: its printed ``export`` lines are the blocks' environment, as they would be
for a reader who ran it. Each page runs in order in a fresh copy of the repository
(the README in the copy its set-up block used). See ``tests/_snippets.py`` for the
languages and the ``<!-- snippet: ... -->`` directives.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from kling_async.endpoints import REQUEST_MODELS
from tests._redis import free_port, require_redis
from tests._snippets import DATA, RUN, Block, blocks, page_blocks

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]
ACCESS_KEY = "docs-access-key-0123456789abcdef"
SECRET_KEY = "docs-secret-key-0123456789abcdef-0123456789"
WEBHOOK_SECRET = "whsec_ZG9jcy13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5"
SKIP_ALLOWED = {
    ("README.md", "scripts/test"): "the test suite itself (this test is part of it)",
    ("docs/getting-started.md", "python3 -m venv .venv"): "the README's set-up block, run first",
}
"""Blocks that may say ``skip``: (page, start of the block) -> why."""
BLOCK_TIMEOUT = 300.0


def families_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_families", ROOT / "scripts/docs_families.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def page_text(page: str) -> str:
    """The page as the docs site shows it (the families page is generated)."""
    text = (ROOT / page).read_text()
    if page == "docs/families.md":
        text = families_module().on_page_markdown(text)
    return text


def tracked_files() -> list[str]:
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    names = [n for n in done.stdout.decode().split("\0") if n]
    return [n for n in names if (ROOT / n).is_file()]


def copy_repository(target: Path) -> Path:
    """The repository's files (tracked or not ignored) copied to ``target``."""
    for name in tracked_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    return target


def clean_environ() -> dict[str, str]:
    """The test process's environment without its venv, Kling settings or PYTHONPATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KLING_", "PYTEST", "VIRTUAL_ENV", "PYTHON"))
    }
    prefix = str(Path(sys.prefix).resolve())
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and not p.startswith(prefix)
    )
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited ({proc.returncode}) before port {port} opened")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: port {port} never opened")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


@dataclass
class Workspace:
    base: Path
    env: dict[str, str]
    placeholders: dict[str, str]

    @property
    def python(self) -> str:
        return str(self.base / ".venv" / "bin" / "python")


@pytest.fixture(scope="session")
def simulator() -> Iterator[dict[str, str]]:
    """``kling-async simulate`` as a reader starts it; its exports."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "kling_async", "simulate", "--port", "0", "--json"),
            *("--time-scale", "0.001", "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY),
            *("--webhook-secret", WEBHOOK_SECRET),
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    proc.stdout.close()
    try:
        yield {**info["env"], "KLING_WEBHOOK_SECRET": WEBHOOK_SECRET}
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_redis()
    port = free_port()
    proc = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_port(port, proc, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def workspace(
    tmp_path_factory: pytest.TempPathFactory, simulator: dict[str, str], redis_url: str
) -> Workspace:
    """A copy of the repository where the README's set-up block has run."""
    base = copy_repository(tmp_path_factory.mktemp("workspace"))
    setup = [b for b in page_blocks(ROOT, "README.md") if "setup" in b.options]
    assert len(setup) == 1, "the README needs exactly one <!-- snippet: setup --> block"
    env = clean_environ()
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", setup[0].code],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT * 2,
    )
    assert done.returncode == 0, f"README set-up block failed:\n{done.stdout}\n{done.stderr}"
    venv = base / ".venv"
    env.update(simulator)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    placeholders = {
        "your-access-key": simulator["KLING_ACCESS_KEY"],
        "your-secret-key": simulator["KLING_SECRET_KEY"],
        "redis://redis.internal:6379/0": redis_url,
    }
    return Workspace(base, env, placeholders)


def run_block(block: Block, cwd: Path, ws: Workspace) -> subprocess.Popen[bytes] | None:
    """Run one block (a background block returns its process)."""
    code = block.code
    for placeholder, value in ws.placeholders.items():
        code = code.replace(placeholder, value)
    env = dict(ws.env)
    if "quick" in block.options:
        env["KLING_BENCH_QUICK"] = "1"
    tag = f"_snippet_{Path(block.page).stem}_{block.line}"
    if block.lang == "python":
        (cwd / f"{tag}.py").write_text(code)
        command = [ws.python, f"{tag}.py"]
    elif block.lang == "pycon":
        (cwd / f"{tag}.txt").write_text(code)
        flags = ["-o", "ELLIPSIS", "-o", "IGNORE_EXCEPTION_DETAIL", "-o", "NORMALIZE_WHITESPACE"]
        command = [ws.python, "-m", "doctest", *flags, f"{tag}.txt"]
    else:
        command = ["bash", "-e", "-o", "pipefail", "-c", code]
    if "background" in block.options:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, start_new_session=True
        )
        wait_port(int(block.options["background"]), proc, block.where)
        return proc
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{block.where} failed ({done.returncode}):\n{code}\n{output}"
    expected = block.options.get("expect")
    if expected:
        assert expected in output, f"{block.where}: {expected!r} not in the output:\n{output}"
    return None


def check_language(block: Block) -> None:
    assert block.lang in RUN | DATA, (
        f"{block.where}: a code block needs a language: one of {sorted(RUN)} (run by the "
        f"docs test) or {sorted(DATA)} (not run)"
    )
    if "skip" in block.options:
        key = next(
            (k for k in SKIP_ALLOWED if k[0] == block.page and block.code.startswith(k[1])), None
        )
        assert key is not None, f"{block.where}: only the allow-listed blocks may skip"


@pytest.mark.parametrize("page", PAGES)
def test_every_block_has_a_known_language(page: str) -> None:
    """Fast check: every fence says what it is; skips are only the allowed ones."""
    for block in blocks(page, page_text(page)):
        check_language(block)


@pytest.mark.parametrize("page", PAGES)
def test_every_block_of_the_page_runs(
    page: str, workspace: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if page == "README.md":
        cwd = workspace.base
    else:
        cwd = copy_repository(tmp_path_factory.mktemp(Path(page).stem))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for block in blocks(page, page_text(page)):
            check_language(block)
            if "file" in block.options:
                target = cwd / block.options["file"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.code)
                continue
            if block.lang in DATA or "skip" in block.options or "setup" in block.options:
                continue
            began = time.monotonic()
            server = run_block(block, cwd, workspace)
            print(f"{block.where}: {time.monotonic() - began:.1f} s")
            if server is not None:
                servers.append(server)
    finally:
        for server in servers:
            stop(server)


def test_the_families_page_has_a_running_example_for_every_request_model() -> None:
    """One example per request model; the README names every one of them."""
    module = families_module()
    methods = module.methods()
    assert {model.__name__ for _, model in methods} == {
        cls.__name__ for cls in REQUEST_MODELS.values()
    }
    assert set(module.EXAMPLES) == {name for name, _ in methods}
    rendered = page_text("docs/families.md")
    readme = (ROOT / "README.md").read_text()
    for name, model in methods:
        assert f"## {model.__name__}" in rendered and f"client.{name}(" in rendered
        assert f"`{model.__name__}`" in readme, f"the README does not mention {model.__name__}"
