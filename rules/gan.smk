# Rules of phase 2 — gan: the crops as an NVIDIA-format dataset, then StyleGAN2-ADA training with exact
# resume. Formats and the time-limit behaviour: docs/gan.md.
#
# results/gan/snapshots/ is deliberately NOT an output: Snakemake deletes a job's outputs before running
# it, and the snapshots are what a re-run (after a time limit or a crash) resumes from.
import os

from synthfer.gan.options import training_options  # standard library only

GAN = config["gan"]
# The training options of the section (their names and defaults are defined once, in
# synthfer.gan.options.DEFAULTS); every other key of the section is used by the rules below.
GAN_OPTIONS = training_options(GAN)


rule gan_dataset:
    input:
        crops="results/faces/real",
    output:
        zip="results/gan/dataset.zip",
    log:
        "logs/gan_dataset/gan_dataset.log",
    benchmark:
        "benchmarks/rules/gan_dataset/gan_dataset.tsv"
    params:
        resolution=GAN["resolution"],
        resize_filter=GAN["resize_filter"],
    resources:
        mem_mb=2000,
    conda:
        "../envs/gan.yaml"
    script:
        "../workflow_scripts/gan_dataset.py"


rule gan_train:
    input:
        dataset="results/gan/dataset.zip",
        resume=[GAN["resume_from"]] if GAN["resume_from"] else [],
        # transfer learning: the network a new run starts from (replacing the file re-runs training)
        start=[GAN["start_from"]] if GAN["start_from"] else [],
    output:
        final="results/gan/network-final.pt",
        training_log="results/gan/training_log.jsonl",
        fakes=report("results/gan/fakes-final.png", caption="report/gan_fakes.rst", category="2 GAN"),
    log:
        "logs/gan_train/gan_train.log",
    benchmark:
        "benchmarks/rules/gan_train/gan_train.tsv"
    params:
        # the folder of network-final.pt; snapshots go to its snapshots/ subfolder
        run_dir=lambda w, output: os.path.dirname(output.final),
        options=GAN_OPTIONS,
        time_limit_minutes=GAN["time_limit_minutes"],
        # the optional starting checkpoint, taken from the input (so a new file re-runs training)
        resume_from=lambda w, input: input.resume[0] if input.resume else None,
        start_from=lambda w, input: input.start[0] if input.start else None,
        device=GAN["device"],
    threads: GAN["threads"]
    resources:
        mem_mb=GAN["mem_mb"],
    conda:
        "../envs/gan.yaml"
    script:
        "../workflow_scripts/gan_train.py"


rule gan_snapshot_fid:
    input:
        # training is complete once network-final.pt exists; the snapshots beside it are read, not declared
        final="results/gan/network-final.pt",
        real=f"results/iqa/features/{config['iqa']['fid']['extractor']}/real.npz",
        references="results/iqa/references.npz",
    output:
        table="results/gan/snapshot_fid.csv",
        plot=report("results/gan/snapshot_fid.png", caption="report/gan_snapshot_fid.rst", category="2 GAN"),
    log:
        "logs/gan_snapshot_fid/gan_snapshot_fid.log",
    benchmark:
        "benchmarks/rules/gan_snapshot_fid/gan_snapshot_fid.tsv"
    params:
        snapshot_dir=lambda w, input: os.path.join(os.path.dirname(input.final), "snapshots"),
        extractor=config["iqa"]["fid"]["extractor"],
        weights=config["iqa"]["fid"]["inception_weights"],
        images=GAN["snapshot_fid"]["images"],
        truncation_psi=GAN["snapshot_fid"]["truncation_psi"],
        seed=GAN["snapshot_fid"]["seed"],
        batch_size=GAN["snapshot_fid"]["batch_size"],
        device=GAN["device"],
    threads: GAN["snapshot_fid"]["threads"]
    resources:
        mem_mb=GAN["snapshot_fid"]["mem_mb"],
    conda:
        "../envs/gan.yaml"
    script:
        "../workflow_scripts/gan_snapshot_fid.py"


TARGETS["gan"] = [
    "results/gan/dataset.zip",
    "results/gan/network-final.pt",
    "results/gan/training_log.jsonl",
    "results/gan/fakes-final.png",
]
if GAN["snapshot_fid"]["enabled"]:
    TARGETS["gan"] += ["results/gan/snapshot_fid.csv", "results/gan/snapshot_fid.png"]
