"""The ganforge modules import each other without cycles.

Every import of a ganforge module counts, at module level or inside a function (a lazy import
only hides a cycle until that function runs). `from ganforge.x import y` is an import of the
module ganforge.x.y when y is one, else of ganforge.x. The implicit import of a module's parent
packages (importing ganforge.a.b runs ganforge/a/__init__.py) is not an edge."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ganforge"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path, modules: set[str]) -> set[str]:
    """The ganforge modules that module `name` (file `path`) imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in modules else source)
    return {module for module in found if module in modules}


def import_graph() -> dict[str, set[str]]:
    """module -> the other ganforge modules it imports."""
    paths = package_modules()
    return {name: imported_modules(name, path, set(paths)) - {name} for name, path in paths.items()}


def strongly_connected_components(graph: dict[str, set[str]]) -> list[set[str]]:
    """The components of more than one module, where every module imports every other one
    through a chain of imports (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def cycle_within(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, first module repeated at the end."""
    start = min(component)
    previous = {start: start}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & component):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1] + [start]
                if target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def describe(graph: dict[str, set[str]], components: list[set[str]]) -> str:
    """One line per component: a cycle through it, then any other modules it holds."""
    lines = []
    for component in components:
        cycle = cycle_within(graph, component)
        others = sorted(component - set(cycle))
        lines.append(" -> ".join(cycle) + (f"  (with {', '.join(others)})" if others else ""))
    return "\n".join(lines)


def test_graph_sees_lazy_relative_and_submodule_imports():
    graph = import_graph()
    assert "ganforge.metrics.features" in graph["ganforge.metrics.evaluation"]  # from .features
    assert "ganforge.theory.divergences" in graph["ganforge.theory.game"]
    assert "ganforge.run" in graph["ganforge.eval.run"]  # inside fid_between
    assert "ganforge.eval" not in graph["ganforge.eval.run"]  # the parent package


def test_cycle_finder_reports_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"c"}, "e": {"a"}}
    components = strongly_connected_components(graph)
    assert components == [{"a", "b", "c", "d"}]
    assert describe(graph, components) == "a -> b -> c -> a  (with d)"
    assert strongly_connected_components({"a": {"b"}, "b": set()}) == []


def test_package_has_no_import_cycles():
    graph = import_graph()
    components = strongly_connected_components(graph)
    assert not components, "import cycles:\n" + describe(graph, components)
