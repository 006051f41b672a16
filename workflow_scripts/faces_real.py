"""Rule faces_real: merge the alignment shards into results/faces/real + the manifest."""

from synthfer.faces.pipeline import merge_real_shards
from synthfer.logs import log_to

log_to(snakemake.log[0])
merge_real_shards(
    shard_dirs=list(snakemake.input.crops),
    shard_manifests=list(snakemake.input.manifests),
    out_dir=snakemake.output.crops,
    manifest_path=snakemake.output.manifest,
    sidecar_path=snakemake.output.sidecar,
    settings=dict(snakemake.params.settings),
    source_folder=snakemake.params.source,
    seed=snakemake.params.seed,
)
