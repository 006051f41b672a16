"""t-SNE of the sampled w: one embedding for ``tsne.png``, and repeated runs with their stability
(rule ``latent_tsne_stability``; measures in :mod:`synthfer.latent.stability`, files in docs/latent.md).
"""

from __future__ import annotations

import numpy as np

from synthfer.io import PathLike
from synthfer.latent import stability
from synthfer.logs import get_logger

log = get_logger(__name__)


def load_plot_samples(directions_npz: PathLike, samples_npy: PathLike) -> tuple[np.ndarray, np.ndarray, str]:
    """(w sample, the colour of each point, the colour's name): points are coloured by their coordinate
    on the third principal component (the first when there are fewer than three), so a 2-D view of PC1/PC2
    or of t-SNE shows a dimension its axes do not."""
    with np.load(directions_npz) as npz:
        comps, mean = npz["components"], npz["mean"]
    w = np.load(samples_npy)
    if len(w) < 5:
        raise ValueError(f"{samples_npy}: only {len(w)} w samples, need at least 5 to plot")
    proj = (w - mean) @ comps.T
    if proj.shape[1] > 2:
        return w, proj[:, 2], "PC3 coordinate"
    return w, proj[:, 0], "PC1 coordinate"


def effective_perplexity(m: int, perplexity: float) -> float:
    """The perplexity used for ``m`` points: ``latent.tsne_perplexity`` capped at (m − 1)/3."""
    return float(min(perplexity, (m - 1) / 3.0))


def embed(w: np.ndarray, perplexity: float, seed: int, init: str = "pca") -> np.ndarray:
    """2-D t-SNE (scikit-learn, Barnes-Hut) of ``w`` with ``random_state = seed``.

    With ``init="pca"`` the start is the (deterministic) PCA of ``w`` and the seed changes nothing; the
    repeated runs use ``init="random"``, so that each seed starts from its own random layout.
    """
    from sklearn.manifold import TSNE

    perp = effective_perplexity(len(w), perplexity)
    return TSNE(n_components=2, perplexity=perp, init=init, random_state=seed).fit_transform(w)


def run_seeds(seed: int, runs: int) -> list[int]:
    """The seeds of the repeated runs: ``latent.seed``, ``latent.seed + 1``, …"""
    return [int(seed) + r for r in range(int(runs))]


def tsne_stability(
    directions_npz: PathLike,
    samples_npy: PathLike,
    out_runs: PathLike,
    out_heatmap: PathLike,
    out_table: PathLike,
    out_summary: PathLike,
    runs: int = 4,
    tsne_samples: int = 1000,
    perplexity: float = 30.0,
    seed: int = 1,
    k: int = stability.KNN_K,
) -> None:
    """Rule ``latent_tsne_stability``: ``runs`` t-SNE runs of the same first ``tsne_samples`` w, each from
    a random start with seed ``seed + r``, drawn side by side, compared pairwise (table + heatmap)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from synthfer.io import provenance, save_figure, write_json, write_table

    if runs < 2:
        raise ValueError(f"latent.tsne_runs must be at least 2 to compare runs, got {runs}")
    w, colour, colour_name = load_plot_samples(directions_npz, samples_npy)
    m = min(int(tsne_samples), len(w))
    if m <= k:
        raise ValueError(f"latent.tsne_samples: {m} w for the t-SNE runs, need more than k = {k} neighbours")
    w, colour = w[:m], colour[:m]
    perp = effective_perplexity(m, perplexity)
    seeds = run_seeds(seed, runs)
    embeddings = []
    for s in seeds:
        embeddings.append(embed(w, perplexity, s, init="random"))
        log.info("t-SNE run with seed %d done (%d points, perplexity %g, random start)", s, m, perp)
    rows = stability.pairwise_stability(embeddings, seeds, k)
    table = pd.DataFrame(rows, columns=list(stability.COLUMNS))
    write_table(out_table, table)

    # the runs, each aligned onto run 0 so that the layouts can be compared by eye
    cols = min(runs, 4)
    nrows = -(-runs // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.5 * cols, 3.3 * nrows + 0.4), squeeze=False)
    vmin, vmax = float(np.min(colour)), float(np.max(colour))
    shown = [embeddings[0]] + [stability.align_to(embeddings[0], emb) for emb in embeddings[1:]]
    lo, hi = np.min([e.min(0) for e in shown], axis=0), np.max([e.max(0) for e in shown], axis=0)
    pad = 0.05 * (hi - lo)
    sc = None
    for r, (emb, s) in enumerate(zip(shown, seeds, strict=True)):
        ax = axes[r // cols][r % cols]
        sc = ax.scatter(emb[:, 0], emb[:, 1], c=colour, s=5, cmap="viridis", vmin=vmin, vmax=vmax)
        ax.set(title=f"run {r}, seed {s}" + ("" if r == 0 else " (aligned to run 0)"), xticks=[], yticks=[])
        ax.set(xlim=(lo[0] - pad[0], hi[0] + pad[0]), ylim=(lo[1] - pad[1], hi[1] + pad[1]), aspect="equal")
        ax.title.set_fontsize(9)
    for r in range(runs, nrows * cols):
        axes[r // cols][r % cols].set_axis_off()
    fig.colorbar(sc, ax=axes.ravel().tolist(), label=colour_name, shrink=0.8)
    fig.suptitle(f"t-SNE of the same {m} w from {runs} random starts (perplexity {perp:g})", fontsize=10)
    save_figure(fig, out_runs, tight=True)

    # the pairwise heatmaps: raw vs aligned MSE on one colour scale, then the two scale-free measures
    panels = [
        ("mse_raw", "MSE, raw", 0.0),
        ("mse_aligned", "MSE after Procrustes alignment", 0.0),
        ("distance_pearson", "Pearson r of pairwise distances", 1.0),
        ("knn_jaccard", f"Jaccard overlap of {k} nearest neighbours", 1.0),
    ]
    mse_max = max(float(table["mse_raw"].max()), float(table["mse_aligned"].max()), 1e-12)
    fig, axes = plt.subplots(2, 2, figsize=(8.4, 7.4))
    labels = [str(r) for r in range(runs)]
    for ax, (column, title, diagonal) in zip(axes.ravel(), panels, strict=True):
        mat = stability.pair_matrix(rows, column, runs, diagonal)
        is_mse = column.startswith("mse")
        im = ax.imshow(mat, cmap="magma_r" if is_mse else "viridis", vmin=0.0, vmax=mse_max if is_mse else 1.0)
        fig.colorbar(im, ax=ax, shrink=0.8)
        for i in range(runs):
            for j in range(runs):
                text = f"{mat[i, j]:.3g}" if is_mse else f"{mat[i, j]:.2f}"
                light = (mat[i, j] / mse_max > 0.6) if is_mse else (mat[i, j] < 0.5)
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if light else "black")
        ax.set(title=title, xticks=range(runs), yticks=range(runs), xticklabels=labels, yticklabels=labels)
        ax.set_xlabel("run")
        ax.set_ylabel("run")
        ax.title.set_fontsize(9)
    chance = rows[0]["knn_jaccard_chance"]
    fig.suptitle(
        f"Stability of {runs} t-SNE runs of {m} w (seeds {seeds[0]}–{seeds[-1]}); neighbour overlap by chance "
        f"{chance:.3f}",
        fontsize=10,
    )
    save_figure(fig, out_heatmap, tight=True)

    summary = {
        "runs": runs,
        "seeds": seeds,
        "n_points": m,
        "perplexity": perp,
        "init": "random",
        "k": k,
        "knn_jaccard_chance": chance,
        "mean": {c: float(table[c].mean()) for c in stability.COLUMNS[4:9]},
        "provenance": provenance(compute=True),
    }
    write_json(out_summary, summary)
    log.info(
        "t-SNE stability over %d runs: aligned MSE %.4g (raw %.4g), distance r %.3f, %d-NN Jaccard %.3f (chance %.3f)",
        runs,
        summary["mean"]["mse_aligned"],
        summary["mean"]["mse_raw"],
        summary["mean"]["distance_pearson"],
        k,
        summary["mean"]["knn_jaccard"],
        chance,
    )
