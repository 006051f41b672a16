"""StyleGAN2 generator and discriminator, written from the papers.

References
----------
- Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN" (StyleGAN2): weight
  demodulation, skip generator, residual discriminator, path-length regularisation, lazy regularisation.
- Karras et al. 2018, "Progressive Growing of GANs": equalised learning rate, minibatch standard deviation.
- Karras et al. 2019, "A Style-Based Generator Architecture for GANs": mapping network, per-layer noise,
  truncation in W.

Equalised learning rate: every weight is stored as ``N(0, 1) / lr_mul`` and multiplied at run time by
``lr_mul / sqrt(fan_in)`` (He constant), so Adam's per-parameter step is the same for every layer.

Parameter and buffer names follow the layout of the official StyleGAN2-ADA PyTorch state dicts
(``mapping.fc0.weight``, ``synthesis.b4.conv1.affine.weight``, ``b256.fromrgb.weight`` …) so that a
state dict read from an official pickle loads with ``load_state_dict`` unchanged (see
:mod:`synthfer.gan.pkl`). The code is an independent implementation; only the names are shared.

Resampling uses the separable 4-tap binomial filter ``[1, 3, 3, 1]`` (normalised to sum 1):
- 2× up: zero-insertion (transposed convolution, stride 2) followed by the filter with gain 4;
- 2× down: the filter followed by a stride-2 convolution (or decimation for a 1×1 skip).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


# ---------------------------------------------------------------------------------------------
# Low-level helpers


def binomial_filter(taps=(1, 3, 3, 1)) -> torch.Tensor:
    """2-D separable low-pass filter ``outer(f, f) / sum(f)²`` as a float32 ``[k, k]`` tensor."""
    f = torch.tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


class _FirConv(torch.autograd.Function):
    """``y = conv2d(x, w, stride, padding, groups=C)`` for a fixed depthwise filter ``w`` [C, 1, k, k].

    The blur is linear in ``x`` and ``w`` is a constant, so its backward is the adjoint map, a transposed
    convolution with the same filter (:class:`_FirConvT`), whose backward is this convolution again: any order
    of derivative (R1 and path length differentiate twice) costs one depthwise convolution per application.
    aten's own double backward of a grouped convolution would also compute the fixed filter's weight gradient,
    one convolution per channel with a whole gradient image as its kernel (issue 21).
    """

    @staticmethod
    def forward(ctx, x, w, stride, padding):
        ctx.save_for_backward(w)
        ctx.args = (stride, padding, tuple(x.shape[-2:]))
        return F.conv2d(x, w, stride=stride, padding=padding, groups=x.shape[1])
    # ``stride`` and ``padding``: an int or an (H, W) pair, as F.conv2d takes them.

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        stride, padding, size = ctx.args
        w = w if w.dtype == g.dtype else w.to(g.dtype)  # autocast: the gradient may come in another precision
        return _FirConvT.apply(g, w, stride, padding, size), None, None, None


class _FirConvT(torch.autograd.Function):
    """``y = conv_transpose2d(x, w, stride, padding, groups=C)`` cropped/extended to ``size`` (H, W): the adjoint of
    :class:`_FirConv` (and the zero-insertion upsampling when ``stride`` is 2); its backward is :class:`_FirConv`."""

    @staticmethod
    def forward(ctx, x, w, stride, padding, size):
        ctx.save_for_backward(w)
        ctx.args = (stride, padding)
        st = (stride, stride) if isinstance(stride, int) else tuple(stride)
        pd = (padding, padding) if isinstance(padding, int) else tuple(padding)
        out_pad = [size[i] - ((x.shape[2 + i] - 1) * st[i] - 2 * pd[i] + w.shape[2 + i]) for i in (0, 1)]
        return F.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=out_pad, groups=x.shape[1])

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        stride, padding = ctx.args
        w = w if w.dtype == g.dtype else w.to(g.dtype)
        return _FirConv.apply(g, w, stride, padding), None, None, None, None


_FILTER_CACHE: dict = {}


def _depthwise(f: torch.Tensor, c: int, gain: float, dtype) -> torch.Tensor:
    """``(f·gain)`` as a ``[c, 1, k, k]`` depthwise weight in ``dtype``, built once per filter, gain, dtype and
    channel count (a per-call rebuild is 3–4 dispatched ops: kernel launches on a GPU)."""
    key = (id(f), f._version, f.device, dtype, c, float(gain))
    hit = _FILTER_CACHE.get(key)
    if hit is not None and hit[0] is f:
        return hit[1]
    if len(_FILTER_CACHE) > 4096:
        _FILTER_CACHE.clear()
    w = (f.detach() * gain).to(dtype)[None, None].expand(c, 1, *f.shape)
    _FILTER_CACHE[key] = (f, w)
    return w


def fir_filter(x: torch.Tensor, f: torch.Tensor, pad: tuple[int, int, int, int], gain: float = 1.0) -> torch.Tensor:
    """Depthwise 2-D FIR filtering of ``x`` [N, C, H, W] with zero padding ``(left, right, top, bottom)``.

    The filter is symmetric, so correlation and convolution coincide. Equal padding on every side is folded
    into the convolution; the blur and its gradients are :class:`_FirConv`/:class:`_FirConvT`.
    """
    w = _depthwise(f, x.shape[1], gain, x.dtype)
    if len(set(pad)) == 1:
        return _FirConv.apply(x, w, 1, pad[0])
    return _FirConv.apply(F.pad(x, list(pad)), w, 1, 0)


def upsample2x(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Upsample by 2: insert a zero after every sample, pad (2, 1), filter with gain 4 (keeps the mean).

    Computed as one depthwise transposed convolution (stride 2, padding 1) with the 4-tap filter, which
    is the same linear map without materialising the zero-filled image.
    """
    w = _depthwise(f, x.shape[1], 4.0, x.dtype)
    return _FirConvT.apply(x, w, 2, (f.shape[-1] - 2) // 2, (2 * x.shape[2], 2 * x.shape[3]))


def downsample2x(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Filter with padding (1, 1) and keep every second sample: H → H/2 (one stride-2 depthwise convolution)."""
    p = (f.shape[-1] - 2) // 2
    return _FirConv.apply(x, _depthwise(f, x.shape[1], 1.0, x.dtype), 2, p)


def bias_act(x: torch.Tensor, b: torch.Tensor | None, act: str, gain: float, clamp: float | None) -> torch.Tensor:
    """``clamp(act(x + b) · gain, ±clamp)`` with ``act`` ∈ {'linear', 'lrelu'} (leaky slope 0.2)."""
    if b is not None:
        x = x + b.to(x.dtype).reshape([1, -1] + [1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, LRELU_SLOPE)
    elif act != "linear":
        raise ValueError(f"unknown activation {act!r}")
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 if it is in a lower precision (bfloat16 under autocast); float32/float64 unchanged.

    The networks compute in the dtype of their parameters (float32, or float64 for reference checks)."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``x / sqrt(mean(x²) + eps)`` over the feature dimension (pixel norm of z)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


# ---------------------------------------------------------------------------------------------
# Equalised-lr layers


class FullyConnectedLayer(nn.Module):
    """Dense layer with equalised lr: ``y = act(x · (W·g)ᵀ + b·lr_mul)``, ``g = lr_mul/sqrt(in)``."""

    def __init__(self, in_features, out_features, bias=True, activation="linear", lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        x = torch.addmm(b.unsqueeze(0), x, w.t()) if b is not None else x.matmul(w.t())
        return bias_act(x, None, self.activation, LRELU_GAIN if self.activation == "lrelu" else 1.0, None)


class Conv2dLayer(nn.Module):
    """Convolution with equalised lr (``g = 1/sqrt(in·k²)``), optional 2× down-sampling, bias, activation
    and output clamping. Used by the discriminator."""

    def __init__(self, in_channels, out_channels, kernel_size, bias=True, activation="linear", down=1, conv_clamp=None):
        super().__init__()
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.register_buffer("resample_filter", binomial_filter())

    def forward(self, x, gain: float = 1.0):
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype) if self.bias is not None else None  # added by the convolution itself
        k = w.shape[-1]
        if self.down == 2:
            f = self.resample_filter
            if k == 1:
                x = downsample2x(x, f)
                x = F.conv2d(x, w, b)
            else:
                # Blur with enough padding that a stride-2 "valid" convolution gives exactly H/2.
                p = (f.shape[-1] - 2 + 1) // 2 + self.padding
                q = (f.shape[-1] - 2) // 2 + self.padding
                x = fir_filter(x, f, (p, q, p, q))
                x = F.conv2d(x, w, b, stride=2)
        else:
            x = F.conv2d(x, w, b, padding=self.padding)
        act_gain = (LRELU_GAIN if self.activation == "lrelu" else 1.0) * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, None, self.activation, act_gain, clamp)


def modulated_conv2d(x, weight, styles, demodulate=True, up=1, resample_filter=None, padding=0, bias=None):
    """Modulated convolution (StyleGAN2 §2.2): ``w'_ijk = s_i · w_ijk`` and, with demodulation,
    ``w''_ijk = w'_ijk / sqrt(Σ_ik w'_ijk² + 1e-8)``.

    Implemented without grouped convolutions: the input is scaled by the styles, convolved with the
    shared weight, and the output scaled by the demodulation coefficients. This is the same linear map
    and keeps each sample's result independent of the batch it is computed in. The coefficients use the
    exact identity ``Σ_ik (s_i·w_oik)² = Σ_i s_i²·Σ_k w_oik²`` (an [N, I]·[I, O] product). ``bias`` (per
    output channel) is added in the same op as the demodulation (or by the convolution without it).
    """
    n = x.shape[0]
    w = weight.to(x.dtype)
    styles = styles.to(x.dtype)
    x = x * styles.reshape(n, -1, 1, 1)
    if up == 2:
        # Zero-insertion upsampling fused with the 3×3 convolution (transposed conv, stride 2, 2H+1
        # samples), then the 4-tap low-pass filter with gain 4 and padding 1 brings it to exactly 2H.
        x = F.conv_transpose2d(x, w.transpose(0, 1), stride=2)
        x = fir_filter(x, resample_filter, (1, 1, 1, 1), gain=4.0)
    elif bias is not None and not demodulate:
        return F.conv2d(x, w, bias.to(x.dtype), padding=padding)  # ``bias``: added by the convolution (toRGB)
    else:
        x = F.conv2d(x, w, padding=padding)
    if demodulate:
        # Σ_ik (s_i·w_oik)² = Σ_i s_i² · Σ_k w_oik²: an [N, I] × [I, O] product instead of the N×O×I×k×k tensor.
        s2 = _at_least_float32(styles).square()
        w2 = _at_least_float32(w).square().sum(dim=[2, 3])
        dcoefs = (s2 @ w2.t() + 1e-8).rsqrt().to(x.dtype).reshape(n, -1, 1, 1)
        if bias is not None:  # x·d + b in one op
            return torch.addcmul(bias.to(x.dtype).reshape(1, -1, 1, 1), x, dcoefs)
        return x * dcoefs
    if bias is not None:
        x = x + bias.to(x.dtype).reshape(1, -1, 1, 1)
    return x


# ---------------------------------------------------------------------------------------------
# Generator


class MappingNetwork(nn.Module):
    """z → w: ``normalize_2nd_moment(z)`` then ``num_layers`` dense lrelu layers at lr multiplier 0.01.

    ``w_avg`` tracks the mean of w during training (``w_avg ← lerp(mean(w), w_avg, β)``, β = 0.995) and
    is the centre of the truncation trick: ``w' = w_avg + ψ·(w − w_avg)``.
    """

    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=8, lr_multiplier=0.01, w_avg_beta=0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        embed = w_dim if c_dim else 0
        if c_dim:
            self.embed = FullyConnectedLayer(c_dim, embed)
        features = [z_dim + embed] + [w_dim] * num_layers
        for i in range(num_layers):
            setattr(
                self,
                f"fc{i}",
                FullyConnectedLayer(features[i], features[i + 1], activation="lrelu", lr_multiplier=lr_multiplier),
            )
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, update_w_avg=False):
        parts = []
        if self.z_dim:
            parts.append(normalize_2nd_moment(z.to(self.fc0.weight.dtype)))
        if self.c_dim:
            if c is None:
                raise ValueError(f"this generator is conditional (c_dim={self.c_dim}): pass c")
            parts.append(normalize_2nd_moment(self.embed(c.to(self.embed.weight.dtype))))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_w_avg and self.w_avg_beta is not None:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x = x.clone()
            x[:, :cut] = self.w_avg.lerp(x[:, :cut], truncation_psi)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3×3 conv (optionally 2× up) + per-pixel noise + bias + lrelu (StyleGAN2 Fig. 2c).

    Noise: ``noise_strength · n`` with ``n`` ~ N(0, 1) per pixel ('random'), the fixed buffer
    ``noise_const`` ('const'), or nothing ('none').
    """

    def __init__(self, in_channels, out_channels, w_dim, resolution, kernel_size=3, up=1, conv_clamp=None):
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.padding = kernel_size // 2
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("resample_filter", binomial_filter())
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self.noise_strength = nn.Parameter(torch.zeros([]))

    def forward(self, x, w, noise_mode="random", gain=1.0):
        styles = self.affine(w)
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            demodulate=True,
            up=self.up,
            resample_filter=self.resample_filter,
            padding=self.padding,
            bias=self.bias,
        )
        if noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device, dtype=x.dtype)
            x = torch.addcmul(x, noise, self.noise_strength.to(x.dtype))  # x + n·strength in one op
        elif noise_mode == "const":
            x = torch.addcmul(x, self.noise_const.to(x.dtype), self.noise_strength.to(x.dtype))
        elif noise_mode != "none":
            raise ValueError(f"noise_mode must be 'random', 'const' or 'none', not {noise_mode!r}")
        act_gain = LRELU_GAIN * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, None, "lrelu", act_gain, clamp)  # the bias was added with the demodulation


class ToRGBLayer(nn.Module):
    """Modulated 1×1 conv to RGB without demodulation; styles scaled by ``1/sqrt(in)``."""

    def __init__(self, in_channels, out_channels, w_dim, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, bias=self.bias)
        return bias_act(x, None, "linear", 1.0, self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: (const | 2× up conv0) → conv1 → toRGB added to the
    upsampled running image."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, use_half=False, conv_clamp=None):
        super().__init__()
        self.in_channels, self.resolution, self.use_half = in_channels, resolution, use_half
        self.num_conv = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.num_conv += 1
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_torgb = 1
        self.register_buffer("resample_filter", binomial_filter())

    def forward(self, x, img, ws, noise_mode="random"):
        half = self.use_half and ws.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=half):
            i = 0
            if self.in_channels == 0:
                x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            else:
                x = self.conv0(x, ws[:, i], noise_mode)
                i += 1
            x = self.conv1(x, ws[:, i], noise_mode)
            y = self.torgb(x, ws[:, i + 1]).to(ws.dtype)
        if img is not None:
            img = upsample2x(img, self.resample_filter)
            y = img + y
        return x, y


class SynthesisNetwork(nn.Module):
    """Blocks b4 … b{res}; ``channels(res) = min(channel_base // res, channel_max)``.

    ``num_ws = 2·log2(res) − 2``: block r consumes ws[k … k+num_conv] where k advances by num_conv
    per block, so each toRGB shares its w with the next block's first conv.
    """

    def __init__(
        self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, num_fp16_res=0, conv_clamp=None
    ):
        super().__init__()
        if img_resolution < 4 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}")
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.resolution_log2 = int(np.log2(img_resolution))
        self.block_resolutions = [2**i for i in range(2, self.resolution_log2 + 1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions}
        fp16_resolution = max(2 ** (self.resolution_log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for r in self.block_resolutions:
            in_ch = channels[r // 2] if r > 4 else 0
            block = SynthesisBlock(
                in_ch,
                channels[r],
                w_dim,
                r,
                img_channels,
                use_half=(r >= fp16_resolution and num_fp16_res > 0),
                conv_clamp=conv_clamp,
            )
            self.num_ws += block.num_conv
            if r == self.img_resolution:
                self.num_ws += block.num_torgb
            setattr(self, f"b{r}", block)

    def forward(self, ws, noise_mode="const"):
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(self.b4.const.dtype)
        x = img = None
        k = 0
        for r in self.block_resolutions:
            block = getattr(self, f"b{r}")
            x, img = block(x, img, ws[:, k : k + block.num_conv + block.num_torgb], noise_mode)
            k += block.num_conv
        return img


class Generator(nn.Module):
    """StyleGAN2 generator: ``G(z) = synthesis(mapping(z))``.

    Attributes ``z_dim, c_dim, w_dim, num_ws, img_resolution, img_channels`` and ``init_kwargs`` (the
    constructor arguments, stored in checkpoints to rebuild the network).
    """

    def __init__(
        self,
        z_dim=512,
        c_dim=0,
        w_dim=512,
        img_resolution=256,
        img_channels=3,
        mapping_kwargs=None,
        synthesis_kwargs=None,
    ):
        super().__init__()
        mapping_kwargs = dict(mapping_kwargs or {})
        synthesis_kwargs = dict(synthesis_kwargs or {})
        self.init_kwargs = dict(
            z_dim=z_dim,
            c_dim=c_dim,
            w_dim=w_dim,
            img_resolution=img_resolution,
            img_channels=img_channels,
            mapping_kwargs=mapping_kwargs,
            synthesis_kwargs=synthesis_kwargs,
        )
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **mapping_kwargs)

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, noise_mode="const"):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)


# ---------------------------------------------------------------------------------------------
# Discriminator


class DiscriminatorBlock(nn.Module):
    """Residual block (StyleGAN2 Fig. 7c): ``(skip(x) + conv1↓(conv0(x))) · sqrt(1/2)``; the first block
    also converts RGB to features with a 1×1 conv (``fromrgb``)."""

    def __init__(
        self, in_channels, tmp_channels, out_channels, resolution, img_channels, use_half=False, conv_clamp=None
    ):
        super().__init__()
        self.in_channels, self.resolution, self.use_half = in_channels, resolution, use_half
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x, img):
        half = self.use_half and (img if x is None else x).device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=half):
            if self.in_channels == 0:
                x = self.fromrgb(img)
            g = math.sqrt(0.5)
            y = self.skip(x, gain=g)
            x = self.conv1(self.conv0(x), gain=g)
            x = y + x
        return x.to(self.conv0.weight.dtype)


class MinibatchStdLayer(nn.Module):
    """Append the standard deviation across a group of samples as an extra feature map (ProGAN §3).

    Samples are grouped with stride ``N/G`` (sample n in group ``n mod N/G``); per group: std over the
    group of every feature, averaged over channels and pixels → one value per group, broadcast to
    ``[G, 1, H, W]``.
    """

    def __init__(self, group_size, num_channels=1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group_size, n) if self.group_size else n
        if n % g:
            raise ValueError(f"minibatch-std group size {g} does not divide the batch size {n}")
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()
        y = y.mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1)
        y = y.repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """4×4 head: minibatch std → 3×3 conv → dense → dense to one logit."""

    def __init__(self, in_channels, resolution, mbstd_group_size=4, mbstd_num_channels=1, conv_clamp=None):
        super().__init__()
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels else None
        self.conv = Conv2dLayer(
            in_channels + mbstd_num_channels, in_channels, 3, activation="lrelu", conv_clamp=conv_clamp
        )
        self.fc = FullyConnectedLayer(in_channels * resolution**2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1)

    def forward(self, x):
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(x.flatten(1))
        return self.out(x)


class Discriminator(nn.Module):
    """Residual discriminator; blocks b{res} … b8 then the 4×4 epilogue ``b4``; returns logits [N, 1]."""

    def __init__(
        self,
        c_dim=0,
        img_resolution=256,
        img_channels=3,
        channel_base=32768,
        channel_max=512,
        num_fp16_res=0,
        conv_clamp=None,
        mbstd_group_size=4,
        mbstd_num_channels=1,
    ):
        super().__init__()
        if c_dim:
            raise NotImplementedError("conditional discriminators are not supported (c_dim must be 0)")
        self.init_kwargs = dict(
            c_dim=c_dim,
            img_resolution=img_resolution,
            img_channels=img_channels,
            channel_base=channel_base,
            channel_max=channel_max,
            num_fp16_res=num_fp16_res,
            conv_clamp=conv_clamp,
            mbstd_group_size=mbstd_group_size,
            mbstd_num_channels=mbstd_num_channels,
        )
        self.img_resolution, self.img_channels = img_resolution, img_channels
        log2 = int(np.log2(img_resolution))
        self.block_resolutions = [2**i for i in range(log2, 2, -1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions + [4]}
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        for r in self.block_resolutions:
            in_ch = channels[r] if r < img_resolution else 0
            block = DiscriminatorBlock(
                in_ch,
                channels[r],
                channels[r // 2],
                r,
                img_channels,
                use_half=(r >= fp16_resolution and num_fp16_res > 0),
                conv_clamp=conv_clamp,
            )
            setattr(self, f"b{r}", block)
        self.b4 = DiscriminatorEpilogue(channels[4], 4, mbstd_group_size, mbstd_num_channels, conv_clamp=conv_clamp)

    def forward(self, img, c=None):
        x = None
        for r in self.block_resolutions:
            x = getattr(self, f"b{r}")(x, img)
        return self.b4(x)
