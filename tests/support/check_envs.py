"""`make check-envs`: build each conda env's packages in a scratch venv with pip and use it as a job would.

Conda channels are not reachable everywhere (nor needed for this check): the conda entries of envs/*.yaml are
installed from PyPI at the same versions, then the pip section. In each venv, run in isolated mode (no PYTHONPATH,
no user site, none of the host's packages) with only the workflow folder appended to sys.path, as Snakemake's
script preamble does:
  1. import every third-party module and every synthfer module its rules' scripts reach (tests/support/env_imports.py);
  2. for envs/faces.yaml, run one rule's real script, workflow_scripts/demo_data.py, on a tiny demo config.

    python tests/support/check_envs.py [--dir /scratch/envs] [faces gan ...]     (default: every env)

Needs network access to PyPI and ~3 GB per env (torch, tensorflow); minutes per env.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from env_imports import REPO, rules_with_envs, third_party_imports  # noqa: E402

CONDA_TO_PIP = {"python": None, "pip": None}
HARNESS = r'''
import json, runpy, sys
spec = json.load(open(sys.argv[1]))
sys.path.append(spec["root"])
class Named(list):
    def __init__(self, d):
        super().__init__(d.values()); self.__dict__.update(d)
class Job:
    pass
snakemake = Job()
for key in ("input", "output", "params", "log", "wildcards", "resources"):
    setattr(snakemake, key, Named(spec.get(key, {})))
snakemake.threads = spec.get("threads", 1)
snakemake.config = spec.get("config", {})
runpy.run_path(spec["script"], init_globals={"snakemake": snakemake}, run_name="__main__")
'''


def requirements(env: Path) -> list[str]:
    spec = yaml.safe_load(env.read_text())
    reqs = []
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            reqs += [e.split("#")[0].strip() for e in dep.get("pip", [])]
            continue
        name, _, ver = dep.partition("=")
        name = name.strip()
        if name in CONDA_TO_PIP:
            continue
        reqs.append(f"{name}=={ver.strip()}" if ver else name)
    return reqs


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def modules_of(env: Path) -> tuple[set[str], set[str]]:
    third, own = set(), set()
    for env_file, script in rules_with_envs().values():
        if Path(env_file).name == env.name:
            t, o = third_party_imports(REPO / script)
            third |= t
            own |= o
    return third, own


def check(env: Path, root: Path) -> None:
    venv = root / env.stem
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", venv])
        run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", *requirements(env)])
    py = venv / "bin" / "python"
    third, own = modules_of(env)
    probe = f"import sys; sys.path.append({str(REPO)!r}); " + "; ".join(f"import {m}" for m in sorted(third | own))
    run([py, "-I", "-c", probe])
    print(f"{env.name}: {len(third)} third-party and {len(own)} synthfer modules import", flush=True)
    if env.stem == "faces":
        demo_data(py)


def demo_data(py: Path) -> None:
    """workflow_scripts/demo_data.py (rule demo_data) on a tiny config, in the env's venv."""
    from snakemake.utils import validate

    sys.path.insert(0, str(REPO))
    from synthfer.config import bundle_schema

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
        config["demo"].setdefault("real", {})["n_identities"] = 8
        config["demo"].setdefault("disfa", {}).update(n_subjects=2, frames=4)
        schema = tmp / "schema.yaml"
        schema.write_text(yaml.safe_dump(bundle_schema(REPO / "config" / "schema" / "config.schema.yaml")))
        validate(config, schema=str(schema))
        out = tmp / "results" / "demo"
        spec = {
            "root": str(REPO),
            "script": str(REPO / "workflow_scripts" / "demo_data.py"),
            "output": {
                "real": str(out / "real"), "metadata": str(out / "real_metadata.csv"),
                "truth": str(out / "real_truth.csv"), "disfa_images": str(out / "disfa_like" / "images"),
                "disfa_labels": str(out / "disfa_like" / "labels.csv"), "sidecar": str(out / "demo_data.json"),
            },
            "log": {"0": str(tmp / "demo_data.log")},
            "params": {"seed": config["seed"], "real": config["demo"]["real"], "disfa": config["demo"]["disfa"]},
            "threads": 1,
        }  # fmt: skip
        (tmp / "job.json").write_text(json.dumps(spec))
        (tmp / "harness.py").write_text(HARNESS)
        run([py, "-I", tmp / "harness.py", tmp / "job.json"], cwd=tmp)
        images = sorted((out / "real").iterdir())
        assert images and (out / "real_metadata.csv").is_file(), "demo_data wrote nothing"
        print(f"faces.yaml: rule demo_data's script ran in the env's venv: {len(images)} images", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", help="env names (envs/<name>.yaml); default: all")
    parser.add_argument("--dir", default=str(REPO / ".check-envs"), help="where the venvs are made (kept, reused)")
    args = parser.parse_args()
    names = args.envs or [p.stem for p in sorted((REPO / "envs").glob("*.yaml"))]
    root = Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        check(REPO / "envs" / f"{name}.yaml", root)
    print("check-envs: OK", ", ".join(names))


if __name__ == "__main__":
    main()
