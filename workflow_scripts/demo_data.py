"""Rule demo_data: render the CFD-like and DISFA-like demo sets."""

from pathlib import Path

from synthfer.demo.dataset import make_demo_data
from synthfer.logs import log_to

log_to(snakemake.log[0])
make_demo_data(
    real_dir=snakemake.output.real,
    metadata_csv=snakemake.output.metadata,
    truth_csv=snakemake.output.truth,
    disfa_dir=Path(snakemake.output.disfa_labels).parent,
    sidecar=snakemake.output.sidecar,
    seed=snakemake.params.seed,
    real=dict(snakemake.params.real),
    disfa=dict(snakemake.params.disfa),
    workers=snakemake.threads,
)
