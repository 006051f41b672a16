# synthfer — real faces → StyleGAN2-ADA → reviewed latent edits → synthetic images → Training Data
# Selection → seed-ID labels → cross-validated AU classifier.
#
# Parse time must stay instant (dry-runs on login nodes): nothing heavy is imported here or in
# rules/*.smk — torch, tensorflow, cv2 and dlib are imported only inside the jobs.
from snakemake.utils import min_version

min_version("9.0")


# The thesis-scale config, unless --configfile names another: a config file given on the command line
# REPLACES it (Snakemake would otherwise merge the two, and thesis values would leak into e.g. the
# demo). --config KEY=VALUE overrides apply on top of either.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "rules/report/workflow.rst"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/faces.smk"
include: "rules/gan.smk"
include: "rules/latent.smk"
include: "rules/seeds.smk"
include: "rules/generate.smk"
include: "rules/iqa_common.smk"
include: "rules/iqa.smk"
include: "rules/select.smk"
include: "rules/annotate.smk"


if fer_enabled(config):  # fer.enabled: false leaves the whole FER phase out (and the answer it gives)

    include: "rules/fer.smk"
    include: "rules/landing.smk"


include: "rules/assistant.smk"


rule all:
    default_target: True
    input:
        default_targets(),  # all_targets(), or only those before the review while the seed list is missing (rules/review_stop.smk)
