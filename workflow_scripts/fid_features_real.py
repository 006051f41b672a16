"""Rule fid_features_real: FID/KID features (+ cached statistics) of the resized real crops."""

from synthfer.iqa.features import real_features
from synthfer.logs import log_to

log_to(snakemake.log[0])
real_features(
    references_npz=snakemake.input.references,
    out_npz=snakemake.output.features,
    out_summary=snakemake.output.summary,
    extractor=snakemake.wildcards.extractor,
    weights=snakemake.params.weights,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
