# Shared helpers: config validation, target registry, wildcard constraints.
# Runs at parse time: standard library, yaml/jsonschema and synthfer.config only.
import sys
from pathlib import Path

import yaml

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)  # import synthfer from the checkout even if not installed
from synthfer.config import (  # noqa: E402
    ConfigError,
    bundle_schema,
    check_input_paths,
    explain_config_error,
)
from synthfer.config import check_weight_files  # noqa: E402

CONFIG_SCHEMA = Path(workflow.basedir) / "config" / "schema" / "config.schema.yaml"
# validate() fills defaults only where it sees properties directly: validate a bundled copy with
# the per-phase schema files inlined (rewritten at every parse; never edit it).
BUNDLED_SCHEMA = Path(".snakemake") / "synthfer" / "config.schema.bundled.yaml"
BUNDLED_SCHEMA.parent.mkdir(parents=True, exist_ok=True)
BUNDLED_SCHEMA.write_text(yaml.safe_dump(bundle_schema(CONFIG_SCHEMA), sort_keys=False))

try:
    validate(config, schema=str(BUNDLED_SCHEMA.resolve()))
except WorkflowError:
    raise WorkflowError(explain_config_error(config, CONFIG_SCHEMA) or "config: invalid (see above)") from None
try:
    check_input_paths(config, ["real_images.folder", "real_images.metadata"])
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
try:
    check_weight_files(config)  # local model files (fer.model.weights, iqa.fid.inception_weights, …)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

# Light rules that run on the submit host, never as cluster jobs.
localrules:
    all,

# Each phase registers its final outputs here; rule `all` requests them all.
TARGETS = {}


def all_targets():
    return [path for paths in TARGETS.values() for path in paths]


wildcard_constraints:
    shard=r"\d{3}",
    batch=r"\d{4}",
    fold=r"\d{2}",


# The FER training-set variants of this run (fer.variants + one synthetic_tds_<metric> per select.ablations);
# the names are defined once, in synthfer/variants.py.
from synthfer.variants import all_variant_names, fer_variants  # noqa: E402

try:
    RUN_VARIANTS = fer_variants(config["fer"]["variants"], config["select"]["ablations"])
except ValueError as exc:
    raise WorkflowError(str(exc)) from None
