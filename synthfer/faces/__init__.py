"""Phase 1 — faces: detect, landmark, level and crop real photographs; detection-only screening of
generated images.

Public API (documented in ``docs/faces.md``):

- :class:`synthfer.faces.settings.FaceSettings` — every knob, built from the ``faces`` config section.
- :func:`synthfer.faces.align.align_face` — one RGB array → crop + 68 landmarks + status/reason.
- :func:`synthfer.faces.detect.detect_faces` / :func:`synthfer.faces.align.detect_only` — detection only.
- :func:`synthfer.faces.pipeline.align_shard`, :func:`~synthfer.faces.pipeline.merge_real_shards`,
  :func:`~synthfer.faces.pipeline.filter_synthetic_shard` — folder / shard level.

Nothing here imports dlib or cv2 at module import time.
"""
