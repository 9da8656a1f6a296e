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


# ---------------------------------------------------------------- the gate judges, the lake acts

# What expectations/ may call in ingest.lake: functions that only read the lake (``ledger_entries``
# heals a dead compaction first, inside the lake's own read protocol). Anything else a gate needs
# is a verdict for the acting step (orchestration/ingest_steps.py) to carry out through the lake.
LAKE_READERS = {"stem", "raw_relation", "has_raw", "ledger_entries", "all_ledger_rows", "segment_of",
                "manifests", "loaded_stems", "read_verdict", "verdict_path", "table_glob", "table_dir", "per_file",
                "table_names", "lake_tables", "rejected_dir"}
MOVES = {("os", "remove"), ("os", "unlink"), ("os", "replace"), ("os", "rename"), ("os", "renames"),
         ("os", "rmdir"), ("os", "removedirs"), ("shutil", "move"), ("shutil", "rmtree"), ("atomic", "commit")}
PATH_MOVES = {"unlink", "rmdir", "rename"}  # and Path.replace(target): one argument, unlike str.replace
# GX's own housekeeping, never the lake: prune_results deletes validation results and their pages
# older than 30 days under $QUANYU_HOME/gx/uncommitted (expectations/gx_runner.py).
ALLOWED = {("expectations/gx_runner.py", "prune_results")}


def _lake_names(tree: ast.AST) -> tuple[set[str], dict[str, str]]:
    """Names bound to the ingest.lake module, and names imported from it (local name -> lake name)."""
    modules: set[str] = set()
    functions: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "ingest":
            modules |= {a.asname or a.name for a in node.names if a.name == "lake"}
        elif isinstance(node, ast.ImportFrom) and node.module == "ingest.lake":
            functions.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == "ingest.lake" and a.asname}
    return modules, functions


def _enclosing_functions(tree: ast.AST) -> dict[int, str]:
    """id(node) -> name of the function it is in."""
    owner = {}
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                owner.setdefault(id(node), func.name)
    return owner


def lake_actions(root: Path = REPO_ROOT) -> list[str]:
    """``file:line what`` for every call in expectations/ that acts on files: a lake function
    that is not a reader, a move or deletion (os, shutil, Path), or the atomic commit."""
    found = []
    for path in sorted((root / "expectations").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules, functions = _lake_names(tree)
        owner = _enclosing_functions(tree)
        for node in ast.walk(tree):
            if (relative, owner.get(id(node))) in ALLOWED:
                continue
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in modules and node.attr not in LAKE_READERS:
                    found.append(f"{relative}:{node.lineno} lake.{node.attr}")
            if isinstance(node, ast.Name) and node.id in functions and functions[node.id] not in LAKE_READERS:
                found.append(f"{relative}:{node.lineno} lake.{functions[node.id]}")
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            attr, target = node.func.attr, node.func.value
            if isinstance(target, ast.Name) and (target.id, attr) in MOVES:
                found.append(f"{relative}:{node.lineno} {target.id}.{attr}")
            elif attr in PATH_MOVES or (attr == "replace" and len(node.args) == 1):
                found.append(f"{relative}:{node.lineno} .{attr}()")
    return sorted(set(found))


def test_expectations_never_move_or_delete_lake_files():
    """The gate judges, the lake acts: nothing under expectations/ calls a mutating function of
    ingest.lake (loosen, reject, compact_table, record_verdict ...) or moves or deletes a file."""
    assert lake_actions() == []


def test_the_walk_finds_a_gate_that_acts_on_the_lake(tmp_path):
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "x.py").write_text(
        "import os, shutil\nfrom ingest import lake\nfrom ingest.lake import loosen as free, stem\n"
        "def f(paths, p):\n    lake.reject(paths, 't', 's', {})\n    free(paths, 't', [])\n"
        "    lake.ledger_entries(paths, 't')\n    stem('a')\n    os.remove(p)\n    shutil.move(p, p)\n"
        "    p.unlink()\n    p.replace(p)\n    'a|b'.replace('|', '/')\n"
        "def prune_results(p):\n    shutil.rmtree(p)\n")
    assert lake_actions(tmp_path) == sorted([
        "expectations/x.py:5 lake.reject", "expectations/x.py:6 lake.loosen", "expectations/x.py:9 os.remove",
        "expectations/x.py:10 shutil.move", "expectations/x.py:11 .unlink()", "expectations/x.py:12 .replace()",
        "expectations/x.py:15 shutil.rmtree"])  # a function named prune_results elsewhere than gx_runner
