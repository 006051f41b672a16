"""Embedded demo data: procedurally drawn faces (no third-party images ship with synthfer).

- :mod:`synthfer.demo.render` — the face renderer (known geometry, drawn Action Units).
- :mod:`synthfer.demo.dataset` — the CFD-like real set and the DISFA-like labelled set.
- :mod:`synthfer.demo.fer_pretrain` — the demo's FER backbone, pretrained on other drawn faces
  (``synthfer fer-pretrain``, registered by :mod:`synthfer.demo.cli`).

The demo exists to exercise the pipeline end to end; nothing learned from it is science.
"""
