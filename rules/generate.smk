# Seed-named generation: one GPU job per shard of the plan, then one merge that joins the shards,
# the synthetic face filter (rule faces_filter_synthetic, rules/faces.smk) and the plan's labels.

GENERATE_SHARDS = [f"{i:03d}" for i in range(config["generate"]["shards"])]


rule generate_shard:
    input:
        network=NETWORK_SELECTED,
        directions="results/latent/directions.npz",
        plan="results/seeds/plan.csv",
    output:
        images=directory("results/synthetic/shards/{shard}"),
        manifest="results/synthetic/shards/{shard}.csv",
        meta="results/synthetic/shards/{shard}.json",
    log:
        "logs/generate_shard/{shard}.log",
    benchmark:
        "benchmarks/rules/generate_shard/{shard}.tsv"
    params:
        batch_size=config["generate"]["batch_size"],
        noise_mode=config["generate"]["noise_mode"],
        device=config["generate"]["device"],
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    conda:
        "../envs/gan.yaml"
    script:
        "../workflow_scripts/generate_shard.py"


localrules:
    generate_merge,


rule generate_merge:
    input:
        plan="results/seeds/plan.csv",
        manifests=expand("results/synthetic/shards/{shard}.csv", shard=GENERATE_SHARDS),
        images=expand("results/synthetic/shards/{shard}", shard=GENERATE_SHARDS),
        face_filter=expand("results/synthetic/face_filter/{shard}.csv", shard=GENERATE_SHARDS),
    output:
        raw=directory("results/synthetic/raw"),
        manifest="results/synthetic/manifest.csv",
        meta="results/synthetic/manifest.json",
    log:
        "logs/generate_merge/generate_merge.log",
    benchmark:
        "benchmarks/rules/generate_merge/generate_merge.tsv"
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/generate_merge.py"


TARGETS["generate"] = ["results/synthetic/manifest.csv"]
