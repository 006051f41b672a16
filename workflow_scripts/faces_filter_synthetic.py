"""Rules faces_filter_synthetic and faces_filter_gan_samples: detection-only face screen of a folder of
generated images (a generation shard, or the GAN's face-check samples)."""

from synthfer.faces.pipeline import filter_synthetic_shard
from synthfer.logs import log_to

log_to(snakemake.log[0])
filter_synthetic_shard(
    in_dir=snakemake.input.images,
    out_csv=snakemake.output[0],
    settings=dict(snakemake.params.settings),
)
