# Reviewed seed lists → the generation plan (the single source of truth for names and labels).
# When the seeds file does not exist yet (a first real run), the default target ends successfully at the
# review material and the next step is printed once (docs/latent.md); asking for the plan (or anything
# after it) explicitly still stops at seed_plan with the same instructions.
from pathlib import Path as _SeedsPath

SEEDS_FILE = config["seeds"]["file"]
SEEDS_READY = _SeedsPath(SEEDS_FILE).is_file()
REVIEW_PAGE = results_path("review/index.html")
SEEDS_MISSING_MESSAGE = (
    f"Next step: review the seeds. The reviewed seed list {SEEDS_FILE} does not exist yet, so this run ends at "
    f"the review material. Open {REVIEW_PAGE} in a browser, tick the AUs (or neutral) per seed, press "
    f"'Export seeds YAML', save the text as {SEEDS_FILE} and run snakemake again."
)
# Phases whose targets need no reviewed seeds: rule all stops here while the seed list is missing (the GAN's
# snapshot FID and face check need only the real crops, so the chosen network is known before the review).
PHASES_BEFORE_REVIEW = ("demo", "faces", "gan", "latent")


include: "review_stop.smk"


localrules:
    seed_plan,


rule seed_plan:
    input:
        directions=results_path("latent/directions.npz"),
        # the generator the plan will be rendered with: the reviewed seeds must come from it
        network=rules.review_material.input.network,
        # Without the seed list, wait for the review material so the stop comes after it is built.
        seeds=SEEDS_FILE if SEEDS_READY else [],
        review=[] if SEEDS_READY else REVIEW_PAGE,
    output:
        plan=results_path("seeds/plan.csv"),
        seed_labels=results_path("seeds/seed_labels.csv"),
        meta=results_path("seeds/plan.json"),
    log:
        "logs/seed_plan/seed_plan.log",
    benchmark:
        "benchmarks/rules/seed_plan/seed_plan.tsv"
    conda:
        "../envs/report.yaml"
    params:
        # only set while the seed list is missing (then it is not an input): the path the stop message names
        missing_seeds_file=[] if SEEDS_READY else SEEDS_FILE,
        n_shards=config["generate"]["shards"],
        edit_layers=config["latent"]["edit_layers"],
        allow_other_network=config["seeds"]["allow_other_network"],
    message:
        f"Planning the images to generate from {SEEDS_FILE}" if SEEDS_READY else SEEDS_MISSING_MESSAGE
    script:
        "../workflow_scripts/seed_plan.py"


TARGETS["seeds"] = [results_path("seeds/plan.csv")]
