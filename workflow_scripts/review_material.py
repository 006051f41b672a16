"""Rule review_material: contact sheets, edit grids, strips and the offline review page."""

from synthfer.latent.review import write_review
from synthfer.logs import log_to

log_to(snakemake.log[0])
write_review(
    network=snakemake.input.network,
    directions_npz=snakemake.input.directions,
    page_path=snakemake.output.page,
    device=snakemake.params.device,
    threads=snakemake.threads,
    seed_start=snakemake.params.seed_start,
    seed_count=snakemake.params.seed_count,
    cols=snakemake.params.cols,
    rows=snakemake.params.rows,
    thumb=snakemake.params.thumb,
    truncation_psi=snakemake.params.truncation_psi,
    grid_seeds=snakemake.params.grid_seeds,
    grid_directions=snakemake.params.grid_directions,
    grid_degrees=snakemake.params.grid_degrees,
    edit_layers=tuple(snakemake.params.edit_layers),
    strip_pairs=snakemake.params.strip_pairs,
    strip_steps=snakemake.params.strip_steps,
    batch_size=snakemake.params.batch_size,
    noise_mode=snakemake.params.noise_mode,
    seeds_file_hint=snakemake.params.seeds_file,
    image_format=snakemake.params.image_format,
    jpeg_quality=snakemake.params.jpeg_quality,
    suggestions=snakemake.input.suggestions or None,
    suggestion_threshold=snakemake.params.suggestion_threshold,
)
