"""Counting the aten operations one training phase dispatches (issue 21): a CPU proxy for a GPU step's cost.

On a GPU each dispatched op launches one kernel or more (~5–10 µs of CPU time each), and some ops block the host
until the device queue drains (a *sync*). Both are counted on a CPU with a ``TorchDispatchMode``:

- ``ops`` — every aten op dispatched (views included);
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

import traceback
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


class OpCounter(TorchDispatchMode):
    """``with OpCounter() as c: …`` → ``c.ops``, ``c.convs``, ``c.syncs`` and ``c.by_name`` (a Counter);
    ``c.sync_sites``: the innermost project frame of each sync; ``c.grouped_conv_double_backward``: convolution
    calls with ``groups > 1`` whose weight is a gradient image (the per-channel weight gradient of a fixed
    depthwise filter inside a double backward)."""

    def __init__(self):
        super().__init__()
        self.by_name: Counter = Counter()
        self.sync_sites: Counter = Counter()
        self.grouped_weight_grads = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func._schema.name
        self.by_name[name] += 1
        if name in SYNC_OPS or (name == "aten::lift_fresh" and _on_device(args)):
            site = _project_site()
            if site is not None:
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
            if groups > 1 and w.dim() == 4 and w.shape[-1] > 8:
                self.grouped_weight_grads += 1
        return func(*args, **kwargs)

    @property
    def ops(self) -> int:
        return sum(self.by_name.values())

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


def _project_site() -> str | None:
    """``file:line`` of the innermost frame outside torch, or None when the call comes from torch's CPU-only
    bookkeeping (:data:`CPU_ONLY_FRAMES`)."""
    for fr in reversed(traceback.extract_stack()[:-2]):
        f = fr.filename.replace("\\", "/")
        if any(s in f for s in CPU_ONLY_FRAMES):
            return None
        if "/torch/" in f or f.endswith("opcount.py"):
            continue
        return f"{f.rsplit('/', 1)[-1]}:{fr.lineno}"
    return "?"
