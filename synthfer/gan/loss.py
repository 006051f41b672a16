"""StyleGAN2-ADA losses, one training phase at a time (Karras et al. 2020, StyleGAN2 §2 and Appendix B;
ADA §2–3).

The four phases of one minibatch, in this order (each followed by its own optimiser step in the loop):

- ``Gmain`` — non-saturating logistic loss ``softplus(−D(A(G(z))))``, ``A`` the ADA pipeline
  (:mod:`synthfer.gan.augment`) applied to every image D sees.
- ``Greg`` — lazy path-length regularisation on ``batch // pl_batch_shrink`` latents:
  ``a' = a + pl_decay·(mean ‖Jᵀy‖ − a)``, penalty ``w_pl·(‖Jᵀy‖ − a')²`` with ``y ~ N(0, I)/sqrt(H·W)`` and
  ``‖Jᵀy‖ = sqrt(mean over layers of Σ (∂(G(w)·y)/∂w)²)``; the gradient flows through ``a'`` (the batch mean),
  and ``a'`` (detached) becomes the stored running mean.
- ``Dmain`` — ``softplus(D(A(G(z)))) + softplus(−D(A(x)))``.
- ``Dreg`` — lazy R1 ``γ/2 · ‖∇ₓD(A(x))‖²`` on reals, the gradient taken w.r.t. the un-augmented image.

The regularisers add ``0 ·`` (an image pixel / the logits) to their loss so that every parameter of the
network receives a gradient (zero where the loss does not depend on it) and Adam treats every parameter
alike, as the official implementation does. Each phase's loss is multiplied by ``gain`` (the regularisation
interval for the lazy phases, 1 otherwise) before ``backward()``. Style mixing: with probability
``style_mixing_prob`` the ws from a cutoff drawn in ``[1, num_ws)`` come from a second z.

:class:`StyleGAN2Loss` takes every random input that matters for a reference comparison as an argument
(the latents, and optionally the path-length noise ``pl_noise``; ``noise_mode='const'`` fixes the per-pixel
noise), so one step can be checked against another implementation with identical draws.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

PHASES = ("Gmain", "Greg", "Dmain", "Dreg")


class StyleGAN2Loss:
    """The losses of the four phases; holds the running mean path length ``pl_mean``.

    ``G_synthesis_main`` / ``D_main`` optionally replace ``G.synthesis`` / ``D`` in the plain forward passes
    (compiled versions; the regularisers' double backward always runs the eager modules).
    """

    def __init__(
        self,
        G,
        D,
        augment_pipe=None,
        style_mixing_prob: float = 0.9,
        r1_gamma: float = 10.0,
        pl_batch_shrink: int = 2,
        pl_decay: float = 0.01,
        pl_weight: float = 2.0,
        noise_mode: str = "random",
        G_synthesis_main=None,
        D_main=None,
    ):
        self.G, self.D, self.augment_pipe = G, D, augment_pipe
        self.style_mixing_prob = float(style_mixing_prob)
        self.r1_gamma = float(r1_gamma)
        self.pl_batch_shrink = int(pl_batch_shrink)
        self.pl_decay = float(pl_decay)
        self.pl_weight = float(pl_weight)
        self.noise_mode = noise_mode
        self.G_synthesis_main, self.D_main = G_synthesis_main, D_main
        device = next(G.parameters()).device
        self.pl_mean = torch.zeros([], device=device)

    def run_G(self, z: torch.Tensor, eager: bool = False):
        """Mapping (with w_avg tracking) + style mixing + synthesis. ``eager``: never the compiled synthesis
        (the path-length term needs a double backward, which compile does not support)."""
        G = self.G
        ws = G.mapping(z, update_w_avg=True)
        # Draw both random numbers every time so the RNG stream does not depend on the outcome.
        cutoff = int(torch.randint(1, G.num_ws, [1]))
        mix = float(torch.rand([1])) < self.style_mixing_prob
        if mix:
            ws2 = G.mapping(torch.randn_like(z))
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        synth = self.G_synthesis_main if (self.G_synthesis_main is not None and not eager) else G.synthesis
        img = synth(ws, noise_mode=self.noise_mode)
        return img, ws

    def run_D(self, img: torch.Tensor, use_compiled: bool = True) -> torch.Tensor:
        D = self.D_main if (use_compiled and self.D_main is not None) else self.D
        if self.augment_pipe is not None:
            img = self.augment_pipe(img)
        return D(img)

    def accumulate_gradients(
        self,
        phase: str,
        real_img: torch.Tensor | None = None,
        gen_z: torch.Tensor | None = None,
        gain: float = 1.0,
        pl_noise: torch.Tensor | None = None,
    ) -> dict[str, Any]:
        """Run one phase's forward pass and ``backward()`` (gradients accumulate in the parameters that
        require them). ``real_img``: float images in [−1, 1] (Dmain, Dreg); ``gen_z``: the phase's latents
        (for Greg the already shrunk batch); ``pl_noise``: the path-length projection ``y`` (Greg; default a
        fresh draw). Returns the phase's statistics (detached): ``loss_G``; ``pl_penalty``; ``loss_D``,
        ``D_real``, ``D_fake`` and ``real_logits``; ``r1_penalty`` and ``real_logits``.
        """
        if phase == "Gmain":
            img, _ = self.run_G(gen_z)
            loss = F.softplus(-self.run_D(img)).mean()
            (loss * gain).backward()
            return {"loss_G": loss.detach()}

        if phase == "Greg":
            img, ws = self.run_G(gen_z, eager=True)
            if pl_noise is None:
                pl_noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
            (grads,) = torch.autograd.grad((img * pl_noise).sum(), ws, create_graph=True)
            pl_lengths = grads.square().sum(2).mean(1).sqrt()
            # The penalty uses the undetached new mean, so the gradient also flows through the batch mean
            # (as the official code); the stored running mean is the detached value.
            pl_mean = self.pl_mean.lerp(pl_lengths.mean(), self.pl_decay)
            self.pl_mean.copy_(pl_mean.detach())
            pl_penalty = (pl_lengths - pl_mean).square()
            # img[:, 0, 0, 0] * 0: every parameter gets a gradient (zero for the toRGB biases, on which the
            # penalty does not depend), so Adam updates every parameter's moments as the official code does.
            ((img[:, 0, 0, 0] * 0 + pl_penalty * self.pl_weight).mean() * gain).backward()
            return {"pl_penalty": pl_penalty.mean().detach()}

        if phase == "Dmain":
            with torch.no_grad():
                fake, _ = self.run_G(gen_z)
            fake_logits = self.run_D(fake)
            real_logits = self.run_D(real_img)
            loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
            (loss * gain).backward()
            return {
                "loss_D": loss.detach(),
                "D_real": real_logits.detach().mean(),
                "D_fake": fake_logits.detach().mean(),
                "real_logits": real_logits.detach(),
            }

        if phase == "Dreg":
            x = real_img.detach().requires_grad_(True)
            real_logits = self.run_D(x, use_compiled=False)
            (grads,) = torch.autograd.grad(real_logits.sum(), x, create_graph=True)
            r1_penalty = grads.square().sum([1, 2, 3])
            # real_logits * 0: D's output bias gets a (zero) gradient too, as in the official code.
            ((real_logits * 0 + r1_penalty[:, None] * (self.r1_gamma / 2)).mean() * gain).backward()
            return {"r1_penalty": r1_penalty.mean().detach(), "real_logits": real_logits.detach()}

        raise ValueError(f"unknown training phase {phase!r} (one of {PHASES})")
