"""Rule gan_snapshot_plot: the snapshot-FID curve with the chosen network marked."""

from synthfer.gan.snapshot_fid import plot_snapshot_fid_files
from synthfer.logs import log_to

log_to(snakemake.log[0])
plot_snapshot_fid_files(
    table_csv=snakemake.input.table,
    selected_json=snakemake.input.selected,
    out_png=snakemake.output.plot,
)
