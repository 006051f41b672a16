"""Counting the aten operations one training phase dispatches (issue 21): a CPU proxy for a GPU step's cost.

On a GPU each dispatched op launches one kernel or more (~5–10 µs of CPU time each), and some ops block the host
until the device queue drains (a *sync*). Both are counted on a CPU with a ``TorchDispatchMode``:

- ``ops`` — every aten op dispatched (views included); ``device_ops`` — those less the ``host_ops``, the ops of the
  functions that compose the augmentation's small matrices on the CPU (:data:`HOST_SITES`; no kernel launch in a
  CUDA run either);
- ``convs`` — ``aten::convolution`` calls (forward convolutions, and those a double backward issues;
  ``aten::convolution_backward`` calls are counted apart as ``conv_backwards``);
- ``syncs`` — ops that read a device value on the host or have a data-dependent shape
  (:data:`SYNC_OPS`: ``.item()``/``float()``/``bool()`` are ``_local_scalar_dense``), plus device tensors made
  from Python data (``torch.tensor(list, device=…)``, a pageable host→device copy; seen as ``lift_fresh``).
  Calls made by torch internals on CPU-only bookkeeping tensors (Adam's step counter) are not syncs on CUDA and
  are listed in :data:`CPU_ONLY_FRAMES`.

Used by ``benchmarks/gan_ops.py`` and the tests.
"""

from __future__ import annotations

import sys
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

SYNC_OPS = frozenset(
    {"aten::_local_scalar_dense", "aten::nonzero", "aten::masked_select", "aten::unique", "aten::_unique2",
     "aten::item", "aten::is_nonzero"}
)  # fmt: skip
CONV_OPS = frozenset({"aten::convolution"})
# Source files whose host reads are on CPU-only tensors in a CUDA run (torch's optimisers keep `step` on the CPU).
CPU_ONLY_FRAMES = ("torch/optim/",)
# Project functions whose reads are of tensors that live on the CPU in a CUDA run too (``file:function``): the
# style-mixing draws (torch's CPU generator), the augmentation's parameter drawing and geometry (composed on the
# CPU, sent to the device in one transfer), its cached p.
# Project functions that compose small matrices on the CPU (the augmentation's parameters and geometry): their
# ops are host work in a CUDA run, not kernel launches.
HOST_SITES = frozenset(
    f"gan/augment.py:{f}" for f in ("geometric_matrix", "color_matrix", "_eye", "_scale2", "_rotate2", "_translate2",
                                "_gate", "_rotate_about", "_wavelet_plan", "_theta", "_scale_px", "_translate_px")
)  # fmt: skip
CPU_ONLY_SITES = frozenset(
    {"gan/loss.py:run_G", "gan/augment.py:_wavelet_plan", "gan/augment.py:forward", "gan/augment.py:set_p",
     "gan/augment.py:_sym6_taps"}
)


class OpCounter(TorchDispatchMode):
    """``with OpCounter() as c: …`` → ``c.ops``, ``c.convs``, ``c.syncs`` and ``c.by_name`` (a Counter);
    ``c.sync_sites``: the innermost project frame of each sync; ``c.grouped_conv_double_backward``: convolution
    calls with ``groups > 1`` whose weight is a gradient image (the per-channel weight gradient of a fixed
    depthwise filter inside a double backward)."""

    def __init__(self):
        super().__init__()
        self.by_name: Counter = Counter()
        self.sync_sites: Counter = Counter()
        self.cpu_reads: Counter = Counter()  # reads at CPU_ONLY_SITES (not syncs in a CUDA run)
        self.host_ops = 0  # ops at HOST_SITES: on CPU tensors in a CUDA run too (no kernel launch)
        self.grouped_weight_grads = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func._schema.name
        self.by_name[name] += 1
        fr = _project_frame()
        site = _project_site(fr) if fr is not None else None
        where = site.rsplit(":", 1)[0] if site else None
        if where in HOST_SITES:
            self.host_ops += 1
        if name in SYNC_OPS or (name == "aten::lift_fresh" and _on_device(args)):
            if site is not None:
                if where in CPU_ONLY_SITES or where in HOST_SITES:
                    self.cpu_reads[site] += 1
                else:
                    self.sync_sites[site] += 1
        if name == "aten::convolution_backward":
            groups = args[9] if len(args) > 9 else kwargs.get("groups", 1)
            mask = args[10] if len(args) > 10 else kwargs.get("output_mask", [True, True, True])
            if groups > 1 and mask[1]:
                self.grouped_weight_grads += 1
        if name == "aten::convolution":
            groups = args[8] if len(args) > 8 else kwargs.get("groups", 1)
            # A grouped convolution whose "weight" has as many spatial samples as an image: the per-channel
            # weight gradient that aten's double backward of a depthwise conv computes as a convolution.
            w = args[1]
            if groups > 1 and w.dim() == 4 and min(w.shape[-2:]) > 8:
                self.grouped_weight_grads += 1
        return func(*args, **kwargs)

    @property
    def ops(self) -> int:
        return sum(self.by_name.values())

    @property
    def device_ops(self) -> int:
        """Ops that would run on the device in a CUDA run (kernel launches): all but :attr:`host_ops`."""
        return self.ops - self.host_ops

    @property
    def convs(self) -> int:
        return sum(v for k, v in self.by_name.items() if k in CONV_OPS)

    @property
    def conv_backwards(self) -> int:
        return self.by_name["aten::convolution_backward"]

    @property
    def syncs(self) -> int:
        return sum(self.sync_sites.values())


def _on_device(args) -> bool:
    t = args[0] if args else None
    return isinstance(t, torch.Tensor) and t.device.type != "cpu"


def _project_frame():
    """The innermost frame outside torch (and this module), or None when torch's CPU-only bookkeeping
    (:data:`CPU_ONLY_FRAMES`) comes first."""
    fr = sys._getframe(2)
    while fr is not None:
        f = fr.f_code.co_filename.replace("\\", "/")
        if any(s in f for s in CPU_ONLY_FRAMES):
            return None
        if "/torch/" not in f and not f.endswith("opcount.py"):
            return fr
        fr = fr.f_back
    return None


def _project_site(fr) -> str:
    """``folder/file:function:line`` of a frame (the folder tells synthfer's ``gan/`` from other code)."""
    return f"{'/'.join(fr.f_code.co_filename.replace(chr(92), '/').rsplit('/', 2)[-2:])}:{fr.f_code.co_name}:{fr.f_lineno}"
