"""Rule select_figures: distributions, per-class metrics, FID/KID, threshold sweep, example grids."""

from pathlib import Path

from synthfer.logs import log_to
from synthfer.select.figures import make_figures

log_to(snakemake.log[0])
make_figures(
    score_paths=list(snakemake.input.scores),
    real_scores=snakemake.input.real,
    selected_csv=snakemake.input.selected,
    rejected_csv=snakemake.input.rejected,
    fid_kid_csv=snakemake.input.fid_kid,
    manifest_csv=snakemake.input.manifest,
    raw_dir=snakemake.input.raw,
    out_dir=Path(snakemake.output.distributions).parent,
    thresholds=dict(snakemake.params.thresholds),
    metrics=list(snakemake.params.metrics),
)
