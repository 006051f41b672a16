"""The per-image quality scores: their names and directions, defined once.

The IQA phase writes one column per name of :data:`SCORE_METRICS` into every score table
(``results/iqa/scores/batch_*.parquet``); the selection ranks them with :data:`HIGHER_IS_BETTER`; the FER
variants ``synthetic_tds_<metric>`` and the select schema's metric lists take their names from here
(``tests/test_config_defaults.py`` checks the schema against :data:`SCORE_METRICS`). Standard library only:
imported at Snakefile parse time.
"""

from __future__ import annotations

FR_METRICS = ("rmse", "psnr", "ssim", "issm", "sam", "uiq")
"""Full-reference metrics (against the chosen real reference crop)."""
SCORE_METRICS = (*FR_METRICS, "brisque", "svr_severity")
"""Every per-image score column, in table order."""

# Direction of every per-image score column: True = higher is better.
HIGHER_IS_BETTER = {
    "rmse": False,
    "psnr": True,
    "ssim": True,
    "issm": True,
    "sam": False,
    "uiq": True,
    "brisque": False,
    "svr_severity": False,
}
