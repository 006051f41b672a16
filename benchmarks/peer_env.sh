#!/usr/bin/env bash
# Create the SEPARATE virtual environment used only by the peer-comparison benchmarks and parity
# tests (tests/test_iqa_peers.py, benchmarks/iqa_speed.py).
#
# image-similarity-measures 0.3.6 pins numpy<2, scikit-image<0.21 and opencv-python<5; installing
# it into .venv would downgrade numpy and break opencv-python-headless 4.14 there. So it lives in
# its own venv (default .venv-peers, override with PEER_VENV=...). Idempotent: re-running is cheap.
# Needs .venv (for the pytorch-fid overlay) and PyPI access.
#
#   bash benchmarks/peer_env.sh            # creates .venv-peers
#   PEER_VENV=/tmp/peers bash benchmarks/peer_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PEER_VENV="${PEER_VENV:-.venv-peers}"
STAMP="$PEER_VENV/.synthfer-peers-installed"
if [[ -f "$STAMP" ]]; then
    echo "peer venv $PEER_VENV already set up"
    exit 0
fi
test -x "$PEER_VENV/bin/python" || "$PYTHON" -m venv "$PEER_VENV"
"$PEER_VENV/bin/python" -m pip install -q --upgrade pip
# Exact versions: the parity tests compare numbers with these releases.
# brisque 0.2.0's score() fails on numpy >= 2 (float() of a 1-element array), so it is run here too.
"$PEER_VENV/bin/python" -m pip install -q "image-similarity-measures==0.3.6" "brisque==0.2.0" "libsvm-official==3.37.0"
"$PEER_VENV/bin/python" -c "import image_similarity_measures.quality_metrics as q; print('image-similarity-measures OK:', sorted(q.metric_functions))"
"$PEER_VENV/bin/python" -c "import brisque; print('brisque OK')"
# pytorch-fid (the FID parity reference) needs torchvision, which must match .venv's torch build.
# It is installed WITHOUT dependencies into an overlay folder that only the parity test puts on
# PYTHONPATH of .venv's Python (nothing is added to .venv itself).
MAIN_PY="${MAIN_PY:-.venv/bin/python}"
TV_VERSION="$("$MAIN_PY" -c 'import torch; M, m = torch.__version__.split(".")[:2]; print(f"0.{int(m) + 15}.0")')"
"$MAIN_PY" -m pip install -q --no-deps --target "$PEER_VENV/fid-overlay" "torchvision==$TV_VERSION" "pytorch-fid==0.3.0"
touch "$STAMP"
