"""Image quality assessment for Training Data Selection (TDS).

- :mod:`synthfer.iqa.metrics`    full-reference metrics (RMSE, PSNR, SSIM, ISSM, SAM, UIQ), batched in torch.
- :mod:`synthfer.iqa.brisque`    BRISQUE features (vectorised) and the LIVE-trained SVR shipped in ``brisque``.
- :mod:`synthfer.iqa.references` real reference crops and the per-image reference choice.
- :mod:`synthfer.iqa.svr`        ε-SVR severity model trained on graded degradations of the real crops.
- :mod:`synthfer.iqa.fid`        feature extractors (InceptionV3 pool3, dlib face embedding), FID, KID.
- :mod:`synthfer.iqa.batches`    the seeded partition of the synthetic pool into scoring batches.
- :mod:`synthfer.iqa.score`      one batch → one score table.

torch, cv2 and dlib are imported inside functions only.
"""

# Direction of every per-image score column: True = higher is better.
HIGHER_IS_BETTER = {
    "rmse": False,
    "psnr": True,
    "ssim": True,
    "issm": True,
    "sam": False,
    "uiq": True,
    "brisque": False,
    "svr_severity": False,
}
FR_METRICS = ("rmse", "psnr", "ssim", "issm", "sam", "uiq")
SCORE_METRICS = (*FR_METRICS, "brisque", "svr_severity")
