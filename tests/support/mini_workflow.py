"""A stand-alone Snakefile that includes a few of the real rule files, for workflow tests.

The production rule files know nothing about tests: what ``rules/common.smk`` gives every rule file (the
wildcard constraints from :mod:`synthfer.ids`, the ``TARGETS`` registry, ``rules/deploy.smk``) a mini-workflow
gets from here,
so no test restates it::

    from support.mini_workflow import snakefile
    (workdir / "Snakefile").write_text(snakefile("iqa_common.smk", "iqa.smk", "select.smk"))

``validate`` names config sections whose schema fills the defaults (as the real Snakefile does for all),
``before`` is Python/Snakemake text placed before the includes (e.g. names a rule file expects from another
one), ``after`` text after them (extra rules); ``rule_all`` requests every registered target.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def snakefile(*rule_files: str, validate: Sequence[str] = (), before: str = "", after: str = "",
              rule_all: bool = True, configfile: str = "config.yaml") -> str:
    """The text of a Snakefile including ``rules/<rule_file>`` for each of ``rule_files``, in order."""
    lines = [
        "import sys",
        f"sys.path.insert(0, {str(REPO)!r})",
        f"configfile: {configfile!r}",
        "from synthfer.ids import WILDCARD_CONSTRAINTS",
    ]
    if validate:
        lines.append("from snakemake.utils import validate")
        for section in validate:
            schema = REPO / "config" / "schema" / f"{section}.schema.yaml"
            lines.append(f"validate(config.setdefault({section!r}, {{}}), {str(schema)!r})  # fills the defaults")
    lines += ["TARGETS = {}", "wildcard_constraints:", "    **WILDCARD_CONSTRAINTS,"]
    if before:
        lines.append(before.strip("\n"))
    # deploy.smk: what every rule file uses (results_path, mem_mb_per_attempt, FER_CONDA_ENV), as common.smk includes it
    lines += [f"include: {str(REPO / 'rules' / name)!r}" for name in ("deploy.smk", *rule_files)]
    if after:
        lines.append(after.strip("\n"))
    if rule_all:
        lines += ["rule all:", "    input: [p for v in TARGETS.values() for p in v]"]
    return "\n".join(lines) + "\n"
