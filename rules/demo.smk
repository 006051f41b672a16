# Rules of the demo phase: the embedded demo data (procedurally drawn faces, no third-party images).
# Requested only through other rules' inputs (config/demo.yaml points real_images at results/demo/real;
# the FER phase reads results/demo/disfa_like/). Formats: docs/demo.md.

DEMO = config["demo"]


localrules:
    demo_data,


rule demo_data:
    output:
        real=directory("results/demo/real"),
        metadata="results/demo/real_metadata.csv",
        truth="results/demo/real_truth.csv",
        disfa_images=directory("results/demo/disfa_like/images"),
        disfa_labels="results/demo/disfa_like/labels.csv",
        sidecar="results/demo/demo_data.json",
    log:
        "logs/demo_data/demo_data.log",
    benchmark:
        "benchmarks/rules/demo_data/demo_data.tsv"
    params:
        seed=config["seed"],
        real=DEMO["real"],
        disfa=DEMO["disfa"],
    threads: DEMO["workers"]
    resources:
        mem_mb=2000,
    conda:
        "../envs/faces.yaml"
    script:
        "../workflow_scripts/demo_data.py"
