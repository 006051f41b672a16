# Rules of the iqa phase: reference crops, the real-set SVR, the seeded batch partition (a
# checkpoint: the pool size is known only after generation), one scoring job per batch, and
# cached feature sets for FID/KID. No threshold, weight or `keep` reaches these rules (select.smk).

IQA = config["iqa"]
IQA_EXTRACTOR = IQA["fid"]["extractor"]
IQA_SVR_LEVELS = {
    "blur": IQA["svr"]["blur_sigma"],
    "noise": IQA["svr"]["noise_sigma"],
    "jpeg": IQA["svr"]["jpeg_quality"],
}


wildcard_constraints:
    extractor=r"inception|dlib",


# Depends only on the crops and the GAN's resolution (= the generated images' size), not on generation:
# the real FID statistics built from it are ready right after training (rule gan_snapshot_fid).
rule iqa_references:
    input:
        crops=results_path("faces/real"),
    output:
        references=results_path("iqa/references.npz"),
        summary=results_path("iqa/references.json"),
    log:
        "logs/iqa_references/iqa_references.log",
    benchmark:
        "benchmarks/rules/iqa_references/iqa_references.tsv"
    conda:
        "../envs/iqa.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(IQA["mem_mb"]),
    params:
        nearest_size=IQA["nearest_size"],
        resolution=config["gan"]["resolution"],
    script:
        "../workflow_scripts/iqa_references.py"


rule svr_train:
    input:
        references=results_path("iqa/references.npz"),
    output:
        model=results_path("iqa/svr/model.joblib"),
        validation=results_path("iqa/svr/validation.json"),
        predictions=results_path("iqa/svr/heldout_predictions.csv"),
    log:
        "logs/svr_train/svr_train.log",
    benchmark:
        "benchmarks/rules/svr_train/svr_train.tsv"
    conda:
        "../envs/iqa.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(IQA["mem_mb"]),
    params:
        levels=IQA_SVR_LEVELS,
        train_fraction=IQA["svr"]["train_fraction"],
        max_crops=IQA["svr"]["max_crops"],
        C=IQA["svr"]["C"],
        epsilon=IQA["svr"]["epsilon"],
        gamma=IQA["svr"]["gamma"],
        seed=config["seed"],
    script:
        "../workflow_scripts/svr_train.py"


checkpoint iqa_batches:
    input:
        manifest=results_path("synthetic/manifest.csv"),
    output:
        batches=results_path("iqa/batches.csv"),
        summary=results_path("iqa/batches.json"),
    log:
        "logs/iqa_batches/iqa_batches.log",
    benchmark:
        "benchmarks/rules/iqa_batches/iqa_batches.tsv"
    conda:
        "../envs/iqa.yaml"
    params:
        batch_size=IQA["batch_size"],
        seed=config["seed"],
    script:
        "../workflow_scripts/iqa_batches.py"


rule score_batch:
    input:
        batches=results_path("iqa/batches.csv"),
        raw=results_path("synthetic/raw"),
        references=results_path("iqa/references.npz"),
        svr=results_path("iqa/svr/model.joblib"),
    output:
        scores=results_path("iqa/scores/batch_{batch}.parquet"),
        summary=results_path("iqa/scores/batch_{batch}.json"),
    log:
        "logs/score_batch/{batch}.log",
    benchmark:
        "benchmarks/rules/score_batch/{batch}.tsv"
    conda:
        "../envs/iqa.yaml"
    threads: IQA["threads"]
    resources:
        mem_mb=mem_mb_per_attempt(IQA["mem_mb"]),
        runtime=60,
    params:
        reference_mode=IQA["reference"],
        chunk=IQA["chunk"],
        device=IQA["device"],
    script:
        "../workflow_scripts/score_batch.py"


rule iqa_real_scores:
    input:
        references=results_path("iqa/references.npz"),
        svr=results_path("iqa/svr/model.joblib"),
    output:
        scores=results_path("iqa/real_scores.parquet"),
    log:
        "logs/iqa_real_scores/iqa_real_scores.log",
    benchmark:
        "benchmarks/rules/iqa_real_scores/iqa_real_scores.tsv"
    conda:
        "../envs/iqa.yaml"
    threads: IQA["threads"]
    resources:
        mem_mb=mem_mb_per_attempt(IQA["mem_mb"]),
    params:
        chunk=IQA["chunk"],
    script:
        "../workflow_scripts/iqa_real_scores.py"


rule fid_features_real:
    input:
        references=results_path("iqa/references.npz"),
    output:
        features=results_path("iqa/features/{extractor}/real.npz"),
        summary=results_path("iqa/features/{extractor}/real.json"),
    log:
        "logs/fid_features_real/{extractor}.log",
    benchmark:
        "benchmarks/rules/fid_features_real/{extractor}.tsv"
    conda:
        "../envs/iqa.yaml"
    threads: IQA["threads"]
    resources:
        mem_mb=mem_mb_per_attempt(IQA["mem_mb"]),
    params:
        weights=IQA["fid"]["inception_weights"],
        device=IQA["device"],
    script:
        "../workflow_scripts/fid_features_real.py"


rule fid_features_batch:
    input:
        batches=results_path("iqa/batches.csv"),
        raw=results_path("synthetic/raw"),
        references=results_path("iqa/references.npz"),
    output:
        features=results_path("iqa/features/{extractor}/batch_{batch}.npz"),
        summary=results_path("iqa/features/{extractor}/batch_{batch}.json"),
    log:
        "logs/fid_features_batch/{extractor}_{batch}.log",
    benchmark:
        "benchmarks/rules/fid_features_batch/{extractor}_{batch}.tsv"
    conda:
        "../envs/iqa.yaml"
    threads: IQA["threads"]
    resources:
        mem_mb=mem_mb_per_attempt(IQA["mem_mb"]),
        runtime=60,
    params:
        weights=IQA["fid"]["inception_weights"],
        device=IQA["device"],
    script:
        "../workflow_scripts/fid_features_batch.py"


TARGETS["iqa"] = [
    results_path("iqa/svr/validation.json"),
    results_path(f"iqa/features/{IQA_EXTRACTOR}/real.npz"),
]
