"""The import graph of archcalc: no cycle between modules, arrows running one way between the stages, and every
module importable on its own in a fresh interpreter.

The graph is read statically (ast) from every import statement of every module, at any depth: an import inside a
function runs when the function does, so a lazy import cannot hide a cycle (imports under ``if TYPE_CHECKING:``
never run and are left out). Importing ``a.b.c`` first runs the
packages ``a`` and ``a.b``: those count as arrows too, except to the importer's own packages (which are already
running; a package that imports its children is the usual shape, not a cycle).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "archcalc"

# The stages, in order: each is a folder of the package, and a module imports only from its own stage or an
# earlier one. The CLI, the package itself ("", which re-exports the API) and export/ (code generation from a
# walk) come last.
STAGES = (
    "core",  # what every stage may use: errors, exact numbers and symbols, expressions, declarations, escaping
    "layers",  # the formulas
    "read",  # reading a spec: YAML, validation, the node tree, blocks, custom layers, the network
    "count",  # conventions: rules over a step of the walk, which the walk applies (they never import the engine)
    "walk",  # the engine, its trace, receptive fields, the report
    "analyses",  # memory, roofline, sweeps and solving, comparison of conventions
    "outputs",  # text formats, the HTML report, plots, writing files
    "export",  # code generated from the trace
    "importers",  # specs written from models that exist elsewhere (a Hugging Face config.json)
)


def _modules() -> dict[str, Path]:
    """Dotted name (without ``archcalc.``; the package itself is "") -> file, for every module."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _parents(name: str) -> list[str]:
    """The packages importing ``name`` runs first: "" and every prefix."""
    parts = name.split(".") if name else []
    return [".".join(parts[:i]) for i in range(len(parts))]


def _statements(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` at any depth, except the bodies of ``if TYPE_CHECKING:``: those imports never run
    (annotations only), so they are no arrow."""
    found: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    # The layer registry imports its modules by name when a type is looked up (importlib), an arrow ast cannot see.
    dynamic = {"layers": {m for m in modules if m.startswith("layers.")}}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set(dynamic.get(name, ()))
        for node in _statements(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name.removeprefix("archcalc").lstrip(".") for a in node.names
                            if a.name == "archcalc" or a.name.startswith("archcalc.")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".") if package else []
                    base = base[:len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                elif node.module == "archcalc" or (node.module or "").startswith("archcalc."):
                    source = node.module.removeprefix("archcalc").lstrip(".")
                else:
                    continue
                for alias in node.names:  # from pkg import module: that module; from module import name: it
                    child = f"{source}.{alias.name}" if source else alias.name
                    targets.add(child if child in modules else source)
        own = set(_parents(name))
        for target in list(targets):
            targets |= set(_parents(target)) - own
        edges[name] = {t for t in targets if t != name and t not in own}
        unknown = edges[name] - set(modules)
        assert not unknown, f"{name} imports {unknown}, which are not archcalc modules"
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
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
    return sorted(found)


def _stage(module: str) -> int:
    """Its folder's place in STAGES; the entry points (the package, __main__, cli) after every stage."""
    folder = module.partition(".")[0]
    if folder in ("", "__main__", "cli"):
        return len(STAGES)
    assert folder in STAGES, f"archcalc.{module} is in no stage folder: move it into one of {', '.join(STAGES)}"
    return STAGES.index(folder)


def backward_arrows(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, targets in edges.items() for b in targets if _stage(b) > _stage(a)}


def test_the_graph_sees_lazy_and_package_imports() -> None:
    edges = _graph()
    assert "read.keras" in edges["read.graph"]  # from . import keras, inside a function
    assert "layers" in edges["count.convention"]  # from ..layers import attention runs layers/__init__ first
    assert "core" in edges["count.convention"]  # and from ..core.errors runs core/__init__
    assert "core.version" in edges["cli"] and "" not in edges["cli"]  # the version, not the package
    assert backward_arrows({"core.num": {"walk.report"}, "walk.report": {"core.num"}}) == {("core.num", "walk.report")}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the search finds one


def test_no_new_import_cycle() -> None:
    edges = _graph()
    cycles = _cycles(edges)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_arrows_run_one_way_between_stages() -> None:
    """Between folders, arrows run from a later stage to an earlier one only."""
    edges = _graph()
    for module in edges:
        _stage(module)
    wrong = backward_arrows(edges)
    assert not wrong, "imports of a later stage: " + ", ".join(f"{a or 'archcalc'} -> {b}" for a, b in sorted(wrong))


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    """One new interpreter per module (a few at a time): a module that works only when another was imported
    first fails here. About 0.1 s of work per module."""
    names = [n for n in _modules() if n != "__main__"]  # __main__ runs the CLI
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def run(name: str) -> subprocess.CompletedProcess[str]:
        module = f"archcalc.{name}" if name else "archcalc"
        return subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = dict(zip(names, pool.map(run, names)))
    failed = {name or "archcalc": r.stderr.strip().splitlines()[-1:] for name, r in runs.items() if r.returncode}
    assert not failed, f"modules that do not import on their own: {failed}"
