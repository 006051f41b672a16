"""Rule fer_fold_table: cut the real labelled table's subjects into k folds."""

from synthfer.fer.folds import write_folds
from synthfer.logs import log_to

log_to(snakemake.log[0])
write_folds(table=snakemake.input.labels, out=snakemake.output.folds, k=snakemake.params.k)
