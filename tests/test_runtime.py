"""synthfer.runtime: the one home of device choice, CPU threads and worker processes, and the import
graph it untangled (issue 12 item 11).

The circles were lazy imports inside functions, invisible to a ``sys.modules`` check at run time, so
the graph is read from the source with ``ast``: every import of a synthfer module, top-level or inside
a function (``if TYPE_CHECKING:`` blocks excepted — they never run).
"""

from __future__ import annotations

import ast
import operator
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "synthfer"

DOC = REPO / "docs" / "development.md"


def _layers() -> list[tuple[str, list[str]]]:
    """The layers of docs/development.md ("Where things live"), lowest first: ``[(name, [package, …]), …]``."""
    text = DOC.read_text()
    block = text.split("<!-- layers: lowest first; read by tests/test_runtime.py -->", 1)[1]
    block = block.split("<!-- end layers -->", 1)[0]
    lines = [line.split() for line in block.splitlines() if line.strip() and not line.startswith("```")]
    return [(words[0], words[1:]) for words in lines]


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _import_graph() -> dict[str, set[str]]:
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}:{node.lineno}: relative import"
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                target = resolve(name) if name.split(".")[0] == "synthfer" else None
                if target and target != mod:
                    graph[mod].add(target)
    return graph


def _circles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: set[frozenset[str]] = set()
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.add(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    out.add(frozenset(comp))
    return out


def test_circle_finder_finds_a_lazy_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}
    assert _circles({"a": {"b"}, "b": set()}) == set()


def test_no_import_circles():
    assert _circles(_import_graph()) == set()


def _home(module: str, layers) -> tuple[int, str]:
    """``(layer index, package)`` of ``module``: its longest listed prefix."""
    best = None
    for i, (_, packages) in enumerate(layers):
        for pkg in packages:
            if (module == pkg or module.startswith(pkg + ".")) and (best is None or len(pkg) > len(best[1])):
                best = (i, pkg)
    assert best is not None, f"{module} is in no layer of docs/development.md: add it there"
    return best


def test_imports_go_down_the_layers():
    """No import from a lower layer into a higher one, none between two packages of one layer (the core
    modules excepted: they are one package of helpers), and every module in a layer — the layers as written
    in docs/development.md, with no exceptions list."""
    layers = _layers()
    assert [name for name, _ in layers][0] == "core" and len(layers) >= 3
    core = set(layers[0][1])
    wrong = []
    for mod, targets in _import_graph().items():
        level, pkg = _home(mod, layers)
        for target in sorted(targets):
            t_level, t_pkg = _home(target, layers)
            if t_pkg == pkg or (pkg in core and t_pkg in core):
                continue
            if t_level >= level:
                wrong.append(f"{mod} ({layers[level][0]}) imports {target} ({layers[t_level][0]})")
    assert wrong == [], "imports against the layers of docs/development.md:\n" + "\n".join(wrong)


def test_layer_checker_catches_an_upward_import(monkeypatch):
    import test_runtime as me

    graph = {"synthfer.io": {"synthfer.select.selection"}, "synthfer.select.selection": set()}
    monkeypatch.setattr(me, "_import_graph", lambda: graph)
    with pytest.raises(AssertionError, match="synthfer.io \\(core\\) imports synthfer.select.selection"):
        me.test_imports_go_down_the_layers()
    monkeypatch.setattr(me, "_import_graph", lambda: {"synthfer.fer.x": {"synthfer.gan.y"}, "synthfer.gan.y": set()})
    with pytest.raises(AssertionError, match="same|imports synthfer.gan.y"):
        me.test_imports_go_down_the_layers()


def test_fer_does_not_import_demo():
    graph = _import_graph()
    bad = {m: sorted(t for t in ts if t.startswith("synthfer.demo")) for m, ts in graph.items() if m.startswith("synthfer.fer")}
    assert {m: ts for m, ts in bad.items() if ts} == {}


def test_runtime_helpers_have_one_definition():
    """pick_device, set_threads and map_jobs are defined, and thread counts set, only in synthfer/runtime.py."""
    defined, thread_calls = {}, []
    for mod, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and node.name in {"pick_device", "set_threads", "map_jobs"}:
                defined.setdefault(node.name, []).append(mod)
            if isinstance(node, ast.Attribute) and node.attr in {"set_num_threads", "setNumThreads"}:
                thread_calls.append(f"{mod}:{node.lineno}")
    assert defined == {n: ["synthfer.runtime"] for n in ("pick_device", "set_threads", "map_jobs")}
    assert all(c.startswith("synthfer.runtime:") for c in thread_calls), thread_calls


def test_pick_device_one_behaviour(monkeypatch):
    torch = pytest.importorskip("torch")
    from synthfer.runtime import pick_device

    auto = "cuda" if torch.cuda.is_available() else "cpu"
    for value in (None, "", "auto"):  # the schemas' defaults: gan/generate null, iqa 'auto'
        assert pick_device(value).type == auto
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == pick_device(None) == torch.device("cpu")
    for value in ("cuda", "cuda:1"):
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device(value)


def test_set_threads_and_light_import():
    """Run in a fresh interpreter: thread settings are process-wide, and importing must not load torch/cv2."""
    code = """
import sys
import synthfer.runtime as rt
assert "torch" not in sys.modules and "cv2" not in sys.modules
rt.set_threads(3, opencv=True, import_torch=False)      # the IQA jobs: OpenCV, torch only when in use
assert "torch" not in sys.modules
import cv2
assert cv2.getNumThreads() == 3, cv2.getNumThreads()
import torch
rt.set_threads(3, import_torch=False)
assert torch.get_num_threads() == 3
rt.set_threads(2)                                        # the torch jobs
assert torch.get_num_threads() == 2
rt.set_threads(None)                                     # no threads: setting: defaults untouched
rt.set_threads(0)
assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 3
"""
    pytest.importorskip("torch")
    pytest.importorskip("cv2")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_map_jobs_keeps_order_whatever_the_workers():
    from synthfer.runtime import map_jobs

    jobs = list(range(37))
    expected = [-j for j in jobs]
    assert map_jobs(operator.neg, jobs, 1, "jobs") == expected
    assert map_jobs(operator.neg, jobs, 2, "jobs") == expected


def test_workflow_scripts_are_named_after_their_rules():
    """``workflow_scripts/<x>.py`` is run by a rule called ``x`` (a script shared by several rules is named
    after one of them), so the script of a rule in a log or a ``--until`` target is found by its name."""
    import re

    runs: dict[str, set[str]] = {}
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^(?=[ \t]*(?:rule|checkpoint) \w+:)", smk.read_text(), flags=re.M)[1:]:
            name = re.match(r"\s*(?:rule|checkpoint) (\w+):", block).group(1)
            script = re.search(r'script:\s*\n\s*"\.\./workflow_scripts/(\w+)\.py"', block)
            if script:
                runs.setdefault(script.group(1), set()).add(name)
    assert len(runs) > 30
    wrong = {script: sorted(rules) for script, rules in runs.items() if script not in rules}
    assert wrong == {}, f"scripts not named after a rule that runs them: {wrong}"
    unused = sorted(p.stem for p in (REPO / "workflow_scripts").glob("*.py"))
    assert [s for s in unused if s not in runs] == []
