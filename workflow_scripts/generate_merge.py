"""Rule generate_merge: join shards, face filter and plan labels into the synthetic manifest."""

from synthfer.generate.merge import generate_merge
from synthfer.logs import log_to

log_to(snakemake.log[0])
generate_merge(
    plan_csv=snakemake.input.plan,
    shard_manifests=snakemake.input.manifests,
    shard_dirs=snakemake.input.images,
    face_filters=snakemake.input.face_filter,
    raw_dir=snakemake.output.raw,
    manifest_path=snakemake.output.manifest,
    meta_path=snakemake.output.meta,
)
