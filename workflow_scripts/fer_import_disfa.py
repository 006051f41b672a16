"""Rule fer_import_disfa: DISFA videos + AU label files -> cropped frames + the generic labelled table."""

from pathlib import Path

from synthfer.fer.disfa import import_disfa
from synthfer.logs import log_to

log_to(snakemake.log[0])
p = snakemake.params
import_disfa(
    root=p.root,
    out_dir=Path(snakemake.output.labels).parent,
    camera=p.camera,
    frames=p.frames,
    threshold=p.threshold,
    sampling=p.sampling,
    seed=p.seed,
    size=p.size,
    faces=p.faces,
)
