"""Rule gan_snapshot_fid: FID (and face-check rate) of every training snapshot against the real crops."""

from synthfer.gan.snapshot_fid import snapshot_fid
from synthfer.logs import log_to

log_to(snakemake.log[0])
snapshot_fid(
    snapshot_dir=snakemake.params.snapshot_dir,
    real_npz=snakemake.input.real,
    references_npz=snakemake.input.references,
    out_csv=snakemake.output.table,
    out_summary=snakemake.output.summary,
    face_samples_csv=snakemake.input.face_samples,
    face_detections_csv=snakemake.input.face_detections,
    extractor=snakemake.params.extractor,
    n_images=snakemake.params.images,
    truncation_psi=snakemake.params.truncation_psi,
    seed=snakemake.params.seed,
    batch_size=snakemake.params.batch_size,
    weights=snakemake.params.weights,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
