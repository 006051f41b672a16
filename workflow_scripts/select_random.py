"""Rules select_random / select_random_draw: one draw of the size-matched random control of the TDS selection
(variant synthetic_random)."""

from synthfer.logs import log_to
from synthfer.select.control import random_control

log_to(snakemake.log[0])
random_control(
    selected_csv=snakemake.input.selected,
    manifest_csv=snakemake.input.manifest,
    out_csv=snakemake.output.table,
    out_summary=snakemake.output.summary,
    seed=snakemake.params.seed,
    draw=snakemake.params.draw,
)
