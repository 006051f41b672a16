"""Rule fer_align_table: merge the aligned shards into one image folder and the rewritten labelled table."""

from pathlib import Path

from synthfer.fer.align import merge_aligned_table
from synthfer.logs import log_to

log_to(snakemake.log[0])
merge_aligned_table(
    table=snakemake.input.table,
    shard_dirs=list(snakemake.input.crops),
    shard_reports=list(snakemake.input.reports),
    out_dir=Path(snakemake.output.labels).parent,
    settings=snakemake.params.settings,
    image_root=snakemake.params.image_root,
)
