# Rules of the demo phase: the embedded demo data (procedurally drawn faces, no third-party images).
# Requested through other rules' inputs (config/demo.yaml points real_images at results/demo/real; the FER
# phase reads results/demo/disfa_like/) and, in demo runs, by rule all for the report page. Formats: docs/demo.md.

DEMO = config["demo"]


localrules:
    demo_data,
    demo_report,


rule demo_data:
    output:
        real=directory(results_path("demo/real")),
        metadata=results_path("demo/real_metadata.csv"),
        truth=results_path("demo/real_truth.csv"),
        disfa_images=directory(results_path("demo/disfa_like/images")),
        disfa_labels=results_path("demo/disfa_like/labels.csv"),
        sidecar=results_path("demo/demo_data.json"),
    log:
        "logs/demo_data/demo_data.log",
    benchmark:
        "benchmarks/rules/demo_data/demo_data.tsv"
    conda:
        "../envs/faces.yaml"
    threads: DEMO["workers"]
    resources:
        mem_mb=mem_mb_per_attempt(2000),
    params:
        seed=config["seed"],
        real=DEMO["real"],
        disfa=DEMO["disfa"],
    script:
        "../workflow_scripts/demo_data.py"


rule demo_report:
    input:
        real=results_path("demo/real"),
        metadata=results_path("demo/real_metadata.csv"),
        disfa_labels=results_path("demo/disfa_like/labels.csv"),
        disfa_images=results_path("demo/disfa_like/images"),
    output:
        sheet=report(results_path("demo/demo_sheet.png"), caption="report/demo_sheet.rst", category="0 Demo data"),
    log:
        "logs/demo_report/demo_report.log",
    benchmark:
        "benchmarks/rules/demo_report/demo_report.tsv"
    conda:
        "../envs/faces.yaml"
    params:
        n_frames=20,
    script:
        "../workflow_scripts/demo_report.py"


# The demo's page in the report, only when the run uses the demo data (config/demo.yaml).
TARGETS["demo"] = (
    [results_path("demo/demo_sheet.png")]
    if str(config["real_images"]["folder"]).startswith(results_path("demo/"))
    else []
)
