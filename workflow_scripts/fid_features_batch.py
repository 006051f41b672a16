"""Rule fid_features_batch: FID/KID features of one batch of synthetic images."""

from synthfer.iqa.features import batch_features
from synthfer.logs import log_to

log_to(snakemake.log[0])
batch_features(
    batches_csv=snakemake.input.batches,
    batch=int(snakemake.wildcards.batch),
    synthetic_root=f"{snakemake.input.raw}/..",
    references_npz=snakemake.input.references,
    out_npz=snakemake.output.features,
    out_summary=snakemake.output.summary,
    extractor=snakemake.wildcards.extractor,
    weights=snakemake.params.weights,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
