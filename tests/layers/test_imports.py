"""Imports go one way, like the data: ingest -> expectations -> orchestration.

``ingest/`` imports neither ``expectations`` nor ``orchestration``; ``expectations/`` does not
import ``orchestration``. Every import counts, also one inside a function (a lazy import is
still an upward edge).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ingest.settings import REPO_ROOT

LAYERS = ["ingest", "expectations", "orchestration"]  # each may import only those before it


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every import in ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def upward_imports(root: Path = REPO_ROOT) -> list[str]:
    """``file:line imports package`` for every import of a later layer from an earlier one."""
    edges = []
    for rank, layer in enumerate(LAYERS):
        above = set(LAYERS[rank + 1:])
        for path in sorted((root / layer).rglob("*.py")):
            for package, line in sorted(imported_packages(path)):
                if package in above:
                    edges.append(f"{path.relative_to(root)}:{line} imports {package}")
    return edges


def test_no_layer_imports_a_layer_above_it():
    assert upward_imports() == []


def test_the_walk_finds_an_upward_import_in_a_function(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "ingest" / "x.py").write_text("def f():\n    from orchestration.definitions import defs\n")
    (tmp_path / "expectations" / "y.py").write_text("import ingest.lake\nimport orchestration\n")
    assert upward_imports(tmp_path) == ["ingest/x.py:2 imports orchestration",
                                        "expectations/y.py:2 imports orchestration"]


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_has_python_files(layer):
    assert list((REPO_ROOT / layer).rglob("*.py"))
