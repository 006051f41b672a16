"""Checkpoint iqa_batches: seeded partition of the face-filtered synthetic pool into scoring batches."""

from synthfer.iqa.batches import make_batches
from synthfer.logs import log_to

log_to(snakemake.log[0])
make_batches(
    manifest_csv=snakemake.input.manifest,
    out_csv=snakemake.output.batches,
    out_summary=snakemake.output.summary,
    batch_size=snakemake.params.batch_size,
    seed=snakemake.params.seed,
)
