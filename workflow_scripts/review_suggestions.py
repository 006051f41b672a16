"""Rule review_suggestions: the real_only ensemble's AU probabilities for the review's faces and grid cells."""

from synthfer.latent.assistant import write_suggestions
from synthfer.latent.options import ReviewLayout
from synthfer.logs import log_to

log_to(snakemake.log[0])
write_suggestions(
    network=snakemake.input.network,
    directions_npz=snakemake.input.directions,
    models=list(snakemake.input.models),
    out_csv=snakemake.output.table,
    meta_json=snakemake.output.meta,
    layout=ReviewLayout(**snakemake.params.layout),
    batch_size=snakemake.params.batch_size,
    threshold=snakemake.params.threshold,
    backend=snakemake.params.backend,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
