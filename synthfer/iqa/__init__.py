"""Image quality assessment for Training Data Selection (TDS).

- :mod:`synthfer.iqa.metrics`    full-reference metrics (RMSE, PSNR, SSIM, ISSM, SAM, UIQ), batched in torch.
- :mod:`synthfer.iqa.brisque`    BRISQUE features (vectorised) and the LIVE-trained SVR shipped in ``brisque``.
- :mod:`synthfer.iqa.references` real reference crops and the per-image reference choice.
- :mod:`synthfer.iqa.svr`        ε-SVR severity model trained on graded degradations of the real crops.
- :mod:`synthfer.iqa.fid`        feature extractors (InceptionV3 pool3, dlib face embedding), FID, KID.
- :mod:`synthfer.iqa.batches`    the seeded partition of the synthetic pool into scoring batches.
- :mod:`synthfer.iqa.score`      one batch → one score table.

The score names and directions live in :mod:`synthfer.scores` (a core module: select and the FER
variants read them without importing this phase). torch, cv2 and dlib are imported inside functions only.
"""
