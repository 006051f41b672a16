"""Rule select_feature_pca: the seed's Fig 4.3 — real, synthetic and selected images in FID feature space (PCA)."""

from synthfer.logs import log_to
from synthfer.select.summary import feature_projection

log_to(snakemake.log[0])
feature_projection(
    real_npz=snakemake.input.real,
    batch_npzs=list(snakemake.input.batches),
    selected_csv=snakemake.input.selected,
    out_csv=snakemake.output.table,
    out_figure=snakemake.output.figure,
    out_summary=snakemake.output.summary,
)
