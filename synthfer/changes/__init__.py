"""What the next ``snakemake`` run would re-run, and why (``synthfer changes``).

Snakemake's own ``--list-changes params`` cannot answer this. In Snakemake 9.27 it lists one output of
*every* finished job, changed or not: ``Persistence.params_changed(job)`` returns a ``ParamsChange``
that is false when nothing changed but still carries the file it last compared, and
``DAG.get_outputs_with_changes`` iterates that object's files without testing it. Its re-run decision
(``DAG.update_needrun``) tests the same object for truth and is right. So the exact answer is the
dry-run's own job list: :func:`planned_jobs` runs ``snakemake --dry-run`` and parses the job blocks
(rule, wildcards, output, reason) it prints.

:func:`sort_mapping_keys` removes the one unstable part of the params themselves: Snakemake stores a
param as its ``repr``, and a dict's ``repr`` follows insertion order, so moving a key in the config file,
or writing down a default that the schema would otherwise append, changed the stored value of every
dict param built from that section (``gan_train``'s options, the faces settings, the select
thresholds) and re-ran those jobs and everything after them. The Snakefile sorts the validated config's
mapping keys once, in place, so equal configs give equal params.

Standard library only: :func:`sort_mapping_keys` runs at Snakefile parse time, and synthfer never
imports snakemake (the dry-run is a subprocess).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A job block of a dry-run starts with "rule NAME:", "localrule NAME:", "checkpoint NAME:" or
# "localcheckpoint NAME:" at the start of a line; its fields are indented "key: value" lines.
_HEADER = re.compile(r"^(local)?(rule|checkpoint) ([A-Za-z_][\w]*):\s*$")
_FIELD = re.compile(r"^\s+(\w+): ?(.*)$")
_NOTHING = "Nothing to be done"

# Snakemake's Reason.__str__ phrases (snakemake/jobs.py), in the order it joins them with "; ".
_DOWNSTREAM = "Input files updated by another job"
_REASONS = {
    "Forced execution": "forced",
    "Missing output files": "missing output",
    "Incomplete output files": "incomplete output",
    "Updated input files": "newer input files",
    _DOWNSTREAM: "downstream",
    "Set of input files has changed since last execution": "input set changed",
    "Code has changed since last execution": "code changed",
    "Params have changed since last execution": "params changed",
    "Software environment definition has changed since last execution": "software environment changed",
    "Rules with neither input nor output files are always executed": "always runs",
    "Rules with a run or shell declaration but no output are always executed": "always runs",
}
_PARAMS_BOILERPLATE = "Union of exclusive params before and now across all output: "


def sort_mapping_keys(value: Any) -> Any:
    """Re-insert every mapping's keys in sorted order, recursively and in place (lists keep their order).

    Returns ``value``. In place so the Snakefile's ``config`` object stays the one Snakemake holds.
    """
    if isinstance(value, MutableMapping):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        value.clear()
        for key, item in items:
            value[key] = sort_mapping_keys(item)
    elif isinstance(value, list):
        for item in value:
            sort_mapping_keys(item)
    return value


@dataclass(frozen=True)
class PlannedJob:
    """One job of a dry-run: what it writes and why Snakemake would run it."""

    rule: str
    outputs: tuple[str, ...]
    reason: str
    wildcards: str = ""
    checkpoint: bool = False

    @property
    def triggers(self) -> tuple[str, ...]:
        """Short names of the reasons in :attr:`reason` (``'params changed'``, ``'downstream'``, …)."""
        found = [(self.reason.find(phrase), name) for phrase, name in _REASONS.items() if phrase in self.reason]
        return tuple(dict.fromkeys(name for _, name in sorted(found)))

    @property
    def is_downstream(self) -> bool:
        """True when the job runs only because a job it reads from runs."""
        return self.triggers == ("downstream",)

    def describe_reason(self) -> str:
        """Snakemake's reason, without the params boilerplate."""
        return " ".join(self.reason.replace(_PARAMS_BOILERPLATE, "").split())


def parse_dry_run(text: str) -> list[PlannedJob]:
    """The jobs of a ``snakemake --dry-run`` printout, in printed order.

    Raises ``ValueError`` if the text is neither a job listing nor "Nothing to be done" (e.g. a
    ``--quiet`` run, which prints no job blocks), so a format change cannot pass for "no changes".
    """
    jobs: list[PlannedJob] = []
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is not None:
            fields = current["fields"]
            outputs = tuple(p.strip() for p in fields.get("output", "").split(",") if p.strip())
            jobs.append(
                PlannedJob(
                    rule=current["rule"],
                    outputs=outputs,
                    reason=fields.get("reason", ""),
                    wildcards=fields.get("wildcards", ""),
                    checkpoint=current["checkpoint"],
                )
            )

    for line in text.splitlines():
        head = _HEADER.match(line)
        if head:
            close()
            current = {"rule": head.group(3), "checkpoint": head.group(2) == "checkpoint", "fields": {}}
            continue
        if current is None:
            continue
        field = _FIELD.match(line)
        if field:
            current["fields"].setdefault(field.group(1), field.group(2).strip())
        else:
            close()
            current = None
    close()
    if not jobs and _NOTHING not in text:
        raise ValueError("the snakemake dry-run printed neither jobs nor 'Nothing to be done'")
    return jobs


def planned_jobs(snakemake_args: Sequence[str] = (), cwd: str | Path | None = None) -> list[PlannedJob]:
    """Run ``python -m snakemake --dry-run *snakemake_args`` in ``cwd`` and parse its job list.

    The dry-run loads the workflow profile like any run (rerun triggers included), so the list is
    exactly what ``snakemake *snakemake_args`` would run now. Raises ``RuntimeError`` with Snakemake's
    message when the dry-run fails (e.g. a config error).
    """
    cmd = [sys.executable, "-m", "snakemake", "--dry-run", "--nocolor", *snakemake_args]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"snakemake --dry-run failed (exit {res.returncode}):\n{(res.stderr or res.stdout)[-4000:]}")
    return parse_dry_run(res.stdout + "\n" + res.stderr)


def changed_outputs(jobs: Sequence[PlannedJob]) -> list[str]:
    """Every output file a run would write, once each, in job order (jobs without outputs, e.g. ``all``, skipped)."""
    return list(dict.fromkeys(path for job in jobs for path in job.outputs))


def format_report(jobs: Sequence[PlannedJob]) -> str:
    """The human-readable answer: the jobs a change triggers, then the jobs that follow from them."""
    jobs = [job for job in jobs if job.outputs]
    if not jobs:
        return "Nothing would run: every output is up to date with the config, code and inputs."
    direct = [job for job in jobs if not job.is_downstream]
    downstream = [job for job in jobs if job.is_downstream]
    lines = [
        f"{len(jobs)} job(s) would run: {len(direct)} because of a change or a missing output, "
        f"{len(downstream)} because they read what those write."
    ]
    for title, group in (("Changed or missing", direct), ("Downstream", downstream)):
        if not group:
            continue
        lines.append(f"\n{title}:")
        for job in group:
            name = job.rule + (f" ({job.wildcards})" if job.wildcards else "")
            lines.append(f"  {name}: {job.describe_reason()}")
            lines.extend(f"      {path}" for path in job.outputs)
    checkpoints = sorted({job.rule for job in jobs if job.checkpoint})
    if checkpoints:
        lines.append(
            f"\nNote: {', '.join(checkpoints)} is a checkpoint; the jobs after it are decided when it has run, "
            "so the list can grow then."
        )
    return "\n".join(lines)
