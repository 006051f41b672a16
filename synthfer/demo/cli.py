"""``synthfer fer-pretrain``: the demo's FER backbone (light: nothing heavy imported until run).

A demo command, not a FER one: the FER phase only loads the backbone it writes (``fer.model.weights``).
"""

from __future__ import annotations

import argparse


def add_commands(subparsers) -> None:
    t = subparsers.add_parser(
        "fer-pretrain",
        help="pretrain the demo's EfficientNet-B0 backbone on freshly rendered faces (ImageNet stand-in)",
        description="Render demo faces of identities disjoint from the demo's subjects, train the thesis classifier "
        "on their drawn AUs and save only the EfficientNet-B0 backbone as a Keras .weights.h5 that "
        "fer.model.weights can load (docs/fer.md).",
    )
    t.add_argument("--out", required=True, help="output weights file (*.weights.h5); a .json sidecar is written next to it")
    t.add_argument("--input-size", type=int, default=32, help="input side in px (default 32, the demo's)")
    t.add_argument("--identities", type=int, default=600, help="rendered identities (default 600)")
    t.add_argument("--frames", type=int, default=10, help="random expressions per identity (default 10)")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3, help="peak Adam learning rate, cosine-decayed (default 1e-3)")
    t.add_argument("--bn-momentum", type=float, default=0.9)
    t.add_argument("--seed", type=int, default=7, help="random stream of the identities and frames (default 7)")
    t.add_argument("--backend", choices=["tensorflow", "torch", "jax"], default="torch")
    t.add_argument("--threads", type=int, default=1, help="CPU threads for training (default 1)")
    t.add_argument("--workers", type=int, default=1, help="rendering processes (results do not depend on it)")
    t.add_argument("--log", help="also write the log here")
    t.set_defaults(func=_pretrain)


def _pretrain(args: argparse.Namespace) -> int:
    from synthfer.demo.fer_pretrain import pretrain_backbone

    pretrain_backbone(args.out, input_size=args.input_size, n_identities=args.identities,
                      frames_per_identity=args.frames, epochs=args.epochs, batch_size=args.batch_size,
                      learning_rate=args.lr, bn_momentum=args.bn_momentum, seed=args.seed, backend=args.backend,
                      threads=args.threads, workers=args.workers)
    return 0
