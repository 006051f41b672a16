"""Rule report_landing: the report's first page — the primary endpoint, the forest plot, the secondary table,
the safeguards the run switched off, and the run's key counts."""

from synthfer.logs import log_to
from synthfer.report.landing import report_landing

log_to(snakemake.log[0])
report_landing(
    summary_csv=snakemake.input.summary,
    comparisons_csv=snakemake.input.comparisons,
    variants=list(snakemake.params.variants),
    out_answer=snakemake.output.answer,
    out_counts=snakemake.output.counts,
    out_rst=snakemake.output.rst,
    level=snakemake.params.level,
    demo=snakemake.params.demo,
    primary_json=snakemake.input.primary,
    spread_csv=snakemake.input.spread,
    forest_png=snakemake.input.forest,
    alpha=snakemake.params.alpha,
    power=snakemake.params.power,
    allow_overlap=snakemake.params.allow_overlap,
    assistant=snakemake.params.assistant,
    protocol=dict(snakemake.params.protocol),
    training_counts={v: snakemake.input[f"count_{v}"] for v in snakemake.params.training_counts},
    **{key: snakemake.input[key] for key in snakemake.params.count_keys},
)
