"""Rule annotate_pseudo_predict: each real_only fold model predicts the generated images (one table per model)."""

from synthfer.fer.predict import predict_each
from synthfer.logs import log_to

log_to(snakemake.log[0])
predict_each(
    models=list(snakemake.input.models),
    images=snakemake.input.images,
    out_csvs=list(snakemake.output.tables),
    batch_size=snakemake.params.batch_size,
    backend=snakemake.params.backend,
    threads=snakemake.threads,
)
