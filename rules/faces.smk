# Rules of phase 1 — faces: align the real photographs in shards, merge, report; and the
# detection-only face filter of generated shards. Formats: docs/faces.md.

FACES = config["faces"]
FACES_SHARDS = shard_ids(FACES["shards"])
# Everything that changes a crop or a detection (rule params, so --rerun-triggers params re-runs exactly these).
FACES_SETTINGS = {k: v for k, v in FACES.items() if k not in ("shards", "report_faces")}
FACES_METADATA = config["real_images"].get("metadata")
FACES_REPORT = {
    "contact_sheet": report(
        results_path("faces/report/contact_sheet.png"),
        caption="report/faces_contact_sheet.rst",
        category="1 Faces",
    ),
    "rejections": report(
        results_path("faces/report/rejections.png"), caption="report/faces_rejections.rst", category="1 Faces"
    ),
    "summary": results_path("faces/report/summary.csv"),
}
if FACES_METADATA:
    FACES_REPORT.update(
        distributions=report(
            results_path("faces/report/distributions.png"),
            caption="report/faces_distributions.rst",
            category="1 Faces",
        ),
        detection_rate=report(
            results_path("faces/report/detection_rate.png"),
            caption="report/faces_detection_rate.rst",
            category="1 Faces",
        ),
        by_group=results_path("faces/report/detection_by_group.csv"),
        descriptives=results_path("faces/report/descriptives.csv"),
        descriptives_html=report(
            results_path("faces/report/descriptives.html"),
            caption="report/faces_descriptives.rst",
            category="1 Faces",
        ),
    )


localrules:
    faces_real,
    faces_report,


rule faces_real_shard:
    input:
        folder=real_photo_folder,
    output:
        crops=directory(results_path("faces/real_shards/{shard}")),
        manifest=results_path("faces/real_shards/{shard}.csv"),
    log:
        "logs/faces_real_shard/{shard}.log",
    benchmark:
        "benchmarks/rules/faces_real_shard/{shard}.tsv"
    conda:
        "../envs/faces.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(2000),
        runtime=120,
    params:
        n_shards=FACES["shards"],
        settings=FACES_SETTINGS,
    script:
        "../workflow_scripts/faces_real_shard.py"


rule faces_real:
    input:
        crops=expand(results_path("faces/real_shards/{shard}"), shard=FACES_SHARDS),
        manifests=expand(results_path("faces/real_shards/{shard}.csv"), shard=FACES_SHARDS),
    output:
        crops=directory(results_path("faces/real")),
        manifest=results_path("faces/real_manifest.csv"),
        sidecar=results_path("faces/real_manifest.json"),
    log:
        "logs/faces_real/faces_real.log",
    benchmark:
        "benchmarks/rules/faces_real/faces_real.tsv"
    conda:
        "../envs/faces.yaml"
    params:
        settings=FACES_SETTINGS,
        source=config["real_images"]["folder"],
        seed=config["seed"],
    script:
        "../workflow_scripts/faces_real.py"


rule faces_report:
    input:
        crops=results_path("faces/real"),
        manifest=results_path("faces/real_manifest.csv"),
        metadata=[FACES_METADATA] if FACES_METADATA else [],
    output:
        **FACES_REPORT,
    log:
        "logs/faces_report/faces_report.log",
    benchmark:
        "benchmarks/rules/faces_report/faces_report.tsv"
    conda:
        "../envs/faces.yaml"
    params:
        n_faces=FACES["report_faces"],
        id_column=config["real_images"]["metadata_id_column"],
        columns=config["real_images"]["metadata_columns"],
    script:
        "../workflow_scripts/faces_report.py"


# Detection-only screen of one generated shard (requested by the generation phase's merge).
rule faces_filter_synthetic:
    input:
        images=results_path("synthetic/shards/{shard}"),
    output:
        results_path("synthetic/face_filter/{shard}.csv"),
    log:
        "logs/faces_filter_synthetic/{shard}.log",
    benchmark:
        "benchmarks/rules/faces_filter_synthetic/{shard}.tsv"
    conda:
        "../envs/faces.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(2000),
        runtime=60,
    params:
        settings=FACES_SETTINGS,
    script:
        "../workflow_scripts/faces_filter_synthetic.py"


# Detection-only judgement of the GAN's face-check samples (step 2 of the face check; docs/gan.md).
rule faces_filter_gan_samples:
    input:
        images=results_path("gan/face_check/samples"),
    output:
        results_path("gan/face_check/detections.csv"),
    log:
        "logs/faces_filter_gan_samples/faces_filter_gan_samples.log",
    benchmark:
        "benchmarks/rules/faces_filter_gan_samples/faces_filter_gan_samples.tsv"
    conda:
        "../envs/faces.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(2000),
        runtime=60,
    params:
        settings=FACES_SETTINGS,
    script:
        "../workflow_scripts/faces_filter_synthetic.py"


TARGETS["faces"] = [
    results_path("faces/real"),
    results_path("faces/real_manifest.csv"),
    *[str(path) for path in FACES_REPORT.values()],
]
