# Shared helpers: config validation, target registry, wildcard constraints.
# Runs at parse time: standard library, yaml/jsonschema and synthfer.config only.
import sys
from pathlib import Path

import yaml

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

# Import synthfer from the checkout even if not installed. This also reaches every job's script in a conda env
# (which does not install synthfer): Snakemake's script preamble appends the job process's sys.path to the
# script's, so `import synthfer` finds this folder from any --conda-prefix (tests/test_hpc_envs.py).
# The workflow's own folder, from this file's location (rules/..): workflow.basedir is the *host's* folder when
# another workflow `module`s this one.
WORKFLOW_ROOT = Path(workflow.current_basedir.get_path_or_uri(secret_free=True)).parent
sys.path.insert(0, str(WORKFLOW_ROOT))
from synthfer.config import (  # noqa: E402
    ConfigError,
    bundle_schema,
    check_config,
    explain_config_error,
    fer_enabled,
    parse_nested_overrides,
)
from synthfer.ids import WILDCARD_CONSTRAINTS, fold_ids, shard_ids  # noqa: E402

CONFIG_SCHEMA = WORKFLOW_ROOT / "config" / "schema" / "config.schema.yaml"
# validate() fills defaults only where it sees properties directly: validate a bundled copy with
# the per-phase schema files inlined (never edit it). Every Slurm job re-parses the workflow, and many start
# at once: the copy is written only when its content changes, and atomically (temporary file + rename), so
# no parse ever reads a half-written schema and an unchanged workflow writes nothing at parse time.
from synthfer.io import write_text_if_changed  # noqa: E402

BUNDLED_SCHEMA = Path(".snakemake") / "synthfer" / "config.schema.bundled.yaml"
write_text_if_changed(BUNDLED_SCHEMA, yaml.safe_dump(bundle_schema(CONFIG_SCHEMA), sort_keys=False))

# Snakemake reads config files with a YAML loader that keeps the last of two equal keys (a `select:`
# section written twice silently replaces the first): re-read them strictly before validating.
from synthfer.strict_yaml import DuplicateKeyError, load_yaml_file  # noqa: E402

for _configfile in workflow.configfiles:
    try:
        load_yaml_file(_configfile)
    except DuplicateKeyError as exc:
        raise WorkflowError(f"config: {exc}") from None

# --config fer='{enabled: false}': nested values arrive as strings; type them as a config file would be.
parse_nested_overrides(config, workflow.config_settings.overwrite_config)
try:
    validate(config, schema=str(BUNDLED_SCHEMA.resolve()))
except WorkflowError:
    raise WorkflowError(explain_config_error(config, CONFIG_SCHEMA) or "config: invalid (see above)") from None


# deploy.results (RESULTS, results_path) and deploy.fer_env (FER_CONDA_ENV)
include: "deploy.smk"


try:  # every cross-key rule and every input that exists now, each with its fix (synthfer.config.check_config)
    check_config(config, results=RESULTS)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

# Snakemake stores each param as its repr, and a dict's repr follows key order: sort the config's keys
# once, so moving a key or writing down a default changes no param and re-runs nothing.
from synthfer.changes import sort_mapping_keys  # noqa: E402

sort_mapping_keys(config)


# Light rules that run on the submit host, never as cluster jobs.
localrules:
    all,


# Each phase registers its final outputs here; rule `all` requests them all.
TARGETS = {}


def all_targets():
    return [path for paths in TARGETS.values() for path in paths]


wildcard_constraints:
    **WILDCARD_CONSTRAINTS,  # {shard} 3 digits, {batch} 4, {fold} 2 (synthfer/ids.py)


_WARNED_PHOTO_FOLDER = set()


def real_photo_folder(wildcards):
    """real_images.folder for the faces_real_shard jobs, checked once while the DAG is built — before any
    job starts — so a folder without photographs stops the run with one message instead of failing every
    shard job. A dry-run only warns (it shows the plan); a workflow output (the demo's) is not checked."""
    folder = config["real_images"]["folder"]
    if str(folder).startswith(results_path("")):
        return folder
    from synthfer.faces.pipeline import photo_folder_problem

    problem = photo_folder_problem(folder)
    if problem and workflow.executor_plugin is not None and not (workflow.dryrun or workflow.touch):
        raise WorkflowError(f"real_images.folder: {problem}")
    if problem and folder not in _WARNED_PHOTO_FOLDER:
        _WARNED_PHOTO_FOLDER.add(folder)
        logger.warning(f"warning: real_images.folder: {problem} (a real run stops here, before any job)")
    return folder


# The FER training-set variants of this run (fer.variants + one synthetic_tds_<metric> per select.ablations);
# the names are defined once, in synthfer/variants.py.
from synthfer.variants import all_variant_names, fer_variants  # noqa: E402

RUN_VARIANTS = fer_variants(config["fer"]["variants"], config["select"]["ablations"])  # checked by check_config
