"""Rule faces_report: contact sheet, rejection sheet and (with metadata) distribution plots."""

from synthfer.faces.report import faces_report
from synthfer.logs import log_to

log_to(snakemake.log[0])
faces_report(
    crops_dir=snakemake.input.crops,
    manifest=snakemake.input.manifest,
    outputs=dict(snakemake.output.items()),
    metadata=snakemake.input.metadata[0] if snakemake.input.metadata else None,
    id_column=snakemake.params.id_column,
    columns=list(snakemake.params.columns),
    n_faces=snakemake.params.n_faces,
)
