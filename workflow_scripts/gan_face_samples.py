"""Rule gan_face_samples: a small sample of images per trained network for the face check."""

from synthfer.gan.face_check import write_face_check_samples
from synthfer.logs import log_to

log_to(snakemake.log[0])
write_face_check_samples(
    final=snakemake.input.final,
    snapshot_dir=snakemake.params.snapshot_dir,
    snapshots=snakemake.params.snapshots,
    out_dir=snakemake.output.images,
    out_csv=snakemake.output.samples,
    n_images=snakemake.params.images,
    truncation_psi=snakemake.params.truncation_psi,
    seed=snakemake.params.seed,
    batch_size=snakemake.params.batch_size,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
