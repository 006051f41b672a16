"""Rule fid_kid: FID and KID, overall and per class, before and after selection."""

from synthfer.logs import log_to
from synthfer.select.distance import fid_kid_table

log_to(snakemake.log[0])
fid_kid_table(
    real_npz=snakemake.input.real,
    batch_npzs=list(snakemake.input.batches),
    manifest_csv=snakemake.input.manifest,
    selected_csv=snakemake.input.selected,
    out_csv=snakemake.output.table,
    out_summary=snakemake.output.summary,
    kid_subsets=snakemake.params.kid_subsets,
    kid_subset_size=snakemake.params.kid_subset_size,
    seed=snakemake.params.seed,
)
