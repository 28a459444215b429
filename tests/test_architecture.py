"""The layers meet through the front door: no private reaches into a registry, and no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "volreg"

# The registry itself: the modules whose classes make up :class:`volreg.Registry` (and may use its private
# names among themselves). Everything else reaches a registry through its public methods and its session.
REGISTRY_MODULES = {
    "volreg.registry", "volreg.base", "volreg.session", "volreg.people", "volreg.directory", "volreg.activities",
    "volreg.service", "volreg.nominating", "volreg.reviews", "volreg.honours", "volreg.titles",
}


# The service-record import still calls the ledger's rules by their private names, until those rules are
# plain functions that log_service and the import share; nothing may be added here.
KNOWN_REACHES = {("volreg.io.service_kind", "._service_fields"), ("volreg.io.service_kind", "._service_row"),
                 ("volreg.io.service_kind", "._overlap")}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _own_private_names(tree: ast.Module) -> set[str]:
    """Private names a module defines itself (its functions, classes, attributes it assigns)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if n.startswith("_")}


def _private_reaches(name: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    own = _own_private_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        if not attr.startswith("_") or (attr.startswith("__") and attr.endswith("__")) or attr in own:
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append(f"{name}:{node.lineno}: .{attr}")
    return found


def test_no_module_outside_the_registry_reaches_into_private_members() -> None:
    """Queries, import/export, checks, the command line and the store use only public names of the objects
    they are given (``registry._store``, ``x._row`` ... would tie them to the registry's insides)."""
    reaches = []
    for name, path in _modules().items():
        if name not in REGISTRY_MODULES:
            reaches += [r for r in _private_reaches(name, path)
                        if (name, r.rpartition(": ")[2]) not in KNOWN_REACHES]
    assert [] == reaches


def test_the_architecture_test_finds_a_private_reach(tmp_path: Path) -> None:
    """The check above does catch ``registry._store`` (a test that cannot fail is no test)."""
    source = tmp_path / "layer.py"
    source.write_text("def total(registry):\n    return registry._store.scalar('SELECT 1')\n")
    assert ["layer:2: ._store"] == _private_reaches("layer", source)


def _imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The volreg modules ``name`` imports at run time (anywhere but under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    targets = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets.add(module)
            targets.update(f"{module}.{alias.name}" for alias in node.names)
    # A module's own parent packages are imported before it by Python's rule: not a dependency.
    ancestors = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
    return {t for t in targets if t in modules and t != name and t not in ancestors}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle in ``graph`` (module -> modules it imports), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    names = set(modules)
    # The top-level package only re-exports the public API; a module that imports ``volreg`` itself is
    # already refused by the private-reach rules of review, and following it would make every module a cycle.
    return {name: _imports(name, path, names) - {"volreg"} for name, path in modules.items()}


def test_the_package_has_no_import_cycles() -> None:
    """No volreg module imports (at module level or inside a function) a module that imports it back."""
    assert [] == _cycle(_graph())


def test_the_cycle_check_finds_a_cycle() -> None:
    """The check above does report a cycle."""
    assert ["a", "b", "c", "a"] == _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
