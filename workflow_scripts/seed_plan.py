"""Rule seed_plan: validate the reviewed seed list and write the generation plan."""

from synthfer.logs import log_to
from synthfer.seeds.plan import write_seed_plan

log_to(snakemake.log[0])
write_seed_plan(
    seeds_file=snakemake.input.seeds,
    missing_seeds_file=snakemake.params.missing_seeds_file,
    directions=snakemake.input.directions,
    plan_path=snakemake.output.plan,
    seed_labels_path=snakemake.output.seed_labels,
    meta_path=snakemake.output.meta,
    n_shards=snakemake.params.n_shards,
    default_layers=tuple(snakemake.params.edit_layers),
    review_page=snakemake.input.review,
    network=snakemake.input.network,
    allow_other_network=snakemake.params.allow_other_network,
)
