# Seed-named generation: one GPU job per shard of the plan, then one merge that joins the shards,
# the synthetic face filter (rule faces_filter_synthetic, rules/faces.smk) and the plan's labels.

GENERATE_SHARDS = shard_ids(config["generate"]["shards"])


rule generate_shard:
    input:
        network=NETWORK_SELECTED,
        directions=results_path("latent/directions.npz"),
        plan=results_path("seeds/plan.csv"),
    output:
        images=directory(results_path("synthetic/shards/{shard}")),
        manifest=results_path("synthetic/shards/{shard}.csv"),
        meta=results_path("synthetic/shards/{shard}.json"),
    log:
        "logs/generate_shard/{shard}.log",
    benchmark:
        "benchmarks/rules/generate_shard/{shard}.tsv"
    conda:
        "../envs/gan.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=mem_mb_per_attempt(8000),
        runtime=120,
    params:
        batch_size=config["generate"]["batch_size"],
        noise_mode=config["generate"]["noise_mode"],
        device=config["generate"]["device"],
    script:
        "../workflow_scripts/generate_shard.py"


localrules:
    generate_merge,


rule generate_merge:
    input:
        plan=results_path("seeds/plan.csv"),
        manifests=expand(results_path("synthetic/shards/{shard}.csv"), shard=GENERATE_SHARDS),
        images=expand(results_path("synthetic/shards/{shard}"), shard=GENERATE_SHARDS),
        face_filter=expand(results_path("synthetic/face_filter/{shard}.csv"), shard=GENERATE_SHARDS),
    output:
        raw=directory(results_path("synthetic/raw")),
        manifest=results_path("synthetic/manifest.csv"),
        meta=results_path("synthetic/manifest.json"),
    log:
        "logs/generate_merge/generate_merge.log",
    benchmark:
        "benchmarks/rules/generate_merge/generate_merge.tsv"
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/generate_merge.py"


TARGETS["generate"] = [results_path("synthetic/manifest.csv")]
