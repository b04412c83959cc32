"""No two modules of sibkit import each other, directly or round a longer loop: read from the source with
``ast``, lazy imports inside functions included, imports for type checking alone (under ``TYPE_CHECKING``)
left out, and ``from sibkit.pkg import module`` taken as importing that module, not the package."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path, root: Path = SRC) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside |= {id(child) for statement in node.body for child in ast.walk(statement)}
    return inside


def imported(path: Path, modules: set[str], root: Path = SRC) -> set[str]:
    """The sibkit modules ``path`` (under ``root``) imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            submodules = {f"{source}.{alias.name}" for alias in node.names} & modules
            names_not_modules = [alias for alias in node.names if f"{source}.{alias.name}" not in modules]
            found |= submodules
            if names_not_modules:
                found.add(source)
    return {module for module in found if module in modules and module != name}


def graph() -> dict[str, set[str]]:
    paths = sorted(SRC.joinpath("sibkit").rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported(path, modules) for path in paths}


def test_the_reader_of_the_graph_sees_lazy_imports_and_leaves_type_only_ones_out(tmp_path: Path) -> None:
    modules = {"sibkit.a", "sibkit.b", "sibkit.c", "sibkit.pkg", "sibkit.pkg.sub"}
    (tmp_path / "sibkit").mkdir()
    source = tmp_path / "sibkit" / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sibkit.a import A\n"
                      "def f():\n    from sibkit.b import thing\n    import sibkit.c\n"
                      "from sibkit.pkg import sub\n", encoding="utf-8")
    assert imported(source, modules, tmp_path) == {"sibkit.b", "sibkit.c", "sibkit.pkg.sub"}


def test_no_two_sibkit_modules_import_each_other() -> None:
    edges = graph()
    assert len(edges) > 150 and "sibkit.coding.cli" in edges["sibkit.secondreader.cli"]

    def loop_from(start: str) -> list[str] | None:
        """A path of imports from ``start`` back to it, if there is one (depth first)."""
        stack, seen = [(start, [start])], set()
        while stack:
            name, path = stack.pop()
            for target in sorted(edges.get(name, ())):
                if target == start:
                    return [*path, start]
                if target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
        return None

    loops = {name: path for name in edges if (path := loop_from(name)) is not None}
    assert loops == {}  # e.g. coding.cli -> secondreader.cli -> coding.cli, before the reader's evaluation moved
