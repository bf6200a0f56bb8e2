"""A closed error tree: every exception kling_async raises derives from ``KlingError``.

Two walks over the whole package. The first imports every module and checks every
exception class it defines. The second reads every ``raise`` statement: what it
raises must be a ``KlingError`` (a class, or a function annotated to return one), a
name bound inside the function (a re-raise of something caught), or one of the few
protocol exceptions Python and the libraries define for that purpose (``SystemExit``
in the command line, cancellation, aiohttp's HTTP answers in server routes...).
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web

import kling_async
from kling_async import KlingError

ROOT = Path(kling_async.__file__).parent

PROTOCOL = (
    SystemExit,  # the command line's exit status
    KeyboardInterrupt,  # re-raised after an orderly stop
    asyncio.CancelledError,  # cancellation passes through
    StopIteration,
    StopAsyncIteration,
    KeyError,  # a Mapping's missing key (the family table's live views)
    NotImplementedError,  # abstract methods
    web.HTTPException,  # an aiohttp route's answer (the simulator, the callback route)
)
"""Exceptions that are part of a protocol, not a failure kling_async reports."""

PROTOCOL_NAMES = {"argparse.ArgumentTypeError"}
"""argparse turns it into a usage message and exit status 2."""


def _modules() -> Iterator[ModuleType]:
    yield kling_async
    for info in pkgutil.walk_packages([str(ROOT)], prefix="kling_async."):
        if info.name.endswith("__main__"):
            continue
        yield importlib.import_module(info.name)


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in _modules():
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("kling_async")
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_exception_class_of_the_package_derives_from_kling_error() -> None:
    """Each exception class defined anywhere in the package is a KlingError
    (warnings are not raised: they are emitted through ``warnings``)."""
    classes = _exception_classes()
    assert len(classes) > 40  # the walk found the package's exceptions
    outside = sorted(
        name
        for name, cls in classes.items()
        if not issubclass(cls, KlingError) and not issubclass(cls, Warning)
    )
    assert outside == []


def _bound_locally(function: ast.AST) -> set[str]:
    """Names bound inside ``function``: arguments, assignments, ``except ... as``."""
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _raises(module: ModuleType) -> Iterator[tuple[int, ast.expr, set[str]]]:
    """Every ``raise X`` in ``module`` with the names bound in its function."""
    if module.__file__ is None:
        return
    tree = ast.parse(Path(module.__file__).read_text())

    def visit(node: ast.AST, local: set[str]) -> Iterator[tuple[int, ast.expr, set[str]]]:
        for child in ast.iter_child_nodes(node):
            inner = local
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                inner = local | _bound_locally(child)
            if isinstance(child, ast.Raise) and child.exc is not None:
                yield child.lineno, child.exc, inner
            yield from visit(child, inner)

    yield from visit(tree, set())


def _verdict(module: ModuleType, exc: ast.expr, local: set[str]) -> str | None:
    """None when the raise is allowed, else what it raises."""
    target = exc.func if isinstance(exc, ast.Call) else exc
    dotted = ast.unparse(target)
    head = dotted.split(".")[0]
    if head in local or head in {"self", "cls"}:
        return None  # a re-raise of an error caught or built in this function
    if dotted in PROTOCOL_NAMES:
        return None
    first, *rest = dotted.split(".")
    value: object = vars(module).get(first, getattr(builtins, first, None))
    for part in rest:
        value = getattr(value, part, None)
    if value is None:
        return f"{dotted} (unresolved)"
    if inspect.isclass(value):
        if issubclass(value, KlingError) or issubclass(value, PROTOCOL):
            return None
        return dotted
    if callable(value):  # a function that builds the error: its annotation says what
        hints = typing.get_type_hints(value)
        returned = hints.get("return")
        if inspect.isclass(returned) and issubclass(returned, KlingError):
            return None
        return f"{dotted}() returning {returned!r}"
    return dotted


def test_every_raise_in_the_package_raises_a_kling_error() -> None:
    """No ``raise ValueError(...)`` (or any exception outside the tree) anywhere."""
    offenders: list[str] = []
    seen = 0
    for module in _modules():
        for line, exc, local in _raises(module):
            seen += 1
            verdict = _verdict(module, exc, local)
            if verdict is not None:
                offenders.append(f"{module.__name__}:{line}: {verdict}")
    assert seen > 300  # the walk read the package
    assert offenders == []


def test_the_raise_walk_catches_a_builtin_error() -> None:
    """The checker itself: a plain ValueError is an offender, a UsageError is not."""
    module = ModuleType("kling_async._probe")
    module.__dict__["UsageError"] = kling_async.UsageError
    tree = ast.parse(
        "def f(x):\n    raise ValueError('no')\n\ndef g():\n    raise UsageError('ok')\n"
    )
    raises = [node for node in ast.walk(tree) if isinstance(node, ast.Raise)]
    assert raises[0].exc is not None and raises[1].exc is not None
    assert _verdict(module, raises[0].exc, {"x"}) == "ValueError"
    assert _verdict(module, raises[1].exc, set()) is None


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (kling_async.UsageError("x"), ValueError),
        (kling_async.UsageError("x"), TypeError),
        (kling_async.CapacityError("x"), ValueError),
        (kling_async.MissingCredentialsError("x"), ValueError),
        (kling_async.MissingExtraError("x"), ImportError),
        (kling_async.TaskPendingError("x"), asyncio.InvalidStateError),
        (kling_async.InternalError("x"), RuntimeError),
        (kling_async.TaskTimeoutError("x"), TimeoutError),
    ],
)
def test_familiar_failures_are_still_their_builtin(error: KlingError, builtin: type) -> None:
    """``except ValueError`` (and the like) written before the tree was closed still works."""
    assert isinstance(error, KlingError) and isinstance(error, builtin)
