"""Training Data Selection: per-batch thresholds + ranking over the IQA score tables
(:mod:`synthfer.select.selection`), FID/KID before and after selection (:mod:`synthfer.select.distance`)
and the report figures (:mod:`synthfer.select.figures`). Selections are manifests: no image is
ever deleted or moved."""
