"""Rule select_links: results/synthetic/selected/ = hard links to the selected images (optional)."""

from synthfer.logs import log_to
from synthfer.select.selection import link_selected

log_to(snakemake.log[0])
link_selected(
    selected_csv=snakemake.input.selected,
    raw_dir=snakemake.input.raw,
    out_dir=snakemake.output.links,
)
