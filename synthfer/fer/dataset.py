"""Streaming image batches from disk for Keras 3 (any backend).

:class:`ImageBatches` is a ``keras.utils.PyDataset``: it holds only file paths and labels and
reads each batch when Keras asks for it (optionally with ``workers`` threads), so a fold of
~47,000 images never sits in memory. Order and augmentation are functions of ``(seed, epoch,
batch)`` only, hence identical whichever worker reads a batch.

With ``steps_per_epoch`` (the step budget, ``fer.train.budget: steps``) an epoch is that many full batches of
one endless shuffled stream: pass j over the images is ``default_rng([seed, j]).permutation(n)``, and the batches
run through the passes back to back, so a small training set is cycled and a large one is never cut short.

Import this module only after :func:`synthfer.fer.backend.use_backend` (it imports Keras).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from synthfer.fer.data import load_image


class ImageBatches(keras.utils.PyDataset):
    """Batches ``(x, y)``: x float32 ``(b, size, size, 3)`` in [0, 255], y float32 ``(b, 6)``.

    ``shuffle`` draws a new order each epoch; ``flip`` mirrors each image left–right with
    probability ½ (AUs are left–right symmetric labels). ``labels=None`` yields x only (inference).
    """

    def __init__(
        self,
        paths,
        labels=None,
        batch_size: int = 32,
        size: int = 224,
        shuffle: bool = False,
        flip: bool = False,
        seed: int = 0,
        workers: int = 1,
        steps_per_epoch: int | None = None,
    ):
        super().__init__(workers=max(1, int(workers)), use_multiprocessing=False, max_queue_size=max(2, 2 * int(workers)))
        self.paths = [str(p) for p in paths]
        self.labels = None if labels is None else np.asarray(labels, dtype=np.float32)
        if self.labels is not None and len(self.labels) != len(self.paths):
            raise ValueError(f"{len(self.paths)} images but {len(self.labels)} label rows")
        if not self.paths:
            raise ValueError("no images to stream")
        self.batch_size, self.size = int(batch_size), int(size)
        self.shuffle, self.flip, self.seed = shuffle, flip, int(seed)
        self.epoch = 0
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        if self.steps_per_epoch is not None and (self.steps_per_epoch < 1 or not shuffle):
            raise ValueError("steps_per_epoch needs shuffle=True and at least 1 step")
        self._passes: dict[int, np.ndarray] = {}
        self._order = self._make_order()

    def _make_order(self) -> np.ndarray:
        n = len(self.paths)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else np.arange(n)

    def __len__(self) -> int:
        return self.steps_per_epoch or math.ceil(len(self.paths) / self.batch_size)

    def _pass(self, j: int) -> np.ndarray:
        if j not in self._passes:  # a race only computes the same permutation twice
            self._passes[j] = np.random.default_rng([self.seed, j]).permutation(len(self.paths))
        return self._passes[j]

    def _stream(self, index: int) -> np.ndarray:
        """Rows of batch ``index`` of the current epoch in the endless stream (module docstring)."""
        n = len(self.paths)
        start = (self.epoch * self.steps_per_epoch + index) * self.batch_size
        pos = np.arange(start, start + self.batch_size)
        return np.array([self._pass(int(p // n))[p % n] for p in pos], dtype=np.int64)

    def __getitem__(self, index: int):
        if self.steps_per_epoch is not None:
            idx = self._stream(index)
        else:
            idx = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        flips = (
            np.random.default_rng([self.seed, self.epoch, index, 1]).random(idx.size) < 0.5
            if self.flip
            else np.zeros(idx.size, dtype=bool)
        )
        x = np.stack([load_image(self.paths[i], self.size, bool(f)) for i, f in zip(idx, flips, strict=True)])
        if self.labels is None:
            return (x,)
        return x, self.labels[idx]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._make_order()
