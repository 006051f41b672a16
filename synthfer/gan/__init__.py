"""StyleGAN2-ADA in pure PyTorch: networks, ADA augmentation, training with exact resume, the
generator API used by the other phases, and import of official pickles (no NVIDIA code).

Modules: :mod:`~synthfer.gan.networks`, :mod:`~synthfer.gan.augment`, :mod:`~synthfer.gan.dataset`,
:mod:`~synthfer.gan.options`, :mod:`~synthfer.gan.loss`, :mod:`~synthfer.gan.train`, :mod:`~synthfer.gan.checkpoint`,
:mod:`~synthfer.gan.time_budget`, :mod:`~synthfer.gan.api`, :mod:`~synthfer.gan.pkl`, :mod:`~synthfer.gan.cli`.
Nothing heavy is imported here.
"""

CHECKPOINT_FORMAT = "synthfer-stylegan2-ada"
"""Format marker of every synthfer ``.pt`` checkpoint; here, not in :mod:`~synthfer.gan.api`, so that the
pickle importer (which writes one) and the API (which reads one) need not import each other."""


class NetworkFileError(ValueError):
    """A network file (synthfer ``.pt`` or official ``.pkl``) that cannot be used; the message is one line naming
    the file, what is wrong and the fix. CLIs print it as ``error: …`` (no traceback)."""
