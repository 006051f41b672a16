"""Rule gan_dataset: the aligned real crops as an NVIDIA-format dataset zip at the GAN resolution."""

from synthfer.gan.dataset import build_dataset_zip
from synthfer.logs import log_to

log_to(snakemake.log[0])
build_dataset_zip(
    crops_dir=snakemake.input.crops,
    out_zip=snakemake.output.zip,
    resolution=snakemake.params.resolution,
    resize_filter=snakemake.params.resize_filter,
)
