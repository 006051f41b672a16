"""Rule generate_shard: render one shard of the plan to {seed}_{order:06d}.png."""

from synthfer.generate.shard import generate_shard
from synthfer.logs import log_to

log_to(snakemake.log[0])
generate_shard(
    network=snakemake.input.network,
    directions_npz=snakemake.input.directions,
    plan_csv=snakemake.input.plan,
    shard=int(snakemake.wildcards.shard),
    out_dir=snakemake.output.images,
    manifest_path=snakemake.output.manifest,
    meta_path=snakemake.output.meta,
    batch_size=snakemake.params.batch_size,
    noise_mode=snakemake.params.noise_mode,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
