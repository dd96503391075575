"""The simulator's modules import each other in one direction: no import circle inside simulate/.

The graph is read from the source with :mod:`ast` (every ``import`` statement, at module level or
inside a function), so a circle hidden behind a function-level import is found too.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import soleus_analysis

PACKAGE = Path(soleus_analysis.__file__).resolve().parent
SIMULATE = "soleus_analysis.simulate"


def _module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    """Dotted name of a module file below ``root`` (the folder holding the top package)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, known: set[str], root: Path = PACKAGE.parent) -> set[str]:
    """Absolute names of the modules in ``known`` that the file imports."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            # ``from pkg import name``: name may be a submodule
            targets = [mod, *(f"{mod}.{alias.name}" for alias in node.names)]
        else:
            continue
        out.update(t for t in targets if t in known)
    out.discard(name)
    return out


def _graph(folder: Path, root: Path = PACKAGE.parent) -> dict[str, set[str]]:
    """Module -> the modules of ``folder`` it imports."""
    files = sorted(folder.rglob("*.py"))
    known = {_module_name(f, root) for f in files}
    return {_module_name(f, root): _imported(f, known, root) for f in files}


@pytest.mark.parametrize("package", ["simulate", "validation"])
def test_import_graph_is_acyclic(package):
    graph = _graph(PACKAGE / package)
    assert f"soleus_analysis.{package}" in graph and len(graph) > 3
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError


def test_simulate_modules_import_in_one_order():
    graph = _graph(PACKAGE / "simulate")
    assert SIMULATE in graph and f"{SIMULATE}.constants" in graph
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError
    assert order.index(f"{SIMULATE}.constants") < order.index(f"{SIMULATE}.protocols")
    assert order.index(f"{SIMULATE}.protocols") < order.index(f"{SIMULATE}.study")


def test_constants_import_nothing_and_calibration_is_imported_by_no_module():
    graph = _graph(PACKAGE / "simulate")
    assert graph[f"{SIMULATE}.constants"] == set()
    calibrate = f"{SIMULATE}.calibrate"
    assert calibrate in graph
    assert [m for m, deps in graph.items() if calibrate in deps] == []
    for module in ("protocols", "study"):
        assert f"{SIMULATE}.constants" in graph[f"{SIMULATE}.{module}"]


def test_graph_reader_finds_a_circle(tmp_path):
    # the check itself: a circle through a function-level import is seen
    pkg = tmp_path / "soleus_analysis" / "fake"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import x\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\n")
    graph = _graph(pkg, tmp_path)
    assert graph["soleus_analysis.fake.a"] == {"soleus_analysis.fake.b"}
    # ``from . import a`` runs the package's __init__ too
    assert graph["soleus_analysis.fake.b"] == {"soleus_analysis.fake", "soleus_analysis.fake.a"}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        pass
    else:
        raise AssertionError("the circle a -> b -> a was not found")


def test_only_the_simulator_imports_the_calibrated_effect():
    # the analysis recovers the SPU effect blind: no module outside simulate/ imports its size
    hidden = {f"{SIMULATE}.constants", f"{SIMULATE}.calibrate"}
    files = sorted(PACKAGE.rglob("*.py"))
    known = {_module_name(f) for f in files}
    offenders = {
        _module_name(f): sorted(_imported(f, known) & hidden)
        for f in files
        if "simulate" not in f.relative_to(PACKAGE).parts
    }
    assert {m: d for m, d in offenders.items() if d} == {}
