"""The bad-input matrix of the faces phase: every file is processed correctly or rejected with a
reason, one bad file never aborts a shard, inputs are never modified; shard merge, synthetic filter
and report on the same folder."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from synthfer.demo.render import EXPRESSIONS, Identity, render_face
from synthfer.faces.pipeline import (
    FILTER_COLUMNS,
    MANIFEST_COLUMNS,
    align_shard,
    filter_synthetic_shard,
    merge_real_shards,
)
from synthfer.faces.report import faces_report
from synthfer.faces.settings import FaceSettings

SETTINGS = FaceSettings(upsample=0, size=128)


def _face(seed: int, size: int = 320) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return render_face(Identity.random(rng), EXPRESSIONS["neutral"], size, rng=rng).image


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    face = Image.fromarray(_face(1))
    face.save(d / "good.png")
    face.save(d / "good_jpeg.jpg", quality=92)
    full = (d / "good_jpeg.jpg").read_bytes()
    (d / "trunc_jpeg.jpg").write_bytes(full[: len(full) * 6 // 10])
    png = (d / "good.png").read_bytes()
    (d / "trunc_png.png").write_bytes(png[: len(png) // 2])
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + np.random.default_rng(0).bytes(4000))
    (d / "notes.png").write_text("this is not an image\n")
    face.convert("L").save(d / "grey.png")
    rgba = face.convert("RGBA")
    rgba.putalpha(255)
    rgba.save(d / "rgba.png")
    grey16 = (np.asarray(face.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(grey16).save(d / "sixteen.png")
    assert Image.open(d / "sixteen.png").mode.startswith("I;16")
    face.convert("CMYK").save(d / "cmyk.jpg", quality=92)
    # EXIF orientation 6 = "rotate 90° clockwise to display": store the pixels turned the other way.
    exif = Image.Exif()
    exif[0x0112] = 6
    face.transpose(Image.Transpose.ROTATE_90).save(d / "exif_rotated.jpg", exif=exif, quality=92)
    Image.fromarray(_face(2, 48)).save(d / "tiny.png")
    Image.new("L", (8200, 70), 128).save(d / "huge.png")
    grad = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (320, 1))
    Image.fromarray(np.stack([grad] * 3, axis=2)).save(d / "no_face.png")
    two = np.concatenate([_face(3), _face(4, 320)], axis=1)
    Image.fromarray(two).save(d / "two_faces.png")
    face.save(d / "dup.jpg", quality=92)
    face.save(d / "dup.png")
    (d / "a_folder.png").mkdir()  # a folder named like an image: a row, not_a_file
    face.save(d / "anim.gif")  # a format the pipeline does not read: a row, unsupported_format
    (d / "gone.jpg").symlink_to(d / "moved_away.jpg")  # a broken link: a row, unreadable
    (d / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: skipped
    (d / "badcrc.png").write_bytes(_break_png_crc((d / "good.png").read_bytes()))  # decodes, checksum wrong
    return d


def _break_png_crc(png: bytes) -> bytes:
    """``png`` with the CRC of its first IDAT chunk flipped: the pixels still decode, the file is damaged."""
    i = png.find(b"IDAT")
    crc = i + 4 + int.from_bytes(png[i - 4 : i], "big")
    return png[:crc] + bytes([png[crc] ^ 0xFF]) + png[crc + 1 :]


EXPECTED = {
    "good": ("ok", ""),
    "good_jpeg": ("ok", ""),
    "trunc_jpeg": ("rejected", "truncated"),
    "trunc_png": ("rejected", "truncated"),
    "corrupt": ("rejected", {"unreadable", "truncated"}),  # Pillow calls a garbled JPEG body "truncated"
    "notes": ("rejected", "unreadable"),
    "grey": ("ok", ""),
    "rgba": ("ok", ""),
    "sixteen": ("ok", ""),
    "cmyk": ("ok", ""),
    "exif_rotated": ("ok", ""),
    "tiny": ("rejected", "too_small"),
    "huge": ("rejected", "too_large"),
    "no_face": ("rejected", "no_face"),
    "two_faces": ("ok", ""),
    "a_folder": ("rejected", "not_a_file"),
    "anim": ("rejected", "unsupported_format"),
    "gone": ("rejected", "unreadable"),
    "badcrc": ("rejected", "corrupt"),
}


@pytest.fixture(scope="module")
def shards(bad_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    before = {p.name: (_sha(p), p.stat().st_mtime_ns) for p in bad_folder.iterdir() if p.is_file()}
    frames = [
        align_shard(bad_folder, out / f"{k:03d}", out / f"{k:03d}.csv", shard=k, n_shards=2, settings=SETTINGS)
        for k in range(2)
    ]
    after = {p.name: (_sha(p), p.stat().st_mtime_ns) for p in bad_folder.iterdir() if p.is_file()}
    return out, frames, before, after


def test_inputs_are_never_modified(shards):
    _, _, before, after = shards
    assert before == after


def test_every_entry_gets_exactly_one_row_across_shards(bad_folder, shards):
    """Files, folders and broken links alike: nothing in the folder vanishes without a row (hidden ones aside)."""
    _, frames, _, _ = shards
    entries = sorted(p.name for p in bad_folder.iterdir() if not p.name.startswith("."))
    rows = sorted(pd.concat(frames)["source"].map(lambda s: s.rsplit("/", 1)[-1]))
    assert rows == entries
    assert {"a_folder.png", "anim.gif", "gone.jpg"} <= set(rows) and ".DS_Store" not in rows
    not_images = {"not_a_file", "unsupported_format"}
    images = [df[~df["reason"].isin(not_images) & ~df["source"].str.endswith("gone.jpg")] for df in frames]
    assert abs(len(images[0]) - len(images[1])) <= 1  # interleaved shards are balanced
    assert not frames[1]["reason"].isin(not_images).any()  # shard 0 records the entries that are not images
    for df in frames:
        assert list(df.columns) == MANIFEST_COLUMNS


def test_each_bad_input_is_processed_or_rejected_with_its_reason(shards):
    out, frames, _, _ = shards
    df = pd.concat(frames).set_index("source")
    by_name = {src.rsplit("/", 1)[-1]: row for src, row in df.iterrows()}
    for fname, row in by_name.items():
        stem = fname.rsplit(".", 1)[0]
        if stem == "dup":
            continue
        status, reason = EXPECTED[stem]
        assert row["status"] == status, fname
        assert row["reason"] in (reason if isinstance(reason, set) else {reason}), fname
        crop = out / f"{int(row['shard']):03d}" / f"{stem}.png"
        if status == "ok":
            assert crop.is_file(), fname
            assert Image.open(crop).size == (128, 128)
            assert abs(row["crop_left_eye_y"] - row["crop_right_eye_y"]) < 1e-6
            assert row["crop_right_eye_x"] - row["crop_left_eye_x"] == pytest.approx(128 / 3.2)
        else:
            assert row["crop"] == "" or pd.isna(row["crop"])
    assert {by_name["dup.jpg"]["status"], by_name["dup.png"]["reason"]} == {"ok", "duplicate_stem"}
    # the sideways-stored photo was turned upright (else HOG would not have found the face)
    exif = by_name["exif_rotated.jpg"]
    assert (exif["width"], exif["height"]) == (320, 320) and abs(exif["angle"]) < 5
    assert by_name["two_faces.png"]["n_faces"] == 2
    assert len(by_name["good.png"]["sha256"]) == 64


def test_multi_face_reject_policy(bad_folder, tmp_path):
    s = FaceSettings(upsample=0, size=64, multi_face="reject")
    df = align_shard(bad_folder, tmp_path / "c", tmp_path / "m.csv", shard=0, n_shards=1, settings=s)
    row = df[df["name"] == "two_faces"].iloc[0]
    assert (row["status"], row["reason"], row["n_faces"]) == ("rejected", "multiple_faces", 2)
    assert not (tmp_path / "c" / "two_faces.png").exists()


def test_merge_links_crops_and_writes_sidecar(shards, tmp_path):
    out, frames, _, _ = shards
    merged = merge_real_shards(
        [out / "000", out / "001"], [out / "000.csv", out / "001.csv"], tmp_path / "real", tmp_path / "m.csv",
        tmp_path / "m.json", SETTINGS, source_folder="x", seed=7,
    )  # fmt: skip
    ok = merged[merged["status"] == "ok"]
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == sorted(ok["crop"])
    assert list(merged["name"]) == sorted(merged["name"])
    side = json.loads((tmp_path / "m.json").read_text())
    assert side["n_ok"] == len(ok) and side["settings"]["size"] == 128 and side["seed"] == 7
    assert side["counts"]["truncated"] >= 2 and "dlib" in side["provenance"]
    # faces_report on the merged result, with a metadata table for two of the files
    meta = tmp_path / "meta.csv"
    pd.DataFrame({"face_id": ["good", "no_face", "grey"], "age": [20, 30, 40], "group": ["a", "b", "a"]}).to_csv(meta, index=False)
    outputs = {k: tmp_path / "rep" / f"{k}.{ext}" for k, ext in (("contact_sheet", "png"), ("rejections", "png"), ("summary", "csv"),
                                                               ("distributions", "png"), ("detection_rate", "png"), ("by_group", "csv"))}  # fmt: skip
    faces_report(tmp_path / "real", tmp_path / "m.csv", outputs, metadata=meta, id_column="face_id", columns=["age", "group"], n_faces=4)
    for p in outputs.values():
        assert p.is_file() and p.stat().st_size > 0
    by_group = pd.read_csv(outputs["by_group"]).set_index(["column", "group"])
    assert by_group.loc[("group", "a"), "rate"] == 1.0 and by_group.loc[("group", "b"), "rate"] == 0.0
    summary = pd.read_csv(outputs["summary"]).set_index("outcome")
    assert summary["count"].sum() == len(merged) and summary.loc["truncated", "count"] >= 2
    for outcome in ("not_a_file", "unsupported_format", "unreadable", "corrupt"):
        assert summary.loc[outcome, "count"] >= 1 and side["counts"][outcome] >= 1, outcome


def test_synthetic_filter_on_small_generated_images(tmp_path):
    d = tmp_path / "shard"
    d.mkdir()
    for i in range(3):  # 64×64 "generated" faces: found only because they are enlarged first
        Image.fromarray(_face(10 + i, 64)).save(d / f"{i}_{i:06d}.png")
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(d / "9_000003.png")
    (d / "5_000004.png").write_bytes(b"broken")
    df = filter_synthetic_shard(d, tmp_path / "filter.csv", FaceSettings(upscale_to=256, upsample=0))
    back = pd.read_csv(tmp_path / "filter.csv", keep_default_na=False)
    assert list(back.columns) == FILTER_COLUMNS
    got = dict(zip(df["name"], zip(df["face_ok"], df["face_reason"], strict=True), strict=True))
    assert got == {
        "0_000000": (True, ""), "1_000001": (True, ""), "2_000002": (True, ""),
        "9_000003": (False, "no_face"), "5_000004": (False, "unreadable"),
    }  # fmt: skip
    ok = df[df["face_ok"]]
    assert (ok["box_w"] > 20).all() and (ok["box_x"] + ok["box_w"] <= 70).all()  # boxes in 64-px coordinates
    no_up = filter_synthetic_shard(d, tmp_path / "f2.csv", FaceSettings(upscale_to=0, upsample=0))
    assert not no_up["face_ok"].any()  # 64 px is below dlib's 80-px window without enlargement


def test_an_unexpected_error_is_recorded_and_the_shard_goes_on(tmp_path, monkeypatch):
    import synthfer.faces.align as align_mod

    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        Image.fromarray(_face(20 + i)).save(d / f"p{i}.png")
    real = align_mod.align_face

    def flaky(rgb, settings=None):
        if flaky.calls == 1:
            flaky.calls += 1
            raise RuntimeError("simulated crash")
        flaky.calls += 1
        return real(rgb, settings)

    flaky.calls = 0
    monkeypatch.setattr(align_mod, "align_face", flaky)
    df = align_shard(d, tmp_path / "c", tmp_path / "m.csv", shard=0, n_shards=1, settings=SETTINGS)
    assert list(df["status"]) == ["ok", "rejected", "ok"]
    assert df["reason"][1] == "error" and "simulated crash" in df["detail"][1]
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["p0.png", "p2.png"]


def test_empty_folder_and_nothing_aligned_fail_with_a_clear_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("put photos here")
    with pytest.raises(FileNotFoundError, match="no images in .*real_images.folder"):
        align_shard(empty, tmp_path / "c", tmp_path / "m.csv", shard=0, n_shards=1, settings=SETTINGS)
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.full((100, 100, 3), 128, np.uint8)).save(flat / "grey.png")
    align_shard(flat, tmp_path / "s" / "000", tmp_path / "s" / "000.csv", shard=0, n_shards=1, settings=SETTINGS)
    with pytest.raises(ValueError, match="none of the 1 photographs.*no_face"):
        merge_real_shards([tmp_path / "s" / "000"], [tmp_path / "s" / "000.csv"], tmp_path / "r", tmp_path / "r.csv", tmp_path / "r.json")
