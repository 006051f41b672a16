"""Seconds for `snakemake -n` (dry-run) and `--rulegraph` on each shipped config.

Target (Foundation issue): the thesis-scale dry-run finishes in <= 5 s. Run from the repository root:
    .venv/bin/python benchmarks/dryrun_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def time_command(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=REPO, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"snakemake {' '.join(args)} failed:\n{res.stderr[-3000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'config':24s} {'command':12s} {'median s':>9s}  target")
    for config in ("config/config.yaml", "config/demo.yaml"):
        for label, extra in (("dry-run", ["-n", "--quiet", "rules"]), ("rulegraph", ["--rulegraph"])):
            secs = time_command(["--configfile", config, *extra], args.repeat)
            target = "<= 5 s" if config.endswith("config.yaml") and label == "dry-run" else ""
            print(f"{config:24s} {label:12s} {secs:9.2f}  {target}")


if __name__ == "__main__":
    main()
