"""``synthfer predict`` and ``synthfer import-disfa`` (light: nothing heavy imported until run)."""

from __future__ import annotations

import argparse


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="AU probabilities and majority votes for a folder of images from a variant's k fold models",
        description="Ensemble prediction: mean probability and majority vote (threshold per model) of the "
        "fold models results/fer/<variant>/fold_*/rep_*/model.keras for every image in a folder.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--variant-dir", help="folder with fold_*/rep_*/model.keras, e.g. results/fer/synthetic_tds")
    src.add_argument("--models", nargs="+", help="model files (.keras) forming the ensemble")
    p.add_argument("--images", required=True, help="folder of face images (aligned crops, like the training data)")
    p.add_argument("--out", required=True, help="output CSV")
    p.add_argument("--threshold", type=float, default=0.5, help="per-model decision threshold (default 0.5)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--recursive", action="store_true", help="also images in sub-folders")
    p.add_argument("--backend", choices=["tensorflow", "torch", "jax"], default=None,
                   help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads")
    p.add_argument("--log", help="also write the log here")
    p.set_defaults(func=_predict)

    d = subparsers.add_parser(
        "import-disfa",
        help="DISFA videos + AU label files -> cropped frames and a generic labelled table",
        description="Sample frames per subject from DISFA's videos, binarise the AU intensities, crop the "
        "faces with the faces phase and write images/ + labels.csv (the generic table the FER phase reads).",
    )
    d.add_argument("--root", required=True, help="DISFA folder (Videos_RightCamera/, ActionUnit_Labels/)")
    d.add_argument("--out", required=True, help="output folder")
    d.add_argument("--camera", choices=["right", "left"], default="right")
    d.add_argument("--frames", type=int, default=300, help="frames sampled per subject (default 300)")
    d.add_argument("--threshold", type=int, default=2, help="AU present when intensity >= this (default 2)")
    d.add_argument("--sampling", choices=["uniform", "stratified"], default="uniform")
    d.add_argument("--seed", type=int, default=2023)
    d.add_argument("--size", type=int, default=256, help="crop side in px (default 256)")
    d.add_argument("--log", help="also write the log here")
    d.set_defaults(func=_import_disfa)


def _predict(args: argparse.Namespace) -> int:
    from synthfer.fer.predict import find_fold_models, predict_folder

    models = args.models or find_fold_models(args.variant_dir)
    predict_folder(models, args.images, args.out, threshold=args.threshold, batch_size=args.batch_size,
                   backend=args.backend, threads=args.threads, recursive=args.recursive)
    return 0


def _import_disfa(args: argparse.Namespace) -> int:
    from synthfer.fer.disfa import import_disfa

    import_disfa(args.root, args.out, camera=args.camera, frames=args.frames, threshold=args.threshold,
                 sampling=args.sampling, seed=args.seed, size=args.size)
    return 0
