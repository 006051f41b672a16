"""Weights a job would download: without a network each gives one synthfer message naming the config key
that takes a local file (not a raw Keras/torch traceback). Parse-time checks of configured files:
tests/test_fer_checks.py and tests/test_fer_config.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.error

import pytest

KERAS_OFFLINE = textwrap.dedent(
    """
    import json
    from synthfer.fer.backend import use_backend
    use_backend("torch", 1)
    import keras.src.utils.file_utils as file_utils
    def offline(*args, **kwargs):  # what Keras raises when storage.googleapis.com cannot be reached
        raise Exception("URL fetch failure on https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5: "
                        "None -- [Errno -3] Temporary failure in name resolution")
    file_utils.get_file = offline
    from synthfer.fer.model import WeightsUnavailableError, build_model
    out = {}
    for weights in ("imagenet", "/nowhere/efficientnetb0_notop.h5"):
        try:
            build_model(32, weights)
        except WeightsUnavailableError as exc:
            out[weights] = {"message": str(exc), "suppressed": exc.__suppress_context__ and exc.__cause__ is None}
    print(json.dumps(out))
    """
)


def test_efficientnet_download_failure_names_fer_model_weights(tmp_path):
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras"), "KERAS_BACKEND": "torch"}
    res = subprocess.run([sys.executable, "-c", KERAS_OFFLINE], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    imagenet = out["imagenet"]
    assert imagenet["suppressed"]  # one message, not Keras' traceback chained below it
    msg = imagenet["message"]
    assert msg.startswith("config key 'fer.model.weights' is 'imagenet' but Keras could not download efficientnetb0_notop.h5")
    assert "Fix:" in msg and "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5" in msg
    assert str(tmp_path / "keras" / "models" / "efficientnetb0_notop.h5") in msg
    assert out["/nowhere/efficientnetb0_notop.h5"]["message"].startswith("config key 'fer.model.weights': EfficientNetB0")


def test_inception_messages_name_iqa_fid_inception_weights(tmp_path, monkeypatch):
    import torch

    from synthfer.iqa import fid

    with pytest.raises(FileNotFoundError, match=r"^config key 'iqa\.fid\.inception_weights': .* does not exist\. Fix:"):
        fid.inception_weights_path(tmp_path / "absent.pth")

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(FileNotFoundError) as err:
        fid.inception_weights_path(None)
    msg = str(err.value)
    assert "the download failed (URLError" in msg and "set config key iqa.fid.inception_weights to its path" in msg
    assert "iqa.inception_weights" not in msg and err.value.__cause__ is None
    with pytest.raises(FileNotFoundError, match="iqa.fid.inception_weights"):
        fid.inception_weights_path(None, download=False)
