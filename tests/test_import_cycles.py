"""No import cycles in the package, and layers that point one way (type-only and
function-level imports included).

Every ``import`` / ``from ... import`` anywhere in a module (``if TYPE_CHECKING:``
blocks and function bodies too) is an edge; ``from a.b import c`` points at the
module ``a.b.c`` when it exists, else at ``a.b``. A strongly connected component
of more than one module (or a module importing itself) is a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kling_async

ROOT = Path(kling_async.__file__).parent
PACKAGE = "kling_async"


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")
                    base = base if is_package else base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [
                    f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                    for alias in node.names
                ]
            for target in targets:
                # "import a.b.c" depends on a.b.c: take the longest known prefix.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith(PACKAGE) and target:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one member (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycles() -> None:
    modules = _modules()
    assert len(modules) > 40  # the walk found the package
    graph = _edges(modules)
    assert "kling_async.scheduling._record" in graph["kling_async._handle"]
    assert _cycles(graph) == []


def test_the_checker_finds_a_type_only_cycle() -> None:
    """The detector itself: a TYPE_CHECKING back-edge is a cycle."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x.y\n")
    assert any(isinstance(n, ast.Import) for n in ast.walk(tree))


LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("text", ("kling_async._text",)),  # the one rule for text and numbers from outside
    ("answers", ("kling_async.models._task",)),  # the task and answer shapes: plain data
    (
        "foundation",
        (
            "kling_async.errors",
            "kling_async._config",
            "kling_async._logging",
            "kling_async._clock",
            "kling_async._files",
        ),
    ),
    ("models", ("kling_async.models",)),
    ("wire", ("kling_async.wire",)),
    ("family table", ("kling_async.endpoints",)),
    ("costs", ("kling_async.costs",)),
    ("tracking", ("kling_async.tracking",)),
    ("scheduling", ("kling_async.scheduling",)),
    (
        "face",
        (
            "kling_async._client",
            "kling_async._handle",
            "kling_async._conveniences",
            "kling_async._family_methods",
            "kling_async._callbacks",
            "kling_async.integrations",
        ),
    ),
    ("simulator", ("kling_async.simulator",)),
    ("batch", ("kling_async.batch",)),
    (
        "entry points",
        (
            "kling_async",
            "kling_async.testing",
            "kling_async.cli",
            "kling_async.__main__",
            "kling_async.simulator.__main__",
        ),
    ),
]
"""The layers bottom up: a module may import its own layer and the ones below it.
The response models sit lowest (errors carry the task that failed); the request models
and the wire know nothing of the family table, the scheduler or the face."""


def _layer(module: str) -> int:
    """The layer of ``module`` (the longest matching prefix wins)."""
    best, depth = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    return best


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{source} ({LAYERS[_layer(source)][0]}) -> {target} ({LAYERS[_layer(target)][0]})"
        for source, targets in graph.items()
        for target in targets
        if _layer(target) > _layer(source)
    )


def test_every_module_has_a_layer() -> None:
    """A new module is placed in a layer on purpose (or this test says where it is not)."""
    assert [name for name in _modules() if _layer(name) < 0] == []


def test_layers_point_one_way() -> None:
    """No module imports a higher layer: the wire and the models know nothing above
    them, the tracker does not know the scheduler, the scheduler not the face."""
    assert _upward(_edges(_modules())) == []


def test_the_layer_check_finds_an_upward_import() -> None:
    """The checker itself: the tracker importing the scheduler's record is reported."""
    graph = {"kling_async.tracking._tracker": {"kling_async.scheduling._record"}}
    assert _upward(graph) == [
        "kling_async.tracking._tracker (tracking) -> kling_async.scheduling._record (scheduling)"
    ]
