"""Parse-time checks of the ``select`` section that a schema cannot express (run by
:func:`synthfer.config.check_config`, and again by :func:`synthfer.select.selection.select`).
Standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthfer import ConfigError


def check_thresholds(thresholds: Mapping[str, Any] | None, key: str = "select.thresholds") -> None:
    """Raise :class:`ConfigError` when a threshold can reject every image by itself: ``min > max``
    (no value lies in the range) or a bound that is not a number.

    Names of metrics and bounds are checked by the schema; this is the check a schema cannot express.
    """
    problems = []
    for metric, bounds in (thresholds or {}).items():
        if not isinstance(bounds, Mapping):
            problems.append(f"config key '{key}.{metric}': {bounds!r} is not a mapping. Fix: write {{min: v}} and/or {{max: v}}.")
            continue
        lo, hi = bounds.get("min"), bounds.get("max")
        for op, v in (("min", lo), ("max", hi)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v != v):
                problems.append(f"config key '{key}.{metric}.{op}': {v!r} is not a number. Fix: give a number or drop the bound.")
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo > hi:
            problems.append(
                f"config key '{key}.{metric}': min {lo:g} is greater than max {hi:g}, so every image would be "
                f"rejected. Fix: make min <= max (did you swap them?) or drop one of the bounds."
            )
    if problems:
        raise ConfigError("\n".join(problems))
