"""Rule report_landing: the report's first page — the answer table and the run's key counts."""

from synthfer.logs import log_to
from synthfer.report.landing import report_landing

log_to(snakemake.log[0])
report_landing(
    summary_csv=snakemake.input.summary,
    wilcoxon_csv=snakemake.input.wilcoxon,
    variants=list(snakemake.params.variants),
    out_answer=snakemake.output.answer,
    out_counts=snakemake.output.counts,
    out_rst=snakemake.output.rst,
    level=snakemake.params.level,
    demo=snakemake.params.demo,
    network_file=snakemake.params.network_file,
    network_kimg=snakemake.params.network_kimg,
    training_counts={v: snakemake.input[f"count_{v}"] for v in snakemake.params.training_counts},
    **{key: snakemake.input[key] for key in snakemake.params.count_keys},
)
