"""Rule score_batch: every IQA metric for every image of one batch."""

from synthfer.iqa.score import score_batch
from synthfer.logs import log_to

log_to(snakemake.log[0])
score_batch(
    batches_csv=snakemake.input.batches,
    batch=int(snakemake.wildcards.batch),
    synthetic_root=f"{snakemake.input.raw}/..",
    references_npz=snakemake.input.references,
    svr_model=snakemake.input.svr,
    out_parquet=snakemake.output.scores,
    out_summary=snakemake.output.summary,
    reference_mode=snakemake.params.reference_mode,
    chunk=snakemake.params.chunk,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
