"""Options of the review material and of the annotation assistant: the one place where they are named, tied
to their config keys and given defaults, and the pure layout they imply.

- :class:`ReviewLayout` — which faces are rendered: the reviewed seed range, the edit grids (seeds ×
  directions × degrees on the edit layers), truncation ψ and noise mode. Rules ``review_material`` and
  ``review_suggestions`` share it, so the suggestions always cover the page's faces.
- :class:`PageOptions` — how ``review_material`` draws and writes them: sheet size, thumbnails,
  interpolation strips, batch size, image format, the seed-list path the page tells the reviewer.
- :class:`ReviewOptions` — both, what :func:`synthfer.latent.review.build_review` takes.
- :meth:`ReviewLayout.resolve` → :class:`Layout`: counts expanded to lists ("the first n"), directions and
  the edit-layer range checked against the generator, the open layer end made concrete — once, for both rules.
- :func:`layout_params` / :func:`page_params` — the config values of the two groups as plain dicts, built
  once at parse time by ``rules/latent.smk`` and passed as one param each (a change of a page setting
  re-runs the page, not the assistant's scoring).
- :func:`network_record` — the ``{file, sha256}`` of the generator that review.json and suggestions.json
  record (the seed list carries it, and the plan compares it).

Defaults are the schema's (``config/schema/latent.schema.yaml`` etc.; ``tests/test_latent_config.py``
checks they are equal). Standard library only: ``rules/latent.smk`` imports this module at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthfer.io import PathLike

# Field → config key (dotted), for both option groups.
LAYOUT_KEYS = {
    "seed_start": "latent.review.seed_start",
    "seed_count": "latent.review.seed_count",
    "grid_seeds": "latent.review.grid_seeds",
    "grid_directions": "latent.review.grid_directions",
    "grid_degrees": "latent.review.grid_degrees",
    "truncation_psi": "latent.review.truncation_psi",
    "edit_layers": "latent.edit_layers",
    "noise_mode": "generate.noise_mode",
}
PAGE_KEYS = {
    "cols": "latent.review.cols",
    "rows": "latent.review.rows",
    "thumb": "latent.review.thumb",
    "strip_pairs": "latent.review.strip_pairs",
    "strip_steps": "latent.review.strip_steps",
    "batch_size": "latent.review.batch_size",
    "image_format": "latent.review.image_format",
    "jpeg_quality": "latent.review.jpeg_quality",
    "seeds_file": "seeds.file",
}


def _ints(value: int | Sequence[int]) -> int | tuple[int, ...]:
    """A count stays an int; a list becomes a tuple of ints."""
    return int(value) if isinstance(value, int) else tuple(int(v) for v in value)


@dataclass(frozen=True)
class Layout:
    """A :class:`ReviewLayout` resolved for one generator and one set of directions."""

    seeds: tuple[int, ...]  # the reviewed seeds, in page order
    grid_seeds: tuple[int, ...]
    grid_directions: tuple[int, ...]
    grid_degrees: tuple[float, ...]
    truncation_psi: float
    layer_start: int  # edited w layers [layer_start, layer_end), end concrete
    layer_end: int
    noise_mode: str


@dataclass(frozen=True)
class ReviewLayout:
    """Which faces the review renders (and the assistant scores). Counts stand for "the first n": of the
    seed range (``grid_seeds``) or of the directions (``grid_directions``)."""

    seed_start: int = 0
    seed_count: int = 30000
    grid_seeds: int | tuple[int, ...] = 100
    grid_directions: int | tuple[int, ...] = 10
    grid_degrees: tuple[float, ...] = (-4.0, -2.0, 2.0, 4.0)
    truncation_psi: float = 0.7
    edit_layers: tuple[int, int | None] = (0, None)
    noise_mode: str = "const"

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise lists from the config once, here
        set_(self, "seed_start", int(self.seed_start))
        set_(self, "seed_count", int(self.seed_count))
        set_(self, "grid_seeds", _ints(self.grid_seeds))
        set_(self, "grid_directions", _ints(self.grid_directions))
        set_(self, "grid_degrees", tuple(float(d) for d in self.grid_degrees))
        set_(self, "truncation_psi", float(self.truncation_psi))
        start, end = self.edit_layers
        set_(self, "edit_layers", (int(start), None if end is None else int(end)))
        if self.seed_count < 1:
            raise ValueError(f"latent.review.seed_count must be >= 1, got {self.seed_count}")

    @property
    def seeds(self) -> list[int]:
        return list(range(self.seed_start, self.seed_start + self.seed_count))

    def resolve(self, n_directions: int, num_ws: int) -> Layout:
        """Expand the counts and check the directions and the edit layers against ``n_directions``
        components and a generator with ``num_ws`` w layers (errors name the config key)."""
        seeds = self.seeds
        grid_seeds = seeds[: self.grid_seeds] if isinstance(self.grid_seeds, int) else list(self.grid_seeds)
        if isinstance(self.grid_directions, int):
            grid_directions = list(range(min(self.grid_directions, n_directions)))
        else:
            grid_directions = list(self.grid_directions)
        for k in grid_directions:
            if not 0 <= k < n_directions:
                raise ValueError(f"latent.review.grid_directions: direction {k} does not exist (have {n_directions})")
        start, end = self.edit_layers
        layer_end = num_ws if end is None else end
        if not 0 <= start < layer_end <= num_ws:
            raise ValueError(
                f"latent.edit_layers {[start, end]} is not a range [start, end) within 0…{num_ws} "
                f"(the generator has {num_ws} w layers)"
            )
        return Layout(
            seeds=tuple(seeds),
            grid_seeds=tuple(grid_seeds),
            grid_directions=tuple(grid_directions),
            grid_degrees=self.grid_degrees,
            truncation_psi=self.truncation_psi,
            layer_start=start,
            layer_end=layer_end,
            noise_mode=self.noise_mode,
        )


@dataclass(frozen=True)
class PageOptions:
    """How the review material is drawn and written."""

    cols: int = 10
    rows: int = 10
    thumb: int = 128
    strip_pairs: int | tuple[tuple[int, int], ...] = 10
    strip_steps: int = 8
    batch_size: int = 32
    image_format: str = "png"
    jpeg_quality: int = 90
    seeds_file: str = "config/seeds.yaml"

    def __post_init__(self) -> None:
        pairs = self.strip_pairs
        pairs = int(pairs) if isinstance(pairs, int) else tuple((int(a), int(b)) for a, b in pairs)
        object.__setattr__(self, "strip_pairs", pairs)
        object.__setattr__(self, "seeds_file", str(self.seeds_file))
        if self.cols < 1 or self.rows < 1:
            raise ValueError(f"latent.review.cols and rows must be >= 1, got {self.cols} and {self.rows}")

    def strips(self, seeds: Sequence[int]) -> list[tuple[int, int]]:
        """The strip pairs; a count n = the consecutive pairs (s0, s0+1), (s0+2, s0+3), … of ``seeds``."""
        if isinstance(self.strip_pairs, int):
            return [(seeds[2 * i], seeds[2 * i + 1]) for i in range(min(self.strip_pairs, len(seeds) // 2))]
        return list(self.strip_pairs)


@dataclass(frozen=True)
class ReviewOptions:
    """Everything :func:`synthfer.latent.review.build_review` needs besides the generator and directions."""

    layout: ReviewLayout = field(default_factory=ReviewLayout)
    page: PageOptions = field(default_factory=PageOptions)

    @classmethod
    def from_params(cls, layout: Mapping[str, Any], page: Mapping[str, Any]) -> ReviewOptions:
        """From the two dicts of :func:`layout_params` and :func:`page_params` (the rule's params)."""
        return cls(ReviewLayout(**layout), PageOptions(**page))

    @classmethod
    def of(cls, **values: Any) -> ReviewOptions:
        """From flat field names of both groups (the CLI, tests); the rest keep their defaults."""
        layout_names = {f.name for f in fields(ReviewLayout)}
        page_names = {f.name for f in fields(PageOptions)}
        unknown = set(values) - layout_names - page_names
        if unknown:
            raise TypeError(f"unknown review option(s): {', '.join(sorted(unknown))}")
        return cls(
            ReviewLayout(**{k: v for k, v in values.items() if k in layout_names}),
            PageOptions(**{k: v for k, v in values.items() if k in page_names}),
        )


def _get(config: Mapping[str, Any], dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = value[part]
    return value


def layout_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`ReviewLayout` fields of a validated config, as plain values (a rule param)."""
    return {name: _get(config, key) for name, key in LAYOUT_KEYS.items()}


def page_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`PageOptions` fields of a validated config, as plain values (a rule param)."""
    return {name: _get(config, key) for name, key in PAGE_KEYS.items()}


def network_record(network: PathLike) -> dict[str, str]:
    """``{"file": path as given, "sha256": of its bytes}`` of the generator a review or its suggestions were
    rendered with — what review.json, suggestions.json and the exported seed list record."""
    from synthfer.io import sha256_file

    return {"file": str(network), "sha256": sha256_file(network)}
