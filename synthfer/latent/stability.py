"""How alike two 2-D embeddings of the same points are, up to what t-SNE leaves undefined.

A t-SNE layout is defined only up to translation, rotation, reflection and scale: the same layout turned by
90° has a large mean squared error (MSE) against itself. The measures here compare two embeddings ``a`` and
``b`` of the same ``n`` points (row i of both is point i), each ``[n, d]``:

* :func:`raw_mse` — the plain MSE of the coordinates (what a naive heatmap of runs shows);
* :func:`procrustes_mse` — the MSE left after the best similarity transform of one onto the other
  (Procrustes analysis), in the embeddings' own units; :func:`procrustes_disparity` is the same number
  without units, in [0, 1];
* :func:`distance_correlation` — the Pearson correlation of all pairwise distances (global layout);
* :func:`knn_jaccard` — the mean Jaccard overlap of each point's k nearest neighbours (local layout, what
  t-SNE is built to preserve); :func:`knn_jaccard_chance` is its value for unrelated embeddings.

Pure numpy/scipy; no plotting, no files (the rule's figures and table: ``synthfer.latent.tsne``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

KNN_K = 10  # neighbours per point for knn_jaccard (the and docs/latent.md's k)

COLUMNS = (
    "run_a",
    "run_b",
    "seed_a",
    "seed_b",
    "mse_raw",
    "mse_aligned",
    "procrustes_disparity",
    "distance_pearson",
    "knn_jaccard",
    "knn_jaccard_chance",
)


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"two embeddings of the same points are needed: shapes {a.shape} and {b.shape}")
    if len(a) < 3:
        raise ValueError(f"at least 3 points are needed, got {len(a)}")
    return a, b


def raw_mse(a, b) -> float:
    """Mean squared difference of the coordinates, with no alignment.

    .. math:: \\mathrm{MSE}_{raw} = \\frac{1}{n d} \\sum_{i=1}^{n} \\lVert a_i - b_i \\rVert^2

    Parameters
    ----------
    a, b : (n, d) array_like
        Two embeddings of the same n points.

    Returns
    -------
    float
        In the embeddings' units squared. Large for a rotated or reflected copy of the same layout.
    """
    a, b = _pair(a, b)
    return float(np.mean((a - b) ** 2))


def procrustes_disparity(a, b) -> float:
    """Procrustes disparity of ``b`` fitted onto ``a``, as ``scipy.spatial.procrustes`` computes it.

    Both embeddings are centred and scaled to unit Frobenius norm (:math:`\\mathrm{tr}(A A^T) = 1`); then
    the rotation/reflection :math:`R` and the scale :math:`s` that minimise the squared difference are
    applied to ``b``:

    .. math:: m^2 = \\min_{R^T R = I,\\, s} \\lVert \\hat A - s \\hat B R \\rVert_F^2
              = 1 - \\Big(\\sum_j \\sigma_j\\Big)^2

    where :math:`\\sigma_j` are the singular values of :math:`\\hat A^T \\hat B`. It is symmetric in ``a``
    and ``b``: 0 = the same layout up to translation, rotation, reflection and scale; values near 1 = no
    linear relation.

    Returns
    -------
    float
        :math:`m^2 \\in [0, 1]`.

    References
    ----------
    .. [1] J. C. Gower, "Generalized Procrustes analysis", Psychometrika 40(1), 33–51 (1975).
    .. [2] ``scipy.spatial.procrustes``.
    """
    from scipy.spatial import procrustes

    a, b = _pair(a, b)
    return float(procrustes(a, b)[2])


def procrustes_mse(a, b) -> float:
    """MSE left after the best similarity transform, in the embeddings' own units (comparable to
    :func:`raw_mse`).

    Fitting ``b`` onto ``a`` by translation, rotation/reflection and scale leaves the residual
    :math:`m^2 \\lVert A - \\bar A \\rVert_F^2` (:func:`procrustes_disparity` is :math:`m^2`); fitting ``a``
    onto ``b`` leaves :math:`m^2 \\lVert B - \\bar B \\rVert_F^2`. The mean of the two, per coordinate:

    .. math:: \\mathrm{MSE}_{aligned} = m^2 \\,
              \\frac{\\lVert A - \\bar A \\rVert_F^2 + \\lVert B - \\bar B \\rVert_F^2}{2 n d}

    so the value is symmetric, 0 for the same layout turned, reflected, shifted or scaled, and for two
    unrelated layouts about the variance of one coordinate (half the raw MSE of two unrelated, centred
    layouts of equal spread).
    """
    a, b = _pair(a, b)
    size = (np.sum((a - a.mean(0)) ** 2) + np.sum((b - b.mean(0)) ** 2)) / 2.0
    return procrustes_disparity(a, b) * float(size) / a.size


def distance_correlation(a, b) -> float:
    """Pearson correlation of the n(n−1)/2 pairwise Euclidean distances of ``a`` and of ``b``.

    .. math:: r = \\mathrm{corr}\\big( (\\lVert a_i - a_j \\rVert)_{i<j},\\; (\\lVert b_i - b_j \\rVert)_{i<j} \\big)

    Unchanged by translation, rotation, reflection and scale; 1 = the distances of one embedding are a
    linear function of the other's (a Shepard diagram of the two on a straight line). It weighs the large distances, i.e.
    the global arrangement of groups, which t-SNE preserves least.

    References
    ----------
    .. [1] D. Kobak, G. C. Linderman, "Initialization is critical for preserving global data structure in
           both t-SNE and UMAP", Nature Biotechnology 39, 156–157 (2021).
    """
    from scipy.spatial.distance import pdist

    a, b = _pair(a, b)
    da, db = pdist(a), pdist(b)
    if np.ptp(da) == 0 or np.ptp(db) == 0:
        raise ValueError("all pairwise distances are equal in one embedding: their correlation is undefined")
    return float(np.corrcoef(da, db)[0, 1])


def knn_indices(x, k: int = KNN_K) -> np.ndarray:
    """``[n, k]`` indices of each point's k nearest other points (Euclidean; ties by lower index)."""
    from scipy.spatial.distance import cdist

    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, n − 1] = [1, {n - 1}], got {k}")
    d = cdist(x, x)
    np.fill_diagonal(d, np.inf)  # a point is not its own neighbour
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def knn_jaccard(a, b, k: int = KNN_K) -> float:
    """Mean Jaccard overlap of each point's k nearest neighbours in ``a`` and in ``b``.

    .. math:: J = \\frac{1}{n} \\sum_{i=1}^{n} \\frac{|N^a_k(i) \\cap N^b_k(i)|}{|N^a_k(i) \\cup N^b_k(i)|}

    where :math:`N^a_k(i)` are the k nearest other points of point i in ``a``. Unchanged by any similarity
    transform. 1 = every point keeps all of its k neighbours; unrelated embeddings give
    :func:`knn_jaccard_chance` ≈ k / (2n). A Jaccard form of the k-ary neighbourhood agreement
    :math:`Q_{NX}(k)` of [1]_ (which divides by k instead of by the union).

    References
    ----------
    .. [1] J. A. Lee, M. Verleysen, "Quality assessment of dimensionality reduction: Rank-based criteria",
           Neurocomputing 72(7–9), 1431–1443 (2009).
    """
    a, b = _pair(a, b)
    na, nb = knn_indices(a, k), knn_indices(b, k)
    n = len(a)
    mask_a = np.zeros((n, n), dtype=bool)
    mask_b = np.zeros((n, n), dtype=bool)
    rows = np.arange(n)[:, None]
    mask_a[rows, na] = True
    mask_b[rows, nb] = True
    shared = np.sum(mask_a & mask_b, axis=1)
    return float(np.mean(shared / (2 * k - shared)))


def knn_jaccard_chance(n: int, k: int = KNN_K) -> float:
    """Expected :func:`knn_jaccard` of two unrelated embeddings of ``n`` points.

    Each point's two neighbour sets are then independent uniform k-subsets of the other n − 1 points, so
    their intersection X is hypergeometric (population n − 1, k marked, k drawn) and

    .. math:: E[J] = \\sum_x P(X = x) \\, \\frac{x}{2k - x} \\approx \\frac{k}{2(n - 1) - k}

    The shared fraction |N^a ∩ N^b| / k has mean k / (n − 1) ≈ k / n.
    """
    from scipy.stats import hypergeom

    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, n − 1] = [1, {n - 1}], got {k}")
    x = np.arange(0, k + 1)
    return float(np.sum(hypergeom.pmf(x, n - 1, k, k) * x / (2 * k - x)))


def align_to(reference, other) -> np.ndarray:
    """``other`` turned onto ``reference`` for drawing runs side by side: translated onto its centroid,
    rotated/reflected by the orthogonal Procrustes solution [1]_, and scaled to the reference's size.

    With :math:`A_0, B_0` the centred embeddings and :math:`U \\Sigma V^T = B_0^T A_0`: :math:`R = U V^T`
    (the rotation/reflection minimising :math:`\\lVert A_0 - s B_0 R \\rVert_F` for every s > 0), result
    :math:`s B_0 R + \\bar A` with :math:`s = \\lVert A_0 \\rVert_F / \\lVert B_0 \\rVert_F`. (Not the
    least-squares scale :math:`\\mathrm{tr}\\,\\Sigma / \\lVert B_0 \\rVert_F^2` of :func:`procrustes_mse`,
    which shrinks a poorly fitting layout towards its centre.)

    References
    ----------
    .. [1] P. H. Schönemann, "A generalized solution of the orthogonal Procrustes problem",
           Psychometrika 31(1), 1–10 (1966).
    """
    a, b = _pair(reference, other)
    a_mean = a.mean(0)
    a0, b0 = a - a_mean, b - b.mean(0)
    norm_a, norm_b = float(np.linalg.norm(a0)), float(np.linalg.norm(b0))
    if norm_b == 0:
        raise ValueError("the embedding to align has all points in one place")
    u, _, vt = np.linalg.svd(b0.T @ a0)
    return norm_a / norm_b * b0 @ (u @ vt) + a_mean


def pairwise_stability(embeddings: Sequence[np.ndarray], seeds: Sequence[int], k: int = KNN_K) -> list[dict]:
    """One record per pair of runs (i < j), with the keys of :data:`COLUMNS`."""
    if len(embeddings) != len(seeds):
        raise ValueError(f"{len(embeddings)} embeddings but {len(seeds)} seeds")
    if len(embeddings) < 2:
        raise ValueError("at least two runs are needed to compare runs")
    chance = knn_jaccard_chance(len(embeddings[0]), k)
    rows = []
    for i in range(len(embeddings)):
        for j in range(i + 1, len(embeddings)):
            a, b = embeddings[i], embeddings[j]
            rows.append(
                {
                    "run_a": i,
                    "run_b": j,
                    "seed_a": int(seeds[i]),
                    "seed_b": int(seeds[j]),
                    "mse_raw": raw_mse(a, b),
                    "mse_aligned": procrustes_mse(a, b),
                    "procrustes_disparity": procrustes_disparity(a, b),
                    "distance_pearson": distance_correlation(a, b),
                    "knn_jaccard": knn_jaccard(a, b, k),
                    "knn_jaccard_chance": chance,
                }
            )
    return rows


def pair_matrix(rows: Sequence[dict], column: str, runs: int, diagonal: float) -> np.ndarray:
    """``[runs, runs]`` symmetric matrix of one column of :func:`pairwise_stability` (for the heatmap)."""
    m = np.full((runs, runs), np.nan)
    np.fill_diagonal(m, diagonal)
    for r in rows:
        m[r["run_a"], r["run_b"]] = m[r["run_b"], r["run_a"]] = r[column]
    return m
