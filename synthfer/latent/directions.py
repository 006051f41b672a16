"""GANSpace directions in W (Härkönen et al., 2020, "GANSpace: Discovering Interpretable GAN Controls").

PCA of w = mapping(z) (no truncation), z ~ N(0, I) drawn from ``RandomState(seed)`` in one
continuous stream (so the sample does not depend on the batch size):

* components v_k: unit-norm principal axes, sorted by explained variance;
* std s_k: standard deviation of the projections ⟨w, v_k⟩ of ``std_samples`` *fresh* w
  (stream ``seed + 1``), as GANSpace's ``lat_stdev``;
* explained_variance / ratio: from the PCA.

**Edit convention (additive)**: direction k at degree σ on layers [start, end) (end exclusive)::

    w_l ← w_l + σ · s_k · v_k     for start ≤ l < end, other layers unchanged

i.e. each edited layer moves by exactly |σ|·s_k along v_k. Truncation (w_avg + ψ(w − w_avg)) is
applied first, then the edit. This is GANSpace's interactive ``apply_edit`` (not the centred
strip variant, which first removes the sample's own coordinate along v_k).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from synthfer.logs import Progress, get_logger

log = get_logger(__name__)


def sample_w(G, n: int, seed: int, batch_size: int = 10_000):
    """Yield ``[b, w_dim]`` float64 chunks of w = mapping(z)[:, 0] for ``n`` z from ``RandomState(seed)``."""
    import torch

    rng = np.random.RandomState(seed)
    dev = next(G.parameters()).device
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    done = 0
    while done < n:
        b = min(batch_size, n - done)
        z = torch.from_numpy(rng.standard_normal((b, G.z_dim)).astype(np.float32)).to(dev)
        c = torch.zeros((b, c_dim), device=dev) if c_dim else None  # unconditional use of a conditional G
        with torch.no_grad():
            ws = G.mapping(z, c, truncation_psi=1.0)
        yield ws[:, 0].double().cpu().numpy()
        done += b


def compute_directions(
    G,
    n_samples: int,
    n_components: int,
    seed: int = 1,
    batch_size: int = 10_000,
    std_samples: int = 5_000,
    estimator: str = "ipca",
    keep_samples: int = 2_000,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """PCA of ``n_samples`` w's → (directions dict for ``directions.npz``, first ``keep_samples`` w's).

    ``estimator``: ``ipca`` (``sklearn.decomposition.IncrementalPCA`` fed in chunks of
    ``max(batch_size, 3c, 2000)`` rows; memory independent of n, GANSpace's default) or
    ``randomized`` (``PCA(svd_solver='randomized')`` on all samples in memory).
    """
    from sklearn.decomposition import PCA, IncrementalPCA

    w_dim = int(G.w_dim)
    c = int(n_components)
    if not 1 <= c <= w_dim:
        raise ValueError(f"n_components must be in [1, w_dim={w_dim}], got {c}")
    if n_samples < c:
        raise ValueError(f"n_samples ({n_samples}) must be >= n_components ({c})")
    chunk = max(batch_size, 3 * c, 2000)
    kept: list[np.ndarray] = []
    n_kept = 0
    progress = Progress(log, n_samples, "sampled w")
    if estimator == "ipca":
        pca = IncrementalPCA(n_components=c, whiten=False, batch_size=max(100, 2 * c))
        buf: list[np.ndarray] = []
        n_buf = 0
        for w in sample_w(G, n_samples, seed, batch_size):
            if n_kept < keep_samples:
                kept.append(w[: keep_samples - n_kept])
                n_kept += len(kept[-1])
            buf.append(w)
            n_buf += len(w)
            progress.update(len(w))
            left = n_samples - progress.done
            # partial_fit needs >= c rows per call: never leave a tail shorter than c behind.
            if n_buf >= chunk and (left == 0 or left >= c):
                pca.partial_fit(np.concatenate(buf))
                buf, n_buf = [], 0
        if buf:
            pca.partial_fit(np.concatenate(buf))
    elif estimator == "randomized":
        parts = []
        for w in sample_w(G, n_samples, seed, batch_size):
            parts.append(w)
            progress.update(len(w))
        all_w = np.concatenate(parts)
        kept = [all_w[:keep_samples]]
        pca = PCA(n_components=c, svd_solver="randomized", random_state=seed).fit(all_w)
    else:
        raise ValueError(f"unknown estimator {estimator!r} (use 'ipca' or 'randomized')")

    comps = pca.components_.astype(np.float64)
    comps /= np.linalg.norm(comps, axis=1, keepdims=True)
    # Fresh sample for the per-component std of the projections (GANSpace lat_stdev).
    proj = [w @ comps.T for w in sample_w(G, std_samples, seed + 1, batch_size)]
    std = np.concatenate(proj).std(axis=0)
    directions = {
        "components": comps.astype(np.float32),
        "mean": pca.mean_.astype(np.float32),
        "std": std.astype(np.float32),
        "explained_variance": pca.explained_variance_.astype(np.float32),
        "explained_variance_ratio": pca.explained_variance_ratio_.astype(np.float32),
        "num_ws": np.int64(G.num_ws),
        "w_dim": np.int64(w_dim),
        "n_samples": np.int64(n_samples),
        "seed": np.int64(seed),
    }
    log.info(
        "PCA: %d components explain %.1f%% of the variance of w",
        c,
        100 * float(directions["explained_variance_ratio"].sum()),
    )
    return directions, np.concatenate(kept).astype(np.float32) if kept else np.zeros((0, w_dim), np.float32)


class Directions:
    """The contents of ``directions.npz`` and the additive edit (see module docstring)."""

    def __init__(
        self, components: np.ndarray, std: np.ndarray, mean: np.ndarray | None = None, num_ws: int | None = None
    ):
        self.components = np.asarray(components, np.float32)
        self.std = np.asarray(std, np.float32)
        self.mean = None if mean is None else np.asarray(mean, np.float32)
        self.num_ws = num_ws

    @classmethod
    def load(cls, path: str | Path) -> Directions:
        path = Path(path)
        try:
            with np.load(path) as npz:
                return cls(npz["components"], npz["std"], npz["mean"], int(npz["num_ws"]))
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a synthfer directions.npz ({exc})") from None

    def __len__(self) -> int:
        return self.components.shape[0]

    def delta(self, direction: int, degree: float) -> np.ndarray:
        """σ · s_k · v_k  (``[w_dim]`` float32)."""
        if not 0 <= direction < len(self):
            raise IndexError(f"direction {direction} does not exist (have {len(self)} components)")
        return (float(degree) * self.std[direction] * self.components[direction]).astype(np.float32)

    def apply(self, ws, direction: int, degree: float, layer_start: int = 0, layer_end: int | None = None):
        """Return a copy of ``ws`` (``[N, num_ws, w_dim]``, numpy or torch) with the edit applied on
        layers [layer_start, layer_end); ``direction < 0`` returns an unchanged copy."""
        out = ws.clone() if hasattr(ws, "clone") else np.array(ws, copy=True)
        if direction < 0:
            return out
        delta = self.delta(direction, degree)
        if hasattr(out, "clone"):
            import torch

            delta = torch.as_tensor(delta, device=out.device, dtype=out.dtype)
        end = out.shape[1] if layer_end is None or layer_end < 0 else layer_end
        out[:, layer_start:end] += delta
        return out


def write_directions(
    network: str | Path,
    out_npz: str | Path,
    out_samples: str | Path,
    n_samples: int,
    n_components: int,
    seed: int,
    batch_size: int,
    std_samples: int,
    estimator: str,
    keep_samples: int,
    device: str | None = None,
    threads: int | None = None,
) -> None:
    """Rule ``latent_directions``: load the network, compute directions, write the npz and a w sample."""
    import torch

    from synthfer.gan.api import load_generator
    from synthfer.io import provenance, save_npy, save_npz
    from synthfer.runtime import pick_device, set_threads

    set_threads(threads)

    torch.manual_seed(seed)
    dev = pick_device(device)
    G = load_generator(network, device=dev)
    log.info("generator %s: z_dim=%d w_dim=%d num_ws=%d res=%d", network, G.z_dim, G.w_dim, G.num_ws, G.img_resolution)
    directions, kept = compute_directions(
        G, n_samples, n_components, seed, batch_size, std_samples, estimator, keep_samples
    )
    # the sampling runs in torch and the PCA in BLAS: threads, device and versions decide the last bits
    save_npz(out_npz, **directions, provenance=np.array(json.dumps(provenance(device=dev), sort_keys=True)))
    save_npy(out_samples, kept)
    log.info("wrote %s (%d components) and %s (%d w)", out_npz, n_components, out_samples, len(kept))


def plot_directions(
    directions_npz: str | Path,
    samples_npy: str | Path,
    out_variance: str | Path,
    out_pca: str | Path,
    out_tsne: str | Path,
    tsne_samples: int = 1000,
    perplexity: float = 30.0,
    seed: int = 1,
) -> None:
    """Rule ``latent_plots``: explained variance, 2-D PCA and t-SNE scatter of the sampled w's.

    Points are coloured by their coordinate on the third component, so the PCA plot shows a
    dimension the axes do not.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    from synthfer.io import atomic_path

    with np.load(directions_npz) as npz:
        comps, mean, ratio = npz["components"], npz["mean"], npz["explained_variance_ratio"]
    w = np.load(samples_npy)
    if len(w) < 5:
        raise ValueError(f"{samples_npy}: only {len(w)} w samples, need at least 5 to plot")
    proj = (w - mean) @ comps.T
    colour = proj[:, 2] if proj.shape[1] > 2 else proj[:, 0]

    fig, ax = plt.subplots(figsize=(6, 4))
    k = np.arange(1, len(ratio) + 1)
    ax.bar(k, 100 * ratio, color="#4c72b0", label="per component")
    ax2 = ax.twinx()
    ax2.plot(k, 100 * np.cumsum(ratio), color="#dd8452", marker=".", label="cumulative")
    ax.set(xlabel="principal component of w", ylabel="explained variance (%)", title="GANSpace PCA of w")
    ax2.set_ylabel("cumulative (%)")
    fig.tight_layout()
    with atomic_path(out_variance) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    sc = ax.scatter(proj[:, 0], proj[:, 1] if proj.shape[1] > 1 else np.zeros(len(proj)), c=colour, s=6, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="PC3 coordinate")
    ax.set(xlabel="PC1", ylabel="PC2", title=f"2-D PCA of {len(w)} sampled w")
    fig.tight_layout()
    with atomic_path(out_pca) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)

    m = min(tsne_samples, len(w))
    perp = float(min(perplexity, (m - 1) / 3.0))
    emb = TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed).fit_transform(w[:m])
    fig, ax = plt.subplots(figsize=(5, 5))
    sc = ax.scatter(emb[:, 0], emb[:, 1], c=colour[:m], s=6, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="PC3 coordinate")
    ax.set(title=f"t-SNE of {m} sampled w (perplexity {perp:g})", xticks=[], yticks=[])
    fig.tight_layout()
    with atomic_path(out_tsne) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    log.info("plots: %s, %s, %s", out_variance, out_pca, out_tsne)
