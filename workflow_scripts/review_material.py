"""Rule review_material: contact sheets, edit grids, strips and the offline review page."""

from synthfer.latent.options import ReviewOptions
from synthfer.latent.review import write_review
from synthfer.logs import log_to

log_to(snakemake.log[0])
write_review(
    network=snakemake.input.network,
    directions_npz=snakemake.input.directions,
    page_path=snakemake.output.page,
    options=ReviewOptions.from_params(snakemake.params.layout, snakemake.params.page),
    device=snakemake.params.device,
    threads=snakemake.threads,
    suggestions=snakemake.input.suggestions or None,
    suggestion_threshold=snakemake.params.suggestion_threshold,
)
