"""The reviewed seed-list file (``seeds.yaml``, format 1): parsing, validation and formatting.

Format (the review page exports exactly what :func:`format_seed_yaml` writes)::

    format: 1
    network:                  # optional: the generator the seeds were reviewed on (the review page writes it)
      file: results/gan/network-final.pt
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    aus:                      # per AU, the generator seeds whose face shows that AU
      AU1: [12, 40]
      AU4: []
      AU5: []
      AU6: [55]
      AU12: [55, 78]
      AU15: []
    neutral: [3, 9]           # seeds with no AU (label all zeros)
    generation:
      truncation_psi: 0.7     # a number or a list (one image set per value)
      include_unedited: true  # one image per seed and psi without any edit (direction -1)
      images_per_seed: null   # optional cap per seed (evenly spaced subset of the combinations)
      edits:                  # which GANSpace directions/degrees apply to which seeds
        - seeds: all          # all | neutral | an AU name | a seed | a list of those
          directions: [0, 1, 2]                  # list, or {start, stop} (stop exclusive)
          degrees: {start: -2.0, stop: 2.0, num: 5}  # list, or linspace {start, stop, num}
          layers: [0, 8]      # optional [start, end) of the w layers edited; default latent.edit_layers
    label_rules: []           # optional: [{direction: 3, degree_min: 2.0, add: [AU12]}, ...]

A seed's face depends on the generator: ``network.sha256`` ties the list to the network it was reviewed
on, and the plan step refuses to generate it with another one (config ``seeds.allow_other_network``).

Label of a seed (the thesis' semi-automated annotation): the union of the AU lists that contain it;
neutral seeds are all zeros. A ``label_rule`` adds/removes AUs for the images of one direction whose
degree lies in ``[degree_min, degree_max]`` (either bound optional), so labels may depend on
(seed, direction, degree); rules are applied in file order after the seed label.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthfer import AU_COLUMNS
from synthfer.io import PathLike

FORMAT_VERSION = 1
MAX_SEED = 2**32 - 1  # numpy RandomState accepts seeds in [0, 2**32)


class SeedSpecError(ValueError):
    """A problem in a seed-list file; the message names the file and the entry."""


@dataclass(frozen=True)
class EditGroup:
    """Directions × degrees applied to a set of seeds (``None`` = every listed seed)."""

    seeds: tuple[int, ...]
    directions: tuple[int, ...]
    degrees: tuple[float, ...]
    layers: tuple[int, int | None] | None


@dataclass(frozen=True)
class LabelRule:
    """Add/remove AUs on images of ``direction`` with ``degree_min <= degree <= degree_max``."""

    direction: int
    degree_min: float | None
    degree_max: float | None
    add: tuple[str, ...]
    remove: tuple[str, ...]

    def matches(self, direction: int, degree: float) -> bool:
        if direction != self.direction:
            return False
        if self.degree_min is not None and degree < self.degree_min:
            return False
        return not (self.degree_max is not None and degree > self.degree_max)


@dataclass(frozen=True)
class SeedSpec:
    """A validated seed-list file."""

    aus: dict[str, tuple[int, ...]]
    neutral: tuple[int, ...]
    truncation_psi: tuple[float, ...]
    include_unedited: bool
    images_per_seed: int | None
    edits: tuple[EditGroup, ...]
    label_rules: tuple[LabelRule, ...]
    #: the network the seeds were reviewed on (``network.file``, ``network.sha256``); None = not recorded
    network_file: str | None = None
    network_sha256: str | None = None

    @property
    def seeds(self) -> list[int]:
        """Every listed seed (AU lists and neutral), ascending."""
        out = set(self.neutral)
        for seeds in self.aus.values():
            out.update(seeds)
        return sorted(out)

    def seed_label(self, seed: int) -> tuple[int, ...]:
        """0/1 per AU in :data:`AU_COLUMNS` order; ``KeyError`` for a seed in no list."""
        if seed in self.neutral:
            return (0,) * len(AU_COLUMNS)
        label = tuple(int(seed in self.aus[au]) for au in AU_COLUMNS)
        if not any(label):
            raise KeyError(seed)
        return label

    def image_label(self, seed: int, direction: int, degree: float) -> tuple[int, ...]:
        """Seed label with the label rules for (direction, degree) applied."""
        label = list(self.seed_label(seed))
        for rule in self.label_rules:
            if rule.matches(direction, degree):
                for au in rule.add:
                    label[AU_COLUMNS.index(au)] = 1
                for au in rule.remove:
                    label[AU_COLUMNS.index(au)] = 0
        return tuple(label)


# --------------------------------------------------------------------------------------------- parsing


def load_seed_spec(path: PathLike) -> SeedSpec:
    """Read and validate ``path``; raises :class:`SeedSpecError` naming the file and entry."""
    import yaml

    from synthfer.strict_yaml import DuplicateKeyError, load_yaml

    path = Path(path)
    if not path.is_file():
        raise SeedSpecError(f"{path}: seed-list file not found")
    try:
        # a key written twice (e.g. two `AU1:` lines) would otherwise drop the first list's seeds silently
        data = load_yaml(path.read_text(encoding="utf-8"), source=str(path))
    except DuplicateKeyError as exc:
        raise SeedSpecError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise SeedSpecError(f"{path}: not valid YAML ({exc})") from None
    return parse_seed_spec(data, source=str(path))


def parse_seed_spec(data: Any, source: str = "<seeds>") -> SeedSpec:
    """Validate an already-loaded seed-list mapping (see the module docstring for the format)."""

    def fail(where: str, msg: str) -> SeedSpecError:
        return SeedSpecError(f"{source}: {where}: {msg}")

    if not isinstance(data, Mapping):
        raise SeedSpecError(f"{source}: expected a mapping with keys format, aus, neutral, generation")
    _check_keys(data, {"format", "network", "aus", "neutral", "generation", "label_rules"}, "<top level>", fail)
    fmt = data.get("format", FORMAT_VERSION)
    if fmt != FORMAT_VERSION:
        raise fail("format", f"unsupported format {fmt!r} (this synthfer reads format {FORMAT_VERSION})")
    network_file, network_sha256 = _network(data.get("network"), fail)

    aus_raw = data.get("aus") or {}
    if not isinstance(aus_raw, Mapping):
        raise fail("aus", "expected a mapping AU name -> list of seeds")
    aus: dict[str, tuple[int, ...]] = {}
    for key, seeds in aus_raw.items():
        if key not in AU_COLUMNS:
            raise fail(f"aus.{key}", f"unknown AU {key!r} (allowed: {', '.join(AU_COLUMNS)})")
        aus[key] = _seed_list(seeds, f"aus.{key}", fail)
    for au in AU_COLUMNS:
        aus.setdefault(au, ())
    neutral = _seed_list(data.get("neutral") or [], "neutral", fail)
    for au in AU_COLUMNS:
        both = sorted(set(neutral) & set(aus[au]))
        if both:
            raise fail("neutral", f"seed {both[0]} is both neutral and in aus.{au}")
    listed = set(neutral).union(*aus.values())
    if not listed:
        raise fail("aus", "no seed listed (tick at least one AU or neutral seed)")

    gen = data.get("generation") or {}
    if not isinstance(gen, Mapping):
        raise fail("generation", "expected a mapping")
    _check_keys(gen, {"truncation_psi", "include_unedited", "images_per_seed", "edits"}, "generation", fail)
    psi_raw = gen.get("truncation_psi", 1.0)
    psis = tuple(psi_raw) if isinstance(psi_raw, list) else (psi_raw,)
    if not psis:
        raise fail("generation.truncation_psi", "empty list")
    for p in psis:
        if not _is_number(p) or not (0.0 <= float(p) <= 2.0):
            raise fail("generation.truncation_psi", f"{p!r} is not a number in [0, 2]")
    psis = tuple(float(p) for p in psis)
    if len(set(psis)) != len(psis):
        raise fail("generation.truncation_psi", "duplicate values")
    include_unedited = gen.get("include_unedited", True)
    if not isinstance(include_unedited, bool):
        raise fail("generation.include_unedited", f"{include_unedited!r} is not true/false")
    cap = gen.get("images_per_seed")
    if cap is not None and (not _is_int(cap) or cap < 1):
        raise fail("generation.images_per_seed", f"{cap!r} is not a positive integer or null")

    edits_raw = gen.get("edits") or []
    if not isinstance(edits_raw, list):
        raise fail("generation.edits", "expected a list of {seeds, directions, degrees[, layers]}")
    edits = tuple(_edit_group(e, f"generation.edits[{i}]", aus, neutral, listed, fail) for i, e in enumerate(edits_raw))
    if not include_unedited and not edits:
        raise fail("generation", "include_unedited is false and there are no edits: nothing to generate")

    rules_raw = data.get("label_rules") or []
    if not isinstance(rules_raw, list):
        raise fail("label_rules", "expected a list of {direction, degree_min, degree_max, add, remove}")
    rules = tuple(_label_rule(r, f"label_rules[{i}]", fail) for i, r in enumerate(rules_raw))

    spec = SeedSpec(
        aus=aus,
        neutral=neutral,
        truncation_psi=psis,
        include_unedited=include_unedited,
        images_per_seed=cap,
        edits=edits,
        label_rules=rules,
        network_file=network_file,
        network_sha256=network_sha256,
    )
    _check_duplicate_images(spec, fail)
    return spec


def _network(value: Any, fail) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        raise fail("network", "expected a mapping {file, sha256}")
    _check_keys(value, {"file", "sha256"}, "network", fail)
    sha = value.get("sha256")
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise fail("network.sha256", f"{sha!r} is not a sha256 (64 lowercase hex digits)")
    file = value.get("file")
    if file is not None and not isinstance(file, str):
        raise fail("network.file", f"{file!r} is not a path")
    return file, sha


def _check_keys(obj: Mapping, allowed: set[str], where: str, fail) -> None:
    unknown = sorted(set(map(str, obj)) - allowed)
    if unknown:
        raise fail(where, f"unknown key(s) {', '.join(map(repr, unknown))} (allowed: {', '.join(sorted(allowed))})")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) and math.isfinite(x)


def _seed_list(seeds: Any, where: str, fail) -> tuple[int, ...]:
    if seeds is None:
        return ()
    if not isinstance(seeds, list):
        raise fail(where, f"expected a list of integer seeds, got {seeds!r}")
    seen: set[int] = set()
    for s in seeds:
        if not _is_int(s):
            raise fail(where, f"seed {s!r} is not an integer")
        if not 0 <= s <= MAX_SEED:
            raise fail(where, f"seed {s} is outside [0, {MAX_SEED}]")
        if s in seen:
            raise fail(where, f"seed {s} is listed twice")
        seen.add(s)
    return tuple(seeds)


def _int_values(value: Any, where: str, fail) -> tuple[int, ...]:
    if isinstance(value, Mapping):
        _check_keys(value, {"start", "stop", "step"}, where, fail)
        start, stop, step = value.get("start", 0), value.get("stop"), value.get("step", 1)
        if not all(_is_int(v) for v in (start, stop, step)) or step < 1:
            raise fail(where, "a range needs integer start, stop (exclusive) and step >= 1")
        out = tuple(range(start, stop, step))
    elif isinstance(value, list):
        out = tuple(value)
    elif _is_int(value):
        out = (value,)
    else:
        raise fail(where, f"expected a list of integers or {{start, stop}}, got {value!r}")
    if not out:
        raise fail(where, "no values")
    for v in out:
        if not _is_int(v) or v < 0:
            raise fail(where, f"direction {v!r} is not a non-negative integer")
    if len(set(out)) != len(out):
        raise fail(where, "duplicate directions")
    return out


def _float_values(value: Any, where: str, fail) -> tuple[float, ...]:
    if isinstance(value, Mapping):
        _check_keys(value, {"start", "stop", "num"}, where, fail)
        start, stop, num = value.get("start"), value.get("stop"), value.get("num")
        if not (_is_number(start) and _is_number(stop) and _is_int(num) and num >= 1):
            raise fail(where, "a linspace needs numeric start, stop (inclusive) and integer num >= 1")
        import numpy as np

        out = tuple(round(float(v), 10) for v in np.linspace(float(start), float(stop), num))
    elif isinstance(value, list):
        out = tuple(value)
    elif _is_number(value):
        out = (value,)
    else:
        raise fail(where, f"expected a list of numbers or {{start, stop, num}}, got {value!r}")
    if not out:
        raise fail(where, "no values")
    for v in out:
        if not _is_number(v):
            raise fail(where, f"degree {v!r} is not a finite number")
    out = tuple(float(v) for v in out)
    if len(set(out)) != len(out):
        raise fail(where, "duplicate degrees")
    return out


def _edit_group(entry: Any, where: str, aus, neutral, listed: set[int], fail) -> EditGroup:
    if not isinstance(entry, Mapping):
        raise fail(where, "expected a mapping {seeds, directions, degrees[, layers]}")
    _check_keys(entry, {"seeds", "directions", "degrees", "layers"}, where, fail)
    for key in ("directions", "degrees"):
        if key not in entry:
            raise fail(where, f"missing key {key!r}")
    selectors = entry.get("seeds", "all")
    selectors = selectors if isinstance(selectors, list) else [selectors]
    chosen: set[int] = set()
    for sel in selectors:
        if sel == "all":
            chosen |= listed
        elif sel == "neutral":
            chosen |= set(neutral)
        elif isinstance(sel, str) and sel in AU_COLUMNS:
            chosen |= set(aus[sel])
        elif _is_int(sel):
            if sel not in listed:
                raise fail(f"{where}.seeds", f"seed {sel} is in no AU list and not neutral")
            chosen.add(sel)
        else:
            raise fail(f"{where}.seeds", f"{sel!r} is not all, neutral, an AU name ({', '.join(AU_COLUMNS)}) or a seed")
    layers = entry.get("layers")
    if layers is not None:
        if not (
            isinstance(layers, list)
            and len(layers) == 2
            and _is_int(layers[0])
            and layers[0] >= 0
            and (layers[1] is None or (_is_int(layers[1]) and layers[1] > layers[0]))
        ):
            raise fail(f"{where}.layers", f"{layers!r} is not [start, end) with 0 <= start < end (end null = last)")
        layers = (layers[0], layers[1])
    return EditGroup(
        seeds=tuple(sorted(chosen)),
        directions=_int_values(entry["directions"], f"{where}.directions", fail),
        degrees=_float_values(entry["degrees"], f"{where}.degrees", fail),
        layers=layers,
    )


def _label_rule(entry: Any, where: str, fail) -> LabelRule:
    if not isinstance(entry, Mapping):
        raise fail(where, "expected a mapping {direction, degree_min, degree_max, add, remove}")
    _check_keys(entry, {"direction", "degree_min", "degree_max", "add", "remove"}, where, fail)
    direction = entry.get("direction")
    if not _is_int(direction) or direction < 0:
        raise fail(f"{where}.direction", f"{direction!r} is not a non-negative integer")
    bounds = []
    for key in ("degree_min", "degree_max"):
        v = entry.get(key)
        if v is not None and not _is_number(v):
            raise fail(f"{where}.{key}", f"{v!r} is not a number")
        bounds.append(None if v is None else float(v))
    lists = []
    for key in ("add", "remove"):
        v = entry.get(key) or []
        v = v if isinstance(v, list) else [v]
        for au in v:
            if au not in AU_COLUMNS:
                raise fail(f"{where}.{key}", f"unknown AU {au!r} (allowed: {', '.join(AU_COLUMNS)})")
        lists.append(tuple(v))
    if not lists[0] and not lists[1]:
        raise fail(where, "a label rule needs 'add' or 'remove'")
    if set(lists[0]) & set(lists[1]):
        raise fail(where, f"{sorted(set(lists[0]) & set(lists[1]))[0]} is both added and removed")
    return LabelRule(direction, bounds[0], bounds[1], lists[0], lists[1])


def _check_duplicate_images(spec: SeedSpec, fail) -> None:
    owner: dict[tuple[int, int, float], int] = {}
    for i, group in enumerate(spec.edits):
        for seed in group.seeds:
            for d in group.directions:
                for deg in group.degrees:
                    key = (seed, d, deg)
                    if key in owner:
                        raise fail(
                            f"generation.edits[{i}]",
                            f"seed {seed} direction {d} degree {deg} is already planned by generation.edits[{owner[key]}]",
                        )
                    owner[key] = i


# --------------------------------------------------------------------------------------------- writing


def _fmt_float(x: float) -> str:
    """Python repr of a float; the review page's JavaScript writes the same for ordinary values."""
    return repr(float(x))


def _flow(values: Iterable[Any]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def format_seed_yaml(
    aus: Mapping[str, Sequence[int]],
    neutral: Sequence[int],
    truncation_psi: float,
    directions: Sequence[int],
    degrees: Sequence[float],
    layers: tuple[int, int | None] | None = None,
    include_unedited: bool = True,
    comment: str = "",
    network: Mapping[str, str] | None = None,
) -> str:
    """The seed-list YAML exactly as the review page exports it (seeds sorted ascending).

    One edit group (every listed seed × ``directions`` × ``degrees``); edit it by hand for finer plans.
    With ``include_unedited`` a degree 0 is left out (it is the unedited image, already planned).
    ``network`` = ``{"file": …, "sha256": …}`` of the generator the seeds were reviewed on.
    """
    if include_unedited:
        degrees = [d for d in degrees if float(d) != 0.0]
    lines = ["# synthfer seed list (format 1): generator seeds per AU, reviewed by a person."]
    if comment:
        lines.append(f"# {comment}")
    lines.append("format: 1")
    if network:
        lines += ["network:", f"  file: {json.dumps(str(network['file']), ensure_ascii=False)}", f"  sha256: {network['sha256']}"]
    lines.append("aus:")
    for au in AU_COLUMNS:
        lines.append(f"  {au}: {_flow(sorted(int(s) for s in aus.get(au, ())))}")
    lines.append(f"neutral: {_flow(sorted(int(s) for s in neutral))}")
    lines += [
        "generation:",
        f"  truncation_psi: {_fmt_float(truncation_psi)}",
        f"  include_unedited: {'true' if include_unedited else 'false'}",
        "  images_per_seed: null",
    ]
    if len(directions) and len(degrees):
        lines += [
            "  edits:",
            "    - seeds: all",
            f"      directions: {_flow(int(d) for d in directions)}",
            f"      degrees: {_flow(_fmt_float(d) for d in degrees)}",
        ]
        if layers is not None:
            end = "null" if layers[1] is None else str(int(layers[1]))
            lines.append(f"      layers: [{int(layers[0])}, {end}]")
    else:
        lines.append("  edits: []")
    lines.append("label_rules: []")
    return "\n".join(lines) + "\n"
