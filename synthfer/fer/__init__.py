"""FER evaluation: subject-wise k-fold cross-validation of an EfficientNet-B0 AU classifier.

Trained on real labelled frames alone (``real_only``) or together with a synthetic set (the
variants of :mod:`synthfer.variants`), always validated on the held-out subjects' real frames.
Keras 3 only, so the TensorFlow and PyTorch backends both work. Heavy frameworks are imported inside
functions.
"""

