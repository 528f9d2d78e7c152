"""The package's shape (issue "One room per responsibility"): the import graph of ``lifeseeker`` is acyclic, layers
point one way (nothing under ``engine/`` or ``ingest/`` imports ``webui/``; nothing under ``engine/`` imports
``ingest/``), and no module is over 500 lines.

Every ``import``/``from … import`` of a ``lifeseeker`` module counts, at module level or inside a function (a lazy
import is still a dependency); only imports under ``if TYPE_CHECKING:`` are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lifeseeker"
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The ``lifeseeker`` modules that ``path`` imports (resolved to a module of the package)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str) -> str | None:
        while target and target not in modules:  # `from pkg.mod import func` -> pkg.mod
            target = target.rpartition(".")[0]
        return target or None

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("lifeseeker"):
                        found.add(resolve(alias.name))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    stem = ".".join(base + ([child.module] if child.module else []))
                else:
                    stem = child.module or ""
                if not stem.startswith("lifeseeker"):
                    continue
                for alias in child.names:  # `from . import mod` names a module, `from .mod import f` a member
                    full = f"{stem}.{alias.name}"
                    found.add(full if full in modules else resolve(stem))
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    found.discard(None)
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    files = sorted(PKG.rglob("*.py"))
    modules = {_module_name(p) for p in files}
    return {_module_name(p): _imports(p, modules) for p in files}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None. Iterative DFS with colours."""
    colour = dict.fromkeys(graph, 0)  # 0 unseen, 1 on the stack, 2 done
    for root in graph:
        if colour[root]:
            continue
        stack = [(root, iter(sorted(graph[root])))]
        path = [root]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour.get(nxt) == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def test_the_checker_sees_a_circle_and_relative_imports():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    graph = _graph()
    assert "lifeseeker.engine.filters" in graph["lifeseeker.engine.search"]  # `from .filters import ...`


def test_the_import_graph_has_no_circle():
    assert _cycle(_graph()) is None


@pytest.mark.parametrize("lower, upper", [("lifeseeker.engine", "lifeseeker.webui"),
                                          ("lifeseeker.ingest", "lifeseeker.webui"),
                                          ("lifeseeker.engine", "lifeseeker.ingest"),
                                          ("lifeseeker.engine", "lifeseeker.cli")])
def test_layers_point_one_way(lower, upper):
    bad = sorted(f"{mod} -> {dep}" for mod, deps in _graph().items() if mod.startswith(lower)
                 for dep in deps if dep == upper or dep.startswith(upper + "."))
    assert bad == []


def test_no_module_is_over_500_lines():
    long = sorted(f"{p.relative_to(PKG.parent)}: {n}" for p in PKG.rglob("*.py")
                  if (n := len(p.read_text().splitlines())) > MAX_LINES)
    assert long == []
