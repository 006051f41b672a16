"""Rule demo_report: the demo data's figure for the Snakemake report."""

from synthfer.demo.report import demo_sheet
from synthfer.logs import log_to

log_to(snakemake.log[0])
demo_sheet(
    real_dir=snakemake.input.real,
    metadata_csv=snakemake.input.metadata,
    disfa_labels=snakemake.input.disfa_labels,
    out_png=snakemake.output.sheet,
    n_frames=snakemake.params.n_frames,
)
