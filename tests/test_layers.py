"""The code's shape, checked: core never imports Qt, its layers import only downwards, no function runs over
60 lines, no error is swallowed. Reads the source; runs in a second."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simgui

pytestmark = pytest.mark.unit
PACKAGE = Path(simgui.__file__).parent
CORE = PACKAGE / "core"
# bottom up: a module may import its own layer's and those below (media and storage know nothing of each other)
LAYERS = {"storage": 0, "media": 0, "matching": 1, "files": 2, "indexing": 3, "core": 4}
MAX_FUNCTION_LINES = 60


def _sources(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_core_never_imports_qt():
    found = [f"{path.relative_to(PACKAGE)}: {name}" for path, tree in _sources(CORE)
             for name in _imports(tree) if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "simgui.gui")]
    assert found == []


def test_each_layer_of_core_imports_only_its_own_and_those_below():
    upward = []
    for path, tree in _sources(CORE):
        layer = path.parent.name
        for name in _imports(tree):
            parts = name.split(".")
            if parts[:2] != ["simgui", "core"] or len(parts) < 3:
                continue
            target = parts[2] if parts[2] in LAYERS else "core"
            if target != layer and (LAYERS[target] > LAYERS[layer] or {layer, target} == {"storage", "media"}):
                upward.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert upward == []


def test_no_function_is_longer_than_60_lines_and_no_error_is_passed_over():
    long, swallowed = [], []
    for path, tree in _sources(PACKAGE):
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({lines} lines)")
            if isinstance(node, ast.ExceptHandler) and all(isinstance(s, ast.Pass) for s in node.body):
                swallowed.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert long == [] and swallowed == []
