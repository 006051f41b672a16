"""Shared helpers: atomic writes, image reading of awkward inputs, config error messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthfer import config as cfg
from synthfer import imaging, io

REPO = Path(__file__).resolve().parents[1]


def test_atomic_path_leaves_no_partial_file_on_error(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_outputs_get_umask_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        io.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_write_table_roundtrip_and_unknown_suffix(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"name": ["a", "b"], "x": [1, 2]})
    for suffix in (".csv", ".tsv", ".parquet"):
        io.write_table(tmp_path / f"t{suffix}", df)
        pd.testing.assert_frame_equal(io.read_table(tmp_path / f"t{suffix}"), df)
    with pytest.raises(ValueError, match="unknown table format"):
        io.write_table(tmp_path / "t.xlsx", df)


def test_write_json_refuses_nan(tmp_path):
    io.write_json(tmp_path / "a.json", {"n": np.int64(3), "a": np.arange(2)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"n": 3, "a": [0, 1]}
    with pytest.raises(ValueError):
        io.write_json(tmp_path / "b.json", {"x": float("nan")})
    assert not (tmp_path / "b.json").exists()


def test_sha256_and_link_or_copy(tmp_path):
    src = tmp_path / "a.bin"
    src.write_bytes(b"synthfer")

    import hashlib

    assert io.sha256_file(src) == hashlib.sha256(b"synthfer").hexdigest()
    io.link_or_copy(src, tmp_path / "sub" / "b.bin")
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"synthfer"


def _save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


@pytest.fixture
def rgb_image() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (80, 100, 3), dtype=np.uint8))


def test_load_rgb_modes(tmp_path, rgb_image):
    grey = imaging.load_rgb(_save(rgb_image.convert("L"), tmp_path / "g.png"))
    assert grey.shape == (80, 100, 3) and (grey[..., 0] == grey[..., 2]).all()
    rgba = rgb_image.convert("RGBA")
    rgba.putalpha(255)
    assert (imaging.load_rgb(_save(rgba, tmp_path / "a.png")) == np.asarray(rgb_image)).all()
    cmyk = imaging.load_rgb(_save(rgb_image.convert("CMYK"), tmp_path / "c.jpg"))
    assert cmyk.shape == (80, 100, 3) and cmyk.dtype == np.uint8
    a16 = (np.arange(80 * 100, dtype=np.uint16).reshape(80, 100) * 8)
    p16 = tmp_path / "d16.png"
    Image.fromarray(a16).save(p16)
    out = imaging.load_rgb(p16)
    assert out.dtype == np.uint8 and out[..., 0].max() == round(int(a16.max()) / 257)


def test_load_rgb_honours_exif_orientation(tmp_path, rgb_image):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    p = tmp_path / "rot.jpg"
    rgb_image.save(p, exif=exif.tobytes(), quality=95)
    assert imaging.load_rgb(p).shape == (100, 80, 3)


def test_load_rgb_rejects_with_reasons(tmp_path, rgb_image):
    jpg = _save(rgb_image, tmp_path / "ok.jpg", quality=90)
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes(jpg.read_bytes()[: len(jpg.read_bytes()) // 2])
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    cases = {trunc: "truncated", fake: "unreadable"}
    for path, reason in cases.items():
        with pytest.raises(imaging.ImageReadError) as err:
            imaging.load_rgb(path)
        assert err.value.reason == reason and str(path) in str(err.value)
    with pytest.raises(imaging.ImageReadError) as err:
        imaging.load_rgb(jpg, min_side=90)
    assert err.value.reason == "too_small"
    with pytest.raises(imaging.ImageReadError) as err:
        imaging.load_rgb(jpg, expect_size=(64, 64))
    assert err.value.reason == "wrong_size"


def test_save_png_roundtrip(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    imaging.save_png(tmp_path / "x.png", arr)
    assert (imaging.load_rgb(tmp_path / "x.png") == arr).all()
    with pytest.raises(TypeError):
        imaging.save_png(tmp_path / "y.png", arr.astype(np.float32))


def test_bundle_schema_fills_section_defaults():
    from jsonschema import Draft202012Validator, validators

    schema = cfg.bundle_schema(REPO / "config/schema/config.schema.yaml")
    assert "$ref" not in json.dumps(schema)
    conf = {"real_images": {"folder": "x"}}

    def set_defaults(validator, properties, instance, sch):
        for prop, sub in properties.items():
            if isinstance(instance, dict) and "default" in sub:
                instance.setdefault(prop, sub["default"])
        yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, sch)

    validators.extend(Draft202012Validator, {"properties": set_defaults})(schema).validate(conf)
    assert conf["real_images"]["metadata"] is None and conf["seed"] == 2023


def test_explain_config_error_messages():
    schema = REPO / "config/schema/config.schema.yaml"
    assert cfg.explain_config_error({"real_images": {"folder": "x"}}, schema) is None
    msg = cfg.explain_config_error({"real_images": {"folder": "x", "metdata": 1}}, schema)
    assert "unknown key(s) 'metdata'" in msg and "section 'real_images'" in msg and "metadata" in msg
    msg = cfg.explain_config_error({"real_images": {"folder": 3}}, schema)
    assert msg.startswith("config key 'real_images.folder'") and "Fix:" in msg
    msg = cfg.explain_config_error({}, schema)
    assert "config key 'real_images' is missing" in msg


def test_check_input_paths(tmp_path):
    cfg.check_input_paths({"a": {"b": str(tmp_path)}, "c": "results/x", "d": None}, ["a.b", "c", "d"])
    with pytest.raises(cfg.ConfigError, match="config key 'a.b'"):
        cfg.check_input_paths({"a": {"b": str(tmp_path / "missing")}}, ["a.b"])


def test_au_column_order_has_one_definition():
    """One name, one home: ``synthfer.AU_COLUMNS``; no package re-exports it under that or another name."""
    import synthfer
    from synthfer import fer, iqa, seeds

    assert synthfer.AU_COLUMNS == ("AU1", "AU4", "AU5", "AU6", "AU12", "AU15")
    for module in (fer, seeds, iqa):
        assert not hasattr(module, "AU_COLUMNS") and not hasattr(module, "AU_NAMES"), module.__name__


def test_thresholds_name_known_metrics_and_bounds():
    """An unknown metric (in thresholds or weights) or bound is refused naming the section and the choices."""
    schema = REPO / "config/schema/config.schema.yaml"
    base = {"real_images": {"folder": "x"}}
    msg = cfg.explain_config_error({**base, "select": {"thresholds": {"psnrr": {"min": 3}}}}, schema)
    assert "unknown key 'psnrr'" in msg and "section 'select.thresholds'" in msg and "brisque" in msg
    msg = cfg.explain_config_error({**base, "select": {"weights": {"fsim": 2}}}, schema)
    assert "unknown key 'fsim'" in msg and "section 'select.weights'" in msg and "psnr" in msg
    msg = cfg.explain_config_error({**base, "select": {"thresholds": {"psnr": {"mn": 3}}}}, schema)
    assert "'mn'" in msg and "select.thresholds.psnr" in msg and "max, min" in msg
    assert cfg.explain_config_error({**base, "select": {"thresholds": {"psnr": {"min": 3, "max": 9}}}}, schema) is None


def test_min_above_max_is_refused_naming_the_key():
    from synthfer.select.checks import check_thresholds

    check_thresholds({"psnr": {"min": 10, "max": 10}, "brisque": {"max": 60}})
    with pytest.raises(cfg.ConfigError) as err:
        check_thresholds({"ssim": {"min": 0.2}, "psnr": {"min": 40, "max": 10}})
    msg = str(err.value)
    assert "select.thresholds.psnr" in msg and "min 40 is greater than max 10" in msg and "Fix:" in msg
    assert "ssim" not in msg


def test_png_with_a_broken_checksum_is_corrupt_not_silently_taken(tmp_path):
    arr = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    imaging.save_png(tmp_path / "ok.png", arr)
    png = (tmp_path / "ok.png").read_bytes()
    i = png.find(b"IDAT")
    crc = i + 4 + int.from_bytes(png[i - 4 : i], "big")
    (tmp_path / "bad.png").write_bytes(png[:crc] + bytes([png[crc] ^ 0xFF]) + png[crc + 1 :])
    with pytest.raises(imaging.ImageReadError) as err:
        imaging.load_rgb(tmp_path / "bad.png")
    assert err.value.reason == "corrupt" and "checksum" in err.value.detail
    assert (imaging.load_rgb(tmp_path / "ok.png") == arr).all()


def test_scan_folder_accounts_for_every_entry(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "B.PNG").write_bytes(b"x")
    (tmp_path / "c.gif").write_bytes(b"x")
    (tmp_path / "notes").write_text("x")
    (tmp_path / "x.jpg").mkdir()
    (tmp_path / "link.png").symlink_to(tmp_path / "a.jpg")
    (tmp_path / "broken.png").symlink_to(tmp_path / "nowhere.png")
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    got = {e.path.name: e.reason for e in imaging.scan_folder(tmp_path)}
    assert got == {
        "B.PNG": "", "a.jpg": "", "link.png": "", "c.gif": "unsupported_format", "notes": "unsupported_format",
        "x.jpg": "not_a_file", "broken.png": "unreadable",
    }  # fmt: skip
    assert [e.path.name for e in imaging.scan_folder(tmp_path)] == sorted(got)


def test_wildcard_ids_have_one_width():
    from synthfer.ids import WILDCARD_CONSTRAINTS, batch_ids, fold_ids, shard_ids

    assert fold_ids(3) == ["01", "02", "03"] and shard_ids(2) == ["000", "001"] and batch_ids([3, 0, 3]) == ["0000", "0003"]
    assert WILDCARD_CONSTRAINTS == {"shard": r"\d{3}", "batch": r"\d{4}", "fold": r"\d{2}"}
    assert len(fold_ids(99)) == 99
    with pytest.raises(ValueError, match="config key 'fer.folds': 100 folds"):
        fold_ids(100)


def test_write_text_if_changed_writes_only_new_content(tmp_path):
    from synthfer.io import write_text_if_changed

    path = tmp_path / "sub" / "schema.yaml"
    assert write_text_if_changed(path, "a: 1\n") and path.read_text() == "a: 1\n"
    mtime = path.stat().st_mtime_ns
    assert not write_text_if_changed(path, "a: 1\n") and path.stat().st_mtime_ns == mtime
    assert write_text_if_changed(path, "a: 2\n") and path.read_text() == "a: 2\n"
