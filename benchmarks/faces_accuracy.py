"""Alignment accuracy of the faces phase on the shared real-face set.

    .venv/bin/python benchmarks/faces_accuracy.py [--data ../shared/data/faces] [--upsample 1]
                                                  [--rotations -25,-15,15,25] [--json out.json]

Prints, for all 102 London neutral photographs (points 0/1 of landmarks_189.csv = the pupils):
the share aligned, the share whose pupil line is level within 1.5° after alignment (criterion
≥ 98 %), the share whose pupil distance in the crop is within ±5 % of size/crop_scale (≥ 98 %),
the same for copies rotated by each of ``--rotations``, and the outcome on no_face/, wild/ and
poses/ (no crop with a reason; multi-face policy). The London Set is CC BY 4.0, DeBruine & Jones
(2017), doi:10.6084/m9.figshare.5047666.v5.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from synthfer.faces.accuracy import evaluate, london_pupils, summarise  # noqa: E402
from synthfer.faces.align import align_face  # noqa: E402
from synthfer.faces.settings import FaceSettings  # noqa: E402
from synthfer.imaging import list_images, load_rgb  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("SYNTHFER_FACES_DATA", str(REPO.parent / "shared" / "data" / "faces")))
    ap.add_argument("--upsample", type=int, default=1, help="dlib HOG up-samplings (config/config.yaml: 1)")
    ap.add_argument("--rotations", default="-25,-15,15,25", help="extra in-plane rotations in degrees ('' for none)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    root = Path(args.data)
    if not (root / "london").is_dir():
        print(f"shared face data not found at {root} (set SYNTHFER_FACES_DATA or --data)", file=sys.stderr)
        return 2
    settings = FaceSettings(upsample=args.upsample)
    truth = london_pupils(root / "london")
    items = [(r.image, root / "london" / r.image, (r.lx, r.ly), (r.rx, r.ry)) for r in truth.itertuples()]
    rotations = [0.0] + [float(x) for x in args.rotations.split(",") if x.strip()]
    t0 = time.perf_counter()
    df = evaluate(items, settings, rotations=rotations)
    secs = time.perf_counter() - t0
    out: dict = {"settings": settings.to_dict(), "london": {}, "seconds_per_alignment": secs / len(df)}
    print(f"London set: {len(items)} photographs, settings upsample={settings.upsample} size={settings.size} "
          f"crop_scale={settings.crop_scale} (target pupil distance {settings.target_iod:.1f} px)")  # fmt: skip
    print(f"{'rotation':>9} {'n':>4} {'aligned':>8} {'level≤1.5°':>11} {'IPD±5%':>8} {'median|tilt|':>13} {'max|tilt|':>10} {'IPD ratio range':>17}")
    for rot, sub in df.groupby("rotation"):
        s = summarise(sub)
        out["london"][f"{rot:+.0f}"] = s
        print(f"{rot:>+9.0f} {s['n']:>4} {s['aligned']:>8.1%} {s['level']:>11.1%} {s['iod_within']:>8.1%} "
              f"{s['median_abs_tilt']:>12.2f}° {s['max_abs_tilt']:>9.2f}° {s['iod_ratio_min']:>8.3f}–{s['iod_ratio_max']:.3f}")  # fmt: skip
    base = summarise(df[df["rotation"] == 0])
    verdict = base["level"] >= 0.98 and base["iod_within"] >= 0.98
    print(f"criteria (unrotated: level ≥ 98 %, IPD within ±5 % on ≥ 98 %): {'PASS' if verdict else 'FAIL'}")
    print(f"{secs / len(df):.3f} s per alignment")

    for folder in ("no_face", "wild", "poses"):
        rows = {}
        for path in list_images(root / folder):
            for policy in ("largest", "reject") if folder == "wild" else ("largest",):
                res = align_face(load_rgb(path), FaceSettings(upsample=args.upsample, multi_face=policy))
                key = path.name if folder != "wild" else f"{path.name} [{policy}]"
                rows[key] = {"status": res.status, "reason": res.reason, "detector": res.detector, "n_faces": res.n_faces}
        out[folder] = rows
        n_ok = sum(r["status"] == "ok" for r in rows.values())
        print(f"\n{folder}/: {n_ok} of {len(rows)} cropped")
        for k, r in rows.items():
            print(f"  {k:42s} {r['status']:9s} {r['reason'] or '-':15s} faces={r['n_faces']} {r['detector']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
