"""synthfer — synthetic facial-expression data: faces → StyleGAN2-ADA → latent review →
generation → Training Data Selection → seed-ID annotation → cross-validated FER.

All pipeline logic lives in the sub-packages (one per phase); the Snakemake rules only call them.
Heavy frameworks (torch, tensorflow/keras, cv2, dlib) are imported inside the modules that need
them, never here.
"""

__version__ = "0.1.0"

AUS = (1, 4, 5, 6, 12, 15)
"""The six Action Units synthfer labels, in column order everywhere (.npy, CSV, model outputs)."""

AU_COLUMNS = tuple(f"AU{a}" for a in AUS)

AU_DESCRIPTIONS = {
    "AU1": "inner brow raiser",
    "AU4": "brow lowerer",
    "AU5": "upper lid raiser",
    "AU6": "cheek raiser",
    "AU12": "lip corner puller",
    "AU15": "lip corner depressor",
}
"""FACS names of the six AUs (Ekman & Friesen), e.g. for the review page's tick boxes."""


class ConfigError(ValueError):
    """A configuration problem, with the key and the fix in its message (raised by the parse-time checks of
    :func:`synthfer.config.check_config` and the phases' own checks it calls)."""
