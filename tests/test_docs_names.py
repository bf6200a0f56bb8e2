"""Every code name the architecture and scheduler pages mention exists.

A page that names ``core.on_1303`` when no such method exists sends a newcomer
looking for nothing. Checked in ``docs/architecture.md`` and ``docs/scheduler.md``:
file names (``scheduling/_record.py``), test ids (``test_x.py::test_y``, and
``::test_y`` after a file), and code names (``CamelCase``, ``snake_case``,
``Dotted.names``, ``calls()``): each part must be defined somewhere in the package.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kling_async"
PAGES = ["docs/architecture.md", "docs/scheduler.md"]
EXTERNAL = {"aiohttp", "anyio", "asyncio", "pydantic", "jwt", "redis", "sqlite3"}
IDENT = re.compile(r"^[A-Za-z_]\w*(?:\(\))?(?:\.[A-Za-z_]\w*(?:\(\))?)*$")


def _defined_names() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        names.add(path.stem)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
                if not isinstance(node, ast.ClassDef):
                    args = node.args
                    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                        names.add(arg.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[-1])
    return names


def _spans(page: str) -> list[str]:
    text = (ROOT / page).read_text()
    blocks = re.findall(r"```.*?```", text, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = re.findall(r"`([^`\n]+)`", text)
    # In the drawings, dotted names and calls are names ("core.push", "_settle(record)").
    # Python blocks are not drawings: the snippet test runs them, which checks their names.
    for block in blocks:
        if block.startswith(("```python", "```pycon")):
            continue
        spans += re.findall(r"(?<![\w/.-])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?![\w/-])", block)
        spans += [f"{name}()" for name in re.findall(r"\b(_?[a-z]+_[a-z_]+)\(", block)]
    return spans


def _is_code_name(span: str) -> bool:
    if not IDENT.match(span):
        return False
    bare = span.replace("()", "")
    # a lone lowercase word is prose or a state value ("queued"), not a name to check
    return "." in bare or "_" in bare or bare[0].isupper() or span.endswith("()")


@pytest.mark.parametrize("page", PAGES)
def test_every_file_test_and_code_name_on_the_page_exists(page: str) -> None:
    names = _defined_names()
    files = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    missing: list[str] = []
    last_test_file: str | None = None
    for span in _spans(page):
        for part in span.split(", "):
            part = part.strip()
            test_ref = re.match(r"^(test_\w+\.py)?::(test_\w+)(\*)?", part)
            if test_ref:
                file = test_ref.group(1) or last_test_file
                last_test_file = file
                source = (ROOT / "tests" / str(file)).read_text() if file else ""
                end = "" if test_ref.group(3) else "("
                if f"def {test_ref.group(2)}{end}" not in source:
                    missing.append(part)
                continue
            if part.endswith(".md"):
                continue  # other documents
            if part.endswith(".py"):
                if part.startswith("test_"):
                    last_test_file = part
                if not any(f == part or f.endswith("/" + part) for f in files):
                    missing.append(part)
                continue
            if _is_code_name(part):
                pieces = part.replace("()", "").split(".")
                if pieces[0] in EXTERNAL or hasattr(builtins, pieces[0]):
                    continue
                for piece in pieces:
                    if piece not in names and piece != "kling_async":
                        missing.append(part)
                        break
    assert missing == [], f"{page} names what does not exist: {missing}"


def test_the_checker_catches_a_name_that_does_not_exist() -> None:
    names = _defined_names()
    assert "on_concurrency_refused" in names and "on_1303" not in names
    assert _is_code_name("core.on_1303") and not _is_code_name("queued")
