# Latent exploration: GANSpace directions of W and the review material for the human annotator.
# Conventions (sampling, edit formula, files): docs/latent.md.

# NETWORK_SELECTED (rules/gan.smk): the network gan.network chose, written only if it makes faces.

from synthfer.latent.options import layout_params, page_params  # standard library only

# The review's options, built once from the config (names, config keys and defaults: synthfer/latent/options.py):
# which faces are rendered (shared with rule review_suggestions, rules/assistant.smk) and how the page draws them.
REVIEW_LAYOUT = layout_params(config)
REVIEW_PAGE = page_params(config)


rule latent_directions:
    input:
        network=NETWORK_SELECTED,
    output:
        directions=results_path("latent/directions.npz"),
        samples=results_path("latent/w_sample.npy"),
    log:
        "logs/latent_directions/latent_directions.log",
    benchmark:
        "benchmarks/rules/latent_directions/latent_directions.tsv"
    conda:
        "../envs/gan.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=mem_mb_per_attempt(8000),
        runtime=120,
    params:
        n_samples=config["latent"]["n_samples"],
        n_components=config["latent"]["n_components"],
        estimator=config["latent"]["estimator"],
        batch_size=config["latent"]["batch_size"],
        std_samples=config["latent"]["std_samples"],
        seed=config["latent"]["seed"],
        keep_samples=config["latent"]["plot_samples"],
        device=config["generate"]["device"],
    script:
        "../workflow_scripts/latent_directions.py"


rule latent_plots:
    input:
        directions=results_path("latent/directions.npz"),
        samples=results_path("latent/w_sample.npy"),
    output:
        variance=report(
            results_path("latent/explained_variance.png"), caption="report/latent_variance.rst", category="3 latent"
        ),
        pca=report(results_path("latent/pca_2d.png"), caption="report/latent_pca.rst", category="3 latent"),
        tsne=report(results_path("latent/tsne.png"), caption="report/latent_tsne.rst", category="3 latent"),
    log:
        "logs/latent_plots/latent_plots.log",
    benchmark:
        "benchmarks/rules/latent_plots/latent_plots.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(4000),
        runtime=30,
    params:
        tsne_samples=config["latent"]["tsne_samples"],
        perplexity=config["latent"]["tsne_perplexity"],
        seed=config["latent"]["seed"],
    script:
        "../workflow_scripts/latent_plots.py"


rule latent_tsne_stability:
    input:
        directions=results_path("latent/directions.npz"),
        samples=results_path("latent/w_sample.npy"),
    output:
        runs=report(results_path("latent/tsne_runs.png"), caption="report/latent_tsne_runs.rst", category="3 latent"),
        heatmap=report(
            results_path("latent/tsne_stability.png"), caption="report/latent_tsne_stability.rst", category="3 latent"
        ),
        table=results_path("latent/tsne_stability.csv"),
        summary=results_path("latent/tsne_stability.json"),
    log:
        "logs/latent_tsne_stability/latent_tsne_stability.log",
    benchmark:
        "benchmarks/rules/latent_tsne_stability/latent_tsne_stability.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(4000),
        runtime=30,
    params:
        runs=config["latent"]["tsne_runs"],
        tsne_samples=config["latent"]["tsne_samples"],
        perplexity=config["latent"]["tsne_perplexity"],
        seed=config["latent"]["seed"],
    script:
        "../workflow_scripts/latent_tsne_stability.py"


rule review_material:
    input:
        network=NETWORK_SELECTED,
        directions=results_path("latent/directions.npz"),
        # the annotation assistant's suggestions (rules/assistant.smk), only when latent.review.assistant is on
        suggestions=results_path("review/suggestions.csv") if config["latent"]["review"]["assistant"]["enabled"] else [],
    output:
        sheets=directory(results_path("review/sheets")),
        grids=directory(results_path("review/grids")),
        strips=directory(results_path("review/strips")),
        data=results_path("review/review.json"),
        # not a report() item: the page needs its sheets beside it; open it from results/review/
        page=results_path("review/index.html"),
    log:
        "logs/review_material/review_material.log",
    benchmark:
        "benchmarks/rules/review_material/review_material.tsv"
    conda:
        "../envs/gan.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=mem_mb_per_attempt(8000),
        runtime=240,
    params:
        layout=REVIEW_LAYOUT,
        page=REVIEW_PAGE,
        device=config["generate"]["device"],
        suggestion_threshold=config["latent"]["review"]["assistant"]["threshold"],
    script:
        "../workflow_scripts/review_material.py"


TARGETS["latent"] = [
    results_path("latent/directions.npz"),
    results_path("latent/explained_variance.png"),
    results_path("latent/pca_2d.png"),
    results_path("latent/tsne.png"),
    results_path("latent/tsne_runs.png"),
    results_path("latent/tsne_stability.png"),
    results_path("review/index.html"),
]
