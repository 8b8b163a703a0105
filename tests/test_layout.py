"""The package's layout rules: one-way imports (no circles, function-level imports included) and
modules of a readable size.

Every module under ``src/linearlab`` is parsed with :mod:`ast` (nothing is imported). Each
``import linearlab.x`` / ``from .x import y`` anywhere in a module — at the top, inside a
function, a class or a ``try`` — is an edge of the graph of package-internal imports; only
``if TYPE_CHECKING:`` blocks, which never run, are left out. ``from ..exact import solvers``
is an edge to ``linearlab.exact.solvers``, and to the package ``linearlab.exact`` (its
``__init__``) only for the names that are not submodules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "linearlab"
#: A loose guard: the project aims at modules of about 400 lines.
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (packages by their ``__init__``)."""
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every import statement in ``tree`` except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.If) and _is_type_checking(node):
            children = list(node.orelse)
        stack.extend(children)


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name ``from <node.module>`` refers to inside ``module``."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _internal(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _targets(module: str, path: Path, node) -> set[str]:
    """The package modules one import statement loads (the edges it adds)."""
    targets = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if _internal(alias.name):
                targets.add(alias.name)
        return targets
    source = _resolve(module, path, node)
    if not _internal(source):
        return targets
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        targets.add(submodule if submodule in MODULES else source)
    return targets


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (at any level of its code)."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = set()
        for node in _import_nodes(tree):
            edges |= _targets(module, path, node)
        edges.discard(module)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(root: str) -> None:  # iterative, so deep graphs do not hit the recursion limit
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_the_checker_sees_function_level_and_relative_imports():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from . import errors\n"
        "from .exact import solvers, NAME\n"
        "if TYPE_CHECKING:\n"
        "    from .design import Design\n"
        "def f():\n"
        "    import linearlab.state.fitted\n"
        "    from .stats.metrics import r2_scores\n"
        "    import numpy\n"
    )
    path = SRC / PACKAGE / "persist.py"
    edges = set()
    for node in _import_nodes(tree):
        edges |= _targets("linearlab.persist", path, node)
    assert edges == {"linearlab.errors", "linearlab.exact.solvers", "linearlab.exact",
                     "linearlab.state.fitted", "linearlab.stats.metrics"}
    inside = SRC / PACKAGE / "exact" / "__init__.py"  # a package's own relative imports
    node = ast.parse("from .solvers import solve").body[0]
    assert _targets("linearlab.exact", inside, node) == {"linearlab.exact.solvers"}
    node = ast.parse("from .gram import Gram").body[0]
    assert _targets("linearlab.exact.solvers", SRC / PACKAGE / "exact" / "solvers.py",
                    node) == {"linearlab.exact.gram"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_covers_the_package():
    graph = import_graph()
    assert "linearlab.exact.solvers" in graph["linearlab.models.linear"] | graph["linearlab.exact"]
    assert "linearlab.stats.metrics" in graph["linearlab.pipeline.streaming"]
    assert all(_internal(target) for edges in graph.values() for target in edges)


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import circles (module-level or inside functions):\n" + "\n".join(
        " <-> ".join(component) for component in found)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it along a seam"


# --------------------------------------------------------------------------- packages
def _unit(module: str) -> str:
    """The top-level unit a module belongs to: ``linearlab.exact.gram`` -> ``linearlab.exact``;
    a flat module (``linearlab.errors``) is its own unit, the package itself is ``linearlab``."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _all_import_nodes(tree: ast.AST):
    """Every import statement, ``if TYPE_CHECKING:`` blocks included (a type-only import is
    still a dependency between packages)."""
    return (node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)))


def package_graph() -> dict[str, set[str]]:
    """Top-level unit -> the units it imports from, at any level of its code."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = graph.setdefault(_unit(module), set())
        for node in _all_import_nodes(tree):
            edges |= {_unit(target) for target in _targets(module, path, node)}
    for unit, edges in graph.items():
        edges.discard(unit)
        edges.discard(PACKAGE)  # ``from linearlab import x`` names a unit, seen as its target
    return graph


def private_imports() -> list[str]:
    """``from linearlab.a.b import _name`` or ``import linearlab.a._mod`` across units."""
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _all_import_nodes(tree):
            if isinstance(node, ast.Import):
                pairs = [(alias.name, alias.name) for alias in node.names]
            else:
                source = _resolve(module, path, node)
                pairs = [(f"{source}.{alias.name}", alias.name) for alias in node.names]
            for target, name in pairs:
                if (not _internal(target) or _unit(target) == _unit(module)
                        or module == PACKAGE):  # the package's own __init__
                    continue
                private = [part for part in target.split(".")[1:] if part.startswith("_")
                           and not part.startswith("__")]
                if private or (name.startswith("_") and not name.startswith("__")):
                    found.append(f"{module} imports {target}")
    return sorted(found)


def test_no_cycles_between_packages():
    found = cycles(package_graph())
    assert not found, "packages that import each other (type-only imports count):\n" + "\n".join(
        " <-> ".join(component) for component in found)


def test_no_private_names_across_packages():
    found = private_imports()
    assert not found, "private names used outside their package:\n" + "\n".join(found)


def test_few_modules_flat_at_the_top():
    flat = sorted(path.name for path in (SRC / PACKAGE).glob("*.py")
                  if path.name not in ("__init__.py", "__main__.py"))
    assert len(flat) <= 4, f"modules flat at the top of the package: {flat}"
