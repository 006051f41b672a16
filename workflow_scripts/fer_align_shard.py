"""Rule fer_align_shard: align one shard of the labelled table's photographs with the faces phase's settings."""

from synthfer.fer.align import align_table_shard
from synthfer.logs import log_to

log_to(snakemake.log[0])
p = snakemake.params
align_table_shard(
    table=snakemake.input.table,
    out_dir=snakemake.output.crops,
    out_report=snakemake.output.report,
    shard=int(snakemake.wildcards.shard),
    n_shards=p.n_shards,
    settings=p.settings,
    image_root=p.image_root,
)
