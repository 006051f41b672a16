"""Rule annotate_pseudo: model labels (real_only ensemble) for the synthetic_all images, and their agreement with
the seed-ID labels."""

from synthfer.annotate.pseudo import annotate_pseudo
from synthfer.logs import log_to

log_to(snakemake.log[0])
annotate_pseudo(
    predictions_csv=snakemake.input.predictions,
    predictions_json=snakemake.input.predictions_meta,
    seed_labels_csv=snakemake.input.seed_labels,
    seed_names_txt=snakemake.input.seed_names,
    out_npy=snakemake.output.labels,
    out_names=snakemake.output.names,
    out_csv=snakemake.output.table,
    out_counts=snakemake.output.counts,
    out_plot=snakemake.output.plot,
    out_agreement=snakemake.output.agreement,
    out_agreement_html=snakemake.output.agreement_html,
    out_agreement_json=snakemake.output.agreement_summary,
    threshold=snakemake.params.threshold,
)
