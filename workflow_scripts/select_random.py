"""Rules select_random / select_random_draw / select_ablation_random / select_ablation_random_draw: one draw of a
size-matched random control (synthetic_random of the TDS selection, synthetic_random_<metric> of an ablation)."""

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
    control=snakemake.params.control,
)
