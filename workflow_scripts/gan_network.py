"""Rule gan_network: choose the network for the review and generation, gate it on the face check, copy it."""

from synthfer.gan.network_choice import select_network
from synthfer.logs import log_to

log_to(snakemake.log[0])
select_network(
    network=snakemake.params.network,
    final=snakemake.input.final,
    snapshot_dir=snakemake.params.snapshot_dir,
    samples_csv=snakemake.input.samples,
    detections_csv=snakemake.input.detections,
    out_pt=snakemake.output.network,
    out_json=snakemake.output.info,
    min_detection_rate=snakemake.params.min_detection_rate,
    snapshot_fid_csv=snakemake.input.snapshot_fid[0] if snakemake.input.snapshot_fid else None,
    resolution=snakemake.params.resolution,
)
