"""Rule annotate: seed-ID labels of one synthetic variant."""

from synthfer.annotate.labels import annotate_variant
from synthfer.logs import log_to

log_to(snakemake.log[0])
annotate_variant(
    names_source=snakemake.input.names,
    names_kind=snakemake.params.names_kind,
    plan_csv=snakemake.input.plan,
    seed_labels_csv=snakemake.input.seed_labels,
    out_npy=snakemake.output.labels,
    out_names=snakemake.output.names,
    out_csv=snakemake.output.table,
    out_counts=snakemake.output.counts,
    out_plot=snakemake.output.plot,
    variant=snakemake.wildcards.variant,
    unknown_seed=snakemake.params.unknown_seed,
)
