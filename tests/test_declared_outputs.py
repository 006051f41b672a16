"""Declared outputs are the written outputs (issue 12, item 12).

Every output a rule declares is handed to the function its script calls (``snakemake.output.<name>``), so no
function writes a sidecar next to a path of its own choosing; and the functions write their sidecar exactly
where they are told.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]

# Outputs that are a fixed layout inside a folder the script passes as a whole (out_dir = the labels' folder,
# the review material's folder): documented in docs/fer.md and docs/latent.md, not sidecars.
FOLDER_LAYOUTS = {
    ("demo_data", "disfa_images"),
    ("fer_import_disfa", "images"), ("fer_import_disfa", "report"),
    ("fer_align_table", "images"), ("fer_align_table", "report"),
    ("review_material", "sheets"), ("review_material", "grids"), ("review_material", "strips"), ("review_material", "data"),
}  # fmt: skip


def _rules():
    """(rule, {output name}, script text) for every rule of rules/*.smk with a script."""
    for smk in sorted(REPO.glob("rules/*.smk")):
        for m in re.finditer(r"^( *)rule (\w+):\n((?:\1 {4}.*\n|\s*\n)+)", smk.read_text(), re.M):
            ind, name, body = m.group(1), m.group(2), m.group(3)

            def section(key, body=body, ind=ind):
                s = re.search(rf"^{ind} {{4}}{key}:\n((?:{ind} {{8}}.*\n)+)", body, re.M)
                return s.group(1) if s else ""

            script = re.search(r'"\.\./(workflow_scripts/\w+\.py)"', section("script"))
            if script:
                outs = set(re.findall(rf"^{ind} {{8}}(\w+)=", section("output"), re.M))
                yield name, outs, (REPO / script.group(1)).read_text()


def test_every_declared_output_is_passed_to_the_function():
    rules = list(_rules())
    assert len(rules) > 30
    missing = [f"{name}.{o}" for name, outs, code in rules for o in sorted(outs)
               if (name, o) not in FOLDER_LAYOUTS and not re.search(rf"snakemake\.output\.{o}\b", code)]  # fmt: skip
    assert missing == []


def test_make_batches_writes_the_declared_summary(tmp_path):
    from synthfer.iqa.batches import make_batches

    pd.DataFrame({"name": ["1_000000", "1_000001"], "file": ["raw/1_000000.png", "raw/1_000001.png"],
                  "face_ok": [True, False]}).to_csv(tmp_path / "manifest.csv", index=False)  # fmt: skip
    make_batches(tmp_path / "manifest.csv", tmp_path / "b.csv", 512, 1, out_summary=tmp_path / "x" / "summary.json")
    assert json.loads((tmp_path / "x" / "summary.json").read_text())["n_pool"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv", "manifest.csv", "x"]


def test_build_references_writes_the_declared_summary(tmp_path):
    from PIL import Image

    from synthfer.iqa.references import build_references

    (tmp_path / "crops").mkdir()
    for i in range(2):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(tmp_path / "crops" / f"c{i}.png")
    build_references(tmp_path / "crops", tmp_path / "refs.npz", (8, 8), nearest_size=4, out_summary=tmp_path / "s" / "refs.json")
    assert json.loads((tmp_path / "s" / "refs.json").read_text())["n_references"] == 2
    assert not (tmp_path / "refs.json").exists()
