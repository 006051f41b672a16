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

# gan.network: which network latent directions, the review and generation use (synthfer.gan.network_choice).
# (checked with the rest of the config by synthfer.config.check_config, rules/common.smk)
from synthfer.gan.network_choice import face_check_snapshots  # nothing heavy

GAN_SNAPSHOT_DIR = results_path("gan/snapshots")
# The network every later phase reads: a copy of the chosen file, written only if it makes faces.
NETWORK_SELECTED = results_path("gan/network-selected.pt")


rule gan_dataset:
    input:
        crops=results_path("faces/real"),
    output:
        zip=results_path("gan/dataset.zip"),
    log:
        "logs/gan_dataset/gan_dataset.log",
    benchmark:
        "benchmarks/rules/gan_dataset/gan_dataset.tsv"
    conda:
        "../envs/gan.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(2000),
    params:
        resolution=GAN["resolution"],
        resize_filter=GAN["resize_filter"],
    script:
        "../workflow_scripts/gan_dataset.py"


rule gan_train:
    input:
        dataset=results_path("gan/dataset.zip"),
        resume=[GAN["resume_from"]] if GAN["resume_from"] else [],
        # transfer learning: the network a new run starts from (replacing the file re-runs training)
        start=[GAN["start_from"]] if GAN["start_from"] else [],
    output:
        final=protected(results_path("gan/network-final.pt")),
        training_log=results_path("gan/training_log.jsonl"),
        fakes=report(results_path("gan/fakes-final.png"), caption="report/gan_fakes.rst", category="2 GAN"),
    log:
        "logs/gan_train/gan_train.log",
    benchmark:
        "benchmarks/rules/gan_train/gan_train.tsv"
    conda:
        "../envs/gan.yaml"
    threads: GAN["threads"]
    resources:
        gpu=1,
        mem_mb=mem_mb_per_attempt(GAN["mem_mb"]),
    params:
        # the folder of network-final.pt; snapshots go to its snapshots/ subfolder
        run_dir=lambda w, output: os.path.dirname(output.final),
        options=GAN_OPTIONS,
        time_limit_minutes=GAN["time_limit_minutes"],
        # the optional starting checkpoint, taken from the input (so a new file re-runs training)
        resume_from=lambda w, input: input.resume[0] if input.resume else None,
        start_from=lambda w, input: input.start[0] if input.start else None,
        device=GAN["device"],
    script:
        "../workflow_scripts/gan_train.py"


# The face check, step 1 of 3: a small sample of images per network (step 2 is the faces phase's rule
# faces_filter_gan_samples, step 3 the gate in gan_network). docs/gan.md "Face check".
rule gan_face_samples:
    input:
        # training is complete once network-final.pt exists; the snapshots beside it are read, not declared
        final=results_path("gan/network-final.pt"),
    output:
        images=directory(results_path("gan/face_check/samples")),
        samples=results_path("gan/face_check/samples.csv"),
        networks=results_path("gan/face_check/samples.json"),
    log:
        "logs/gan_face_samples/gan_face_samples.log",
    benchmark:
        "benchmarks/rules/gan_face_samples/gan_face_samples.tsv"
    conda:
        "../envs/gan.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=mem_mb_per_attempt(GAN["face_check"]["mem_mb"]),
    params:
        snapshot_dir=GAN_SNAPSHOT_DIR,
        # "all" with snapshot FID on (the rate joins snapshot_fid.csv), else the snapshot gan.network names
        snapshots=face_check_snapshots(GAN["network"], GAN["snapshot_fid"]["enabled"]),
        images=GAN["face_check"]["images"],
        truncation_psi=GAN["face_check"]["truncation_psi"],
        seed=GAN["face_check"]["seed"],
        batch_size=GAN["face_check"]["batch_size"],
        device=GAN["device"],
    script:
        "../workflow_scripts/gan_face_samples.py"


rule gan_snapshot_fid:
    input:
        # training is complete once network-final.pt exists; the snapshots beside it are read, not declared
        final=results_path("gan/network-final.pt"),
        real=results_path(f"iqa/features/{config['iqa']['fid']['extractor']}/real.npz"),
        references=results_path("iqa/references.npz"),
        face_samples=results_path("gan/face_check/samples.csv"),
        face_detections=results_path("gan/face_check/detections.csv"),
    output:
        table=results_path("gan/snapshot_fid.csv"),
        summary=results_path("gan/snapshot_fid.json"),
    log:
        "logs/gan_snapshot_fid/gan_snapshot_fid.log",
    benchmark:
        "benchmarks/rules/gan_snapshot_fid/gan_snapshot_fid.tsv"
    conda:
        "../envs/gan.yaml"
    threads: GAN["snapshot_fid"]["threads"]
    resources:
        gpu=1,
        mem_mb=mem_mb_per_attempt(GAN["snapshot_fid"]["mem_mb"]),
    params:
        snapshot_dir=lambda w, input: os.path.join(os.path.dirname(input.final), "snapshots"),
        extractor=config["iqa"]["fid"]["extractor"],
        weights=config["iqa"]["fid"]["inception_weights"],
        images=GAN["snapshot_fid"]["images"],
        truncation_psi=GAN["snapshot_fid"]["truncation_psi"],
        seed=GAN["snapshot_fid"]["seed"],
        batch_size=GAN["snapshot_fid"]["batch_size"],
        device=GAN["device"],
    script:
        "../workflow_scripts/gan_snapshot_fid.py"


localrules:
    gan_network,
    gan_snapshot_plot,


# The face gate and the network choice (gan.network): stops before the review when the chosen network makes
# no faces; otherwise copies it to NETWORK_SELECTED. 'final' and a kimg need no FID.
rule gan_network:
    input:
        final=results_path("gan/network-final.pt"),
        samples=results_path("gan/face_check/samples.csv"),
        networks=results_path("gan/face_check/samples.json"),
        detections=results_path("gan/face_check/detections.csv"),
        snapshot_fid=[results_path("gan/snapshot_fid.csv")] if GAN["network"] == "best_fid" else [],
    output:
        network=NETWORK_SELECTED,
        info=results_path("gan/network-selected.json"),
    log:
        "logs/gan_network/gan_network.log",
    benchmark:
        "benchmarks/rules/gan_network/gan_network.tsv"
    conda:
        "../envs/gan.yaml"
    params:
        network=GAN["network"],
        min_detection_rate=GAN["face_check"]["min_detection_rate"],
        resolution=GAN["resolution"],
        snapshot_dir=GAN_SNAPSHOT_DIR,
    script:
        "../workflow_scripts/gan_network.py"


rule gan_snapshot_plot:
    input:
        table=results_path("gan/snapshot_fid.csv"),
        selected=results_path("gan/network-selected.json"),
    output:
        plot=report(results_path("gan/snapshot_fid.png"), caption="report/gan_snapshot_fid.rst", category="2 GAN"),
    log:
        "logs/gan_snapshot_plot/gan_snapshot_plot.log",
    benchmark:
        "benchmarks/rules/gan_snapshot_plot/gan_snapshot_plot.tsv"
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/gan_snapshot_plot.py"


TARGETS["gan"] = [
    results_path("gan/dataset.zip"),
    results_path("gan/network-final.pt"),
    results_path("gan/training_log.jsonl"),
    results_path("gan/fakes-final.png"),
    NETWORK_SELECTED,
]
if GAN["snapshot_fid"]["enabled"]:
    TARGETS["gan"] += [results_path("gan/snapshot_fid.csv"), results_path("gan/snapshot_fid.png")]
