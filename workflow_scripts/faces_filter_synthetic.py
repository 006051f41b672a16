"""Rule faces_filter_synthetic: detection-only face screen of one generated shard."""

from synthfer.faces.pipeline import filter_synthetic_shard
from synthfer.logs import log_to

log_to(snakemake.log[0])
filter_synthetic_shard(
    in_dir=snakemake.input.images,
    out_csv=snakemake.output[0],
    settings=dict(snakemake.params.settings),
)
