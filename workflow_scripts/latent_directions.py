"""Rule latent_directions: GANSpace PCA of the generator's W space."""

from synthfer.latent.directions import write_directions
from synthfer.logs import log_to

log_to(snakemake.log[0])
write_directions(
    network=snakemake.input.network,
    out_npz=snakemake.output.directions,
    out_samples=snakemake.output.samples,
    n_samples=snakemake.params.n_samples,
    n_components=snakemake.params.n_components,
    seed=snakemake.params.seed,
    batch_size=snakemake.params.batch_size,
    std_samples=snakemake.params.std_samples,
    estimator=snakemake.params.estimator,
    keep_samples=snakemake.params.keep_samples,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
