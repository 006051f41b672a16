"""Rule iqa_real_scores: the metrics of the real crops (vs their nearest other crop), for the report."""

from synthfer.iqa.score import score_real
from synthfer.logs import log_to

log_to(snakemake.log[0])
score_real(
    references_npz=snakemake.input.references,
    svr_model=snakemake.input.svr,
    out_parquet=snakemake.output.scores,
    chunk=snakemake.params.chunk,
    threads=snakemake.threads,
)
