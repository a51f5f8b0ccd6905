"""The layout a contributor relies on (issue 17): no import circle anywhere in ``fomo_order`` (lazy imports
inside functions included; ``TYPE_CHECKING`` imports, which never run, and the implicit import of a parent
package left out), no function body over 80 lines outside the numba/Triton kernel modules, and the
similarity search's entry module small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "fomo_order"
BODY_LIMIT = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def is_kernel_module(name: str) -> bool:
    return name.rpartition(".")[2].endswith(("_numba", "_triton"))


def imported_modules(name: str, tree: ast.Module) -> set[str]:
    """The package's modules that ``name`` imports anywhere, resolved to the deepest module that exists."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    type_checking = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                     and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}

    def deepest(dotted: str) -> str | None:
        while dotted and dotted not in MODULES:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [f"{base}.{alias.name}" for alias in node.names]
            if any(target not in MODULES for target in targets):
                targets.append(base)  # a name defined in the module itself, not a submodule
        else:
            continue
        found.update(t for t in (deepest(t) for t in targets if t.startswith("fomo_order")) if t and t != name)
    return found


def import_circles() -> list[list[str]]:
    graph = {
        name: imported_modules(name, ast.parse(path.read_text(encoding="utf-8"))) for name, path in MODULES.items()
    }
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        trail.append(name)
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                circles.append([*trail[trail.index(other):], other])
            elif other not in state:
                visit(other)
        trail.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return circles


def test_no_import_circle_anywhere() -> None:
    assert import_circles() == []


def test_no_function_body_over_80_lines_outside_the_kernels() -> None:
    long = []
    for name, path in MODULES.items():
        if is_kernel_module(name):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                    body = body[1:]  # the docstring is not the body
                lines = node.end_lineno - body[0].lineno + 1 if body else 0
                if lines > BODY_LIMIT:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert long == []


def test_the_similarity_entry_module_stays_small() -> None:
    assert len((PACKAGE / "similarity" / "search.py").read_text(encoding="utf-8").splitlines()) <= 350


def test_the_import_check_sees_module_level_and_lazy_imports_but_not_type_checking_ones() -> None:
    tree_a = ast.parse("from fomo_order.catalog import Catalog\n")
    assert "fomo_order.catalog" in imported_modules("fomo_order.split", tree_a)
    lazy = ast.parse("def f():\n    from fomo_order.split import cut\n")
    assert "fomo_order.split" in imported_modules("fomo_order.catalog", lazy)
    hidden = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fomo_order.split import cut\n")
    assert imported_modules("fomo_order.catalog", hidden) == set()
