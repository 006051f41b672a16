"""Rule select: per-batch thresholds and ranking → selected.csv / rejected.csv (images untouched)."""

from synthfer.logs import log_to
from synthfer.select.selection import select

log_to(snakemake.log[0])
select(
    score_paths=list(snakemake.input.scores),
    manifest_csv=snakemake.input.manifest,
    out_selected=snakemake.output.selected,
    out_rejected=snakemake.output.rejected,
    out_summary=snakemake.output.summary,
    keep=snakemake.params.keep,
    batch_size=snakemake.params.batch_size,
    thresholds=dict(snakemake.params.thresholds),
    method=snakemake.params.method,
    metrics=list(snakemake.params.metrics),
    weights=dict(snakemake.params.weights),
    metric=snakemake.params.metric,
)
