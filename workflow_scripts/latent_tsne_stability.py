"""Rule latent_tsne_stability: repeated t-SNE runs of the sampled w and their pairwise stability."""

from synthfer.latent.tsne import tsne_stability
from synthfer.logs import log_to

log_to(snakemake.log[0])
tsne_stability(
    directions_npz=snakemake.input.directions,
    samples_npy=snakemake.input.samples,
    out_runs=snakemake.output.runs,
    out_heatmap=snakemake.output.heatmap,
    out_table=snakemake.output.table,
    out_summary=snakemake.output.summary,
    runs=snakemake.params.runs,
    tsne_samples=snakemake.params.tsne_samples,
    perplexity=snakemake.params.perplexity,
    seed=snakemake.params.seed,
)
