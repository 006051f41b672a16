"""Rule iqa_references: real crops resized to the synthetic size (+ low-res vectors, mean crop)."""

from synthfer.iqa.references import build_references, synthetic_size
from synthfer.logs import log_to

log_to(snakemake.log[0])
build_references(
    crops_dir=snakemake.input.crops,
    out_npz=snakemake.output.references,
    size=synthetic_size(snakemake.input.manifest, synthetic_root=f"{snakemake.input.raw}/.."),
    nearest_size=snakemake.params.nearest_size,
)
