"""Rule faces_real_shard: align one shard of the real photographs."""

from synthfer.faces.pipeline import align_shard
from synthfer.logs import log_to

log_to(snakemake.log[0])
align_shard(
    folder=snakemake.input.folder,
    out_dir=snakemake.output.crops,
    manifest_path=snakemake.output.manifest,
    shard=int(snakemake.wildcards.shard),
    n_shards=snakemake.params.n_shards,
    settings=dict(snakemake.params.settings),
)
