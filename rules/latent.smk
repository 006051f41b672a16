# Latent exploration: GANSpace directions of W and the review material for the human annotator.
# Conventions (sampling, edit formula, files): docs/latent.md.

# NETWORK_SELECTED (rules/gan.smk): the network gan.network chose, written only if it makes faces.


rule latent_directions:
    input:
        network=NETWORK_SELECTED,
    output:
        directions="results/latent/directions.npz",
        samples="results/latent/w_sample.npy",
    log:
        "logs/latent_directions/latent_directions.log",
    benchmark:
        "benchmarks/rules/latent_directions/latent_directions.tsv"
    params:
        n_samples=config["latent"]["n_samples"],
        n_components=config["latent"]["n_components"],
        estimator=config["latent"]["estimator"],
        batch_size=config["latent"]["batch_size"],
        std_samples=config["latent"]["std_samples"],
        seed=config["latent"]["seed"],
        keep_samples=config["latent"]["plot_samples"],
        device=config["generate"]["device"],
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    conda:
        "../envs/gan.yaml"
    script:
        "../workflow_scripts/latent_directions.py"


rule latent_plots:
    input:
        directions="results/latent/directions.npz",
        samples="results/latent/w_sample.npy",
    output:
        variance=report("results/latent/explained_variance.png", caption="report/latent_variance.rst", category="3 latent"),
        pca=report("results/latent/pca_2d.png", caption="report/latent_pca.rst", category="3 latent"),
        tsne=report("results/latent/tsne.png", caption="report/latent_tsne.rst", category="3 latent"),
    log:
        "logs/latent_plots/latent_plots.log",
    benchmark:
        "benchmarks/rules/latent_plots/latent_plots.tsv"
    params:
        tsne_samples=config["latent"]["tsne_samples"],
        perplexity=config["latent"]["tsne_perplexity"],
        seed=config["latent"]["seed"],
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/report.yaml"
    script:
        "../workflow_scripts/latent_plots.py"


rule review_material:
    input:
        network=NETWORK_SELECTED,
        directions="results/latent/directions.npz",
        # the annotation assistant's suggestions (rules/assistant.smk), only when latent.review.assistant is on
        suggestions="results/review/suggestions.csv" if config["latent"]["review"]["assistant"]["enabled"] else [],
    output:
        sheets=directory("results/review/sheets"),
        grids=directory("results/review/grids"),
        strips=directory("results/review/strips"),
        data="results/review/review.json",
        # not a report() item: the page needs its sheets beside it; open it from results/review/
        page="results/review/index.html",
    log:
        "logs/review_material/review_material.log",
    benchmark:
        "benchmarks/rules/review_material/review_material.tsv"
    params:
        seed_start=config["latent"]["review"]["seed_start"],
        seed_count=config["latent"]["review"]["seed_count"],
        cols=config["latent"]["review"]["cols"],
        rows=config["latent"]["review"]["rows"],
        thumb=config["latent"]["review"]["thumb"],
        truncation_psi=config["latent"]["review"]["truncation_psi"],
        grid_seeds=config["latent"]["review"]["grid_seeds"],
        grid_directions=config["latent"]["review"]["grid_directions"],
        grid_degrees=config["latent"]["review"]["grid_degrees"],
        edit_layers=config["latent"]["edit_layers"],
        strip_pairs=config["latent"]["review"]["strip_pairs"],
        strip_steps=config["latent"]["review"]["strip_steps"],
        batch_size=config["latent"]["review"]["batch_size"],
        image_format=config["latent"]["review"]["image_format"],
        jpeg_quality=config["latent"]["review"]["jpeg_quality"],
        noise_mode=config["generate"]["noise_mode"],
        seeds_file=config["seeds"]["file"],
        device=config["generate"]["device"],
        suggestion_threshold=config["latent"]["review"]["assistant"]["threshold"],
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../envs/gan.yaml"
    script:
        "../workflow_scripts/review_material.py"


TARGETS["latent"] = [
    "results/latent/directions.npz",
    "results/latent/explained_variance.png",
    "results/latent/pca_2d.png",
    "results/latent/tsne.png",
    "results/review/index.html",
]
