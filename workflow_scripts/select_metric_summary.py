"""Rule select_metric_summary: the seed's Table 4.1 (CSV + HTML) and the metrics' rank correlations."""

from synthfer.logs import log_to
from synthfer.select.summary import select_metric_summary

log_to(snakemake.log[0])
select_metric_summary(
    score_paths=list(snakemake.input.scores),
    real_scores=snakemake.input.real,
    selected_csv=snakemake.input.selected,
    manifest_csv=snakemake.input.manifest,
    out_summary=snakemake.output.summary,
    out_html=snakemake.output.table,
    out_correlation=snakemake.output.correlation,
    out_within=snakemake.output.within,
    out_figure=snakemake.output.figure,
    ranked_metrics=list(snakemake.params.metrics),
)
