"""One training step's losses and gradients equal NVIDIA's official ``StyleGAN2Loss`` (all four phases).

``tests/data/gan_loss_reference.npz`` was computed once from the official stylegan2-ada-pytorch code
(``training/loss.py`` ``StyleGAN2Loss``, ``training/networks.py``), run from a scratch copy outside this
repository whose networks compute in float64 (``torch.float32`` → ``torch.float64`` in ``networks.py``),
torch 2.13 CPU. Setup: G and D at 16², z/w 16, channel_base 256 / channel_max 16, 2 mapping layers,
conv_clamp 256, minibatch-std group 4, batch 8; the official initialisation (seed 2024) with every
parameter then perturbed by N(0, 0.1²) so no gradient is trivially zero; augmentation off; style mixing
probability 0; ``G_synthesis`` called with ``noise_mode='const'``; the path-length noise ``y`` fixed
(``torch.randn_like`` returned the stored unit normal during Greg); the running path-length mean set to 0.8 ×
the batch's mean path length before Greg; γ 0.8, path-length weight 2, decay 0.01, pl batch 4; gains 1, 4,
1, 16 (Gmain, Greg, Dmain, Dreg). Each phase starts from the same weights with cleared gradients; for every
parameter of the phase's network the gradient after ``accumulate_gradients`` was stored (float32), with the
phase's loss statistics. The file holds the weights, inputs and outputs only (no NVIDIA code).

Here the same weights are loaded into synthfer's networks (their parameter names follow the official ones),
converted to float64, and :class:`synthfer.gan.loss.StyleGAN2Loss` runs the same phases on the same inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthfer.gan.loss import StyleGAN2Loss  # noqa: E402
from synthfer.gan.networks import Discriminator, Generator  # noqa: E402

REF = Path(__file__).parent / "data" / "gan_loss_reference.npz"
REL_TOL = 1e-4


@pytest.fixture(scope="module")
def ref():
    with np.load(REF) as f:
        return {k: f[k] for k in f.files}


def _networks(ref):
    m = json.loads(str(ref["meta"]))
    common = dict(channel_base=m["channel_base"], channel_max=m["channel_max"], num_fp16_res=0,
                  conv_clamp=m["conv_clamp"])  # fmt: skip
    G = Generator(z_dim=m["z_dim"], w_dim=m["w_dim"], img_resolution=m["resolution"], img_channels=3,
                  mapping_kwargs=dict(num_layers=m["map_layers"]), synthesis_kwargs=common)  # fmt: skip
    D = Discriminator(img_resolution=m["resolution"], img_channels=3, mbstd_group_size=m["mbstd_group"], **common)
    for prefix, net in (("G", G), ("D", D)):
        net.double().train().requires_grad_(False)
        names = {n for n, _ in net.named_parameters()}
        stored = {k.split("/", 2)[2] for k in ref if k.startswith(f"param/{prefix}/")}
        assert names == stored, names ^ stored  # the same parameters, under the official names
        with torch.no_grad():
            for n, p in net.named_parameters():
                p.copy_(torch.from_numpy(ref[f"param/{prefix}/{n}"]).double())
            for n, b in net.named_buffers():
                if f"buffer/{prefix}/{n}" in ref:
                    b.copy_(torch.from_numpy(ref[f"buffer/{prefix}/{n}"]).double())
    return G, D, m


def _run_phases(ref):
    G, D, m = _networks(ref)
    loss = StyleGAN2Loss(G, D, augment_pipe=None, style_mixing_prob=0.0, r1_gamma=m["gamma"],
                         pl_batch_shrink=m["pl_batch_shrink"], pl_decay=m["pl_decay"], pl_weight=m["pl_weight"],
                         noise_mode="const")  # fmt: skip
    loss.pl_mean = torch.tensor(float(ref["input/pl_mean"]), dtype=torch.float64)
    reals = torch.from_numpy(ref["input/reals"])
    res = m["resolution"]
    pl_noise = torch.from_numpy(ref["input/pl_noise_unit"]) / np.sqrt(res * res)
    n_pl = m["batch"] // m["pl_batch_shrink"]
    phases = (
        ("Gmain", G, dict(gen_z=torch.from_numpy(ref["input/z/Gmain"]), gain=1)),
        ("Greg", G, dict(gen_z=torch.from_numpy(ref["input/z/Greg"])[:n_pl], gain=m["pl_interval"], pl_noise=pl_noise)),
        ("Dmain", D, dict(real_img=reals, gen_z=torch.from_numpy(ref["input/z/Dmain"]), gain=1)),
        ("Dreg", D, dict(real_img=reals, gain=m["r1_interval"])),
    )  # fmt: skip
    grads, stats = {}, {}
    for phase, net, kwargs in phases:
        for p in net.parameters():
            p.grad = None
        net.requires_grad_(True)
        stats[phase] = loss.accumulate_gradients(phase, **kwargs)
        net.requires_grad_(False)
        prefix = "G" if net is G else "D"
        grads[phase] = {f"{prefix}/{n}": p.grad for n, p in net.named_parameters()}
    stats["Greg"]["pl_mean"] = loss.pl_mean.detach().clone()
    return grads, stats, G


@pytest.fixture(scope="module")
def ours(ref):
    torch.set_num_threads(1)
    return _run_phases(ref)


@pytest.mark.parametrize("phase", ["Gmain", "Greg", "Dmain", "Dreg"])
def test_gradients_match_the_official_loss(ref, ours, phase):
    grads, _, _ = ours
    missing = [n for n, g in grads[phase].items() if g is None]
    # Every parameter gets a gradient (zero where the loss does not depend on it), as the official
    # `gen_img[:, 0, 0, 0] * 0` / `real_logits * 0` terms ensure, so Adam updates every moment.
    assert missing == [], f"{phase}: no gradient for {missing}"
    worst = {}
    for name, g in grads[phase].items():
        expected = ref[f"grad/{phase}/{name}"].astype(np.float64)
        got = g.numpy()
        scale = np.abs(expected).max()
        if scale == 0:
            assert np.all(got == 0), f"{phase} {name}: expected an exactly zero gradient"
            continue
        worst[name] = float(np.abs(got - expected).max() / scale)
    bad = {k: v for k, v in worst.items() if v > REL_TOL}
    assert bad == {}, f"{phase}: relative gradient errors above {REL_TOL}: {bad}"


def test_losses_match_the_official_loss(ref, ours):
    _, stats, G = ours
    pairs = [
        (stats["Gmain"]["loss_G"], ref["loss/Gmain/loss_G"]),
        (stats["Greg"]["pl_penalty"], ref["loss/Greg/pl_penalty"]),
        (stats["Greg"]["pl_mean"], ref["loss/Greg/pl_mean"]),
        (stats["Dmain"]["loss_D"], ref["loss/Dmain/loss_D"]),
        (stats["Dmain"]["real_logits"], ref["loss/Dmain/real_logits"]),
        (stats["Dreg"]["r1_penalty"], ref["loss/Dreg/r1_penalty"]),
        (stats["Dreg"]["real_logits"], ref["loss/Dreg/real_logits"]),
        (G.mapping.w_avg, ref["buffer_after/G/mapping.w_avg"]),
    ]
    for got, expected in pairs:
        np.testing.assert_allclose(got.detach().numpy().ravel(), np.ravel(expected), rtol=1e-5, atol=1e-7)
