"""Rule fer_predict: ensemble AU prediction for a folder of images with a variant's fold models."""

from synthfer.fer.predict import predict_folder
from synthfer.logs import log_to

log_to(snakemake.log[0])
predict_folder(
    models=list(snakemake.input.models),
    images=snakemake.input.images,
    out_csv=snakemake.output.table,
    out_json=snakemake.output.meta,
    threshold=snakemake.params.threshold,
    batch_size=snakemake.params.batch_size,
    backend=snakemake.params.backend,
    threads=snakemake.threads,
)
