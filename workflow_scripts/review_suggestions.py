"""Rule review_suggestions: the real_only ensemble's AU probabilities for the review's faces and grid cells."""

from synthfer.latent.assistant import write_suggestions
from synthfer.logs import log_to

log_to(snakemake.log[0])
write_suggestions(
    network=snakemake.input.network,
    directions_npz=snakemake.input.directions,
    models=list(snakemake.input.models),
    out_csv=snakemake.output.table,
    meta_json=snakemake.output.meta,
    seed_start=snakemake.params.seed_start,
    seed_count=snakemake.params.seed_count,
    grid_seeds=snakemake.params.grid_seeds,
    grid_directions=snakemake.params.grid_directions,
    grid_degrees=snakemake.params.grid_degrees,
    truncation_psi=snakemake.params.truncation_psi,
    edit_layers=tuple(snakemake.params.edit_layers),
    noise_mode=snakemake.params.noise_mode,
    batch_size=snakemake.params.batch_size,
    threshold=snakemake.params.threshold,
    backend=snakemake.params.backend,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
