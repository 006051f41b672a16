"""Rule iqa_references: real crops resized to the generated images' size (+ low-res vectors, mean crop)."""

from synthfer.iqa.references import build_references
from synthfer.logs import log_to

log_to(snakemake.log[0])
build_references(
    crops_dir=snakemake.input.crops,
    out_npz=snakemake.output.references,
    out_summary=snakemake.output.summary,
    size=(snakemake.params.resolution, snakemake.params.resolution),
    nearest_size=snakemake.params.nearest_size,
)
