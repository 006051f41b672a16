import os

# Deployment settings every rule file may use (config section `deploy`, config/schema/deploy.schema.yaml).
# Included by rules/common.smk, and by rules/fer.smk when a workflow includes that file alone
# (tests/test_fer_workflow.py), so the section may be missing here (its defaults then apply).
_DEPLOY = config.get("deploy") or {}

# deploy.results: the folder every workflow output is written under ("results"; a host workflow that `module`s
# this one, or a second run beside the first, names another). The rules name outputs results_path("gan/x.pt").
RESULTS = os.path.normpath(str(_DEPLOY.get("results", "results")))


def results_path(path=""):
    """'<deploy.results>/<path>'; wildcards ({shard}) pass through. A path that already starts with 'results/'
    (from a synthfer helper such as synthfer.variants.seed_id_source) is moved under deploy.results."""
    path = str(path)
    if path.startswith("results/"):
        path = path[len("results/") :]
    return f"{RESULTS}/{path}"


# deploy.fer_env: the FER rules' conda environment, the CPU build or the CUDA build for GPU partitions. The path
# is relative to the .smk file that names it (rules/fer.smk, annotate.smk, assistant.smk), like every conda path.
FER_CONDA_ENV = {"cpu": "../envs/fer.yaml", "gpu": "../envs/fer-gpu.yaml"}[_DEPLOY.get("fer_env", "cpu")]


def mem_mb_per_attempt(mb):
    """A rule's `mem_mb` that grows with Snakemake's attempt: `mb` MB on the first, twice that on the second, …
    (profiles/slurm resubmits failed jobs: one killed for memory then gets more). profiles/slurm's own
    `mem_mb: "<N> * attempt"` entries do the same for the values it sets."""
    return lambda wildcards, attempt: int(mb) * attempt
