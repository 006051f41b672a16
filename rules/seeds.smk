# Reviewed seed lists → the generation plan (the single source of truth for names and labels).
# When the seeds file does not exist yet (a first real run), seed_plan waits for the review material
# and then stops with instructions instead of failing at DAG construction (docs/latent.md).
from pathlib import Path as _SeedsPath

SEEDS_FILE = config["seeds"]["file"]
SEEDS_READY = _SeedsPath(SEEDS_FILE).is_file()
SEEDS_MISSING_MESSAGE = (
    f"The reviewed seed list {SEEDS_FILE} does not exist yet: this run builds the review material and then "
    "stops at rule seed_plan. Open results/review/index.html in a browser, tick the AUs (or neutral) per "
    f"seed, export the seed list, save it as {SEEDS_FILE} and run snakemake again."
)
if not SEEDS_READY:
    logger.warning(SEEDS_MISSING_MESSAGE)


localrules:
    seed_plan,


rule seed_plan:
    message:
        f"Planning the images to generate from {SEEDS_FILE}" if SEEDS_READY else SEEDS_MISSING_MESSAGE
    input:
        directions="results/latent/directions.npz",
        # Without the seed list, wait for the review material so the stop comes after it is built.
        seeds=SEEDS_FILE if SEEDS_READY else [],
        review=[] if SEEDS_READY else "results/review/index.html",
    output:
        plan="results/seeds/plan.csv",
        seed_labels="results/seeds/seed_labels.csv",
        meta="results/seeds/plan.json",
    log:
        "logs/seed_plan/seed_plan.log",
    benchmark:
        "benchmarks/rules/seed_plan/seed_plan.tsv"
    params:
        # only set while the seed list is missing (then it is not an input): the path the stop message names
        missing_seeds_file=[] if SEEDS_READY else SEEDS_FILE,
        n_shards=config["generate"]["shards"],
        edit_layers=config["latent"]["edit_layers"],
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/seed_plan.py"


TARGETS["seeds"] = ["results/seeds/plan.csv"]
