"""Rule latent_plots: explained variance, 2-D PCA and t-SNE of the sampled w."""

from synthfer.latent.directions import plot_directions
from synthfer.logs import log_to

log_to(snakemake.log[0])
plot_directions(
    directions_npz=snakemake.input.directions,
    samples_npy=snakemake.input.samples,
    out_variance=snakemake.output.variance,
    out_pca=snakemake.output.pca,
    out_tsne=snakemake.output.tsne,
    tsne_samples=snakemake.params.tsne_samples,
    perplexity=snakemake.params.perplexity,
    seed=snakemake.params.seed,
)
