"""Review material: contact sheets, edit grids, strips, and the review page in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthfer.seeds.spec import format_seed_yaml, load_seed_spec  # noqa: E402


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    from synthfer.gan.api import tiny_generator
    from synthfer.latent.directions import Directions, compute_directions
    from synthfer.latent.review import build_review

    torch.set_num_threads(1)
    G = tiny_generator(resolution=16, seed=1)
    d, _ = compute_directions(G, 400, 3, seed=1, batch_size=400, std_samples=200)
    out = tmp_path_factory.mktemp("review")
    data = build_review(
        G,
        Directions(d["components"], d["std"], d["mean"], G.num_ws),
        out,
        seed_start=100,
        seed_count=23,
        cols=4,
        rows=3,
        thumb=32,
        truncation_psi=0.7,
        grid_seeds=[101, 105],
        grid_directions=2,
        grid_degrees=[-2.0, 0.0, 2.0],
        edit_layers=(0, None),
        strip_pairs=[(100, 104)],
        strip_steps=5,
        seeds_file_hint="config/seeds.yaml",
    )
    return out, data


def test_review_files_and_layout(review):
    from synthfer.imaging import load_rgb
    from synthfer.latent.review import label_height

    out, data = review
    assert [s["file"] for s in data["sheets"]] == ["sheets/sheet_0000.png", "sheets/sheet_0001.png"]
    assert [s["first_seed"] for s in data["sheets"]] == [100, 112] and [s["n"] for s in data["sheets"]] == [12, 11]
    sheet = load_rgb(out / "sheets" / "sheet_0000.png")
    lh = label_height(32)
    assert sheet.shape == (3 * (32 + lh), 4 * 32, 3)
    # the caption strip under each face has dark (text) pixels; the last page's empty tile is white
    assert sheet[32 : 32 + lh, :32].min() < 128
    last = load_rgb(out / "sheets" / "sheet_0001.png")
    assert last[2 * (32 + lh) :, 3 * 32 :].min() == 255
    assert data["grids"] == {"101": "grids/seed_101.png", "105": "grids/seed_105.png"}
    grid = load_rgb(out / "grids" / "seed_101.png")
    assert grid.shape[0] > 2 * 32 and grid.shape[1] > 3 * 32
    assert (out / "strips" / "strip_100_104.png").is_file()
    assert json.loads((out / "review.json").read_text()) == data
    html = (out / "index.html").read_text()
    assert "/*__REVIEW_DATA__*/null" not in html and "http://" not in html and "https://" not in html


def test_edit_grid_centre_column_is_the_unedited_face(review):
    from synthfer.imaging import load_rgb

    out, _ = review
    grid = load_rgb(out / "grids" / "seed_101.png").astype(int)
    # Columns −2σ, 0, +2σ of row "dir 0": the 0 column differs from both edited ones.
    h = grid.shape[0]
    w = grid.shape[1]
    left = w - 3 * 32
    top = h - 2 * 32
    cells = [grid[top : top + 32, left + 32 * c : left + 32 * (c + 1)] for c in range(3)]
    assert np.abs(cells[0] - cells[1]).mean() > 0.5 and np.abs(cells[2] - cells[1]).mean() > 0.5


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _need_browser():
    msg = None
    try:
        import selenium  # noqa: F401
    except ImportError:
        msg = "selenium is not installed (pip install selenium)"
    if msg is None and (not _chromium() or not shutil.which("chromedriver")):
        msg = "chromium and chromedriver not found (apt-get install chromium chromium-driver)"
    if msg:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.mark.browser
def test_review_page_tick_and_export_in_headless_chromium(review, tmp_path):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    out, data = review
    opts = Options()
    opts.binary_location = _chromium()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        driver.get((out / "index.html").resolve().as_uri())
        assert driver.execute_script("return DATA.seed_count") == 23

        def box(seed, what):
            return driver.find_element(By.CSS_SELECTOR, f'input[data-seed="{seed}"][data-au="{what}"]')

        assert len(driver.find_elements(By.CSS_SELECTOR, ".tile")) == 12
        # sheets load from disk (file://) as sprites
        assert (
            driver.execute_script(
                "const i = new Image(); i.src = DATA.sheets[0].file; return new Promise(r => { i.onload = () => r(i.naturalWidth); i.onerror = () => r(-1); });"
            )
            == 4 * 32
        )
        box(101, "AU12").click()
        box(101, "AU6").click()
        box(107, "AU12").click()
        box(103, "neutral").click()
        box(104, "AU1").click()
        box(104, "neutral").click()  # neutral clears the seed's AUs
        assert not box(104, "AU1").is_selected()
        box(103, "AU15").click()  # an AU clears neutral
        box(103, "AU15").click()  # ... and unticking leaves seed 103 unlisted
        driver.find_element(By.ID, "next").click()
        assert len(driver.find_elements(By.CSS_SELECTOR, ".tile")) == 11
        box(122, "AU4").click()
        driver.find_element(By.ID, "prev").click()
        goto = driver.find_element(By.ID, "goto")
        goto.send_keys("115")
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'));", goto)
        assert driver.find_element(By.ID, "page-num").get_attribute("value") == "2"
        driver.find_element(By.ID, "prev").click()
        assert box(101, "AU12").is_selected()  # ticks survive paging
        driver.find_element(By.ID, "export").click()
        text = driver.find_element(By.ID, "yaml").get_attribute("value")
        href = driver.find_element(By.ID, "download").get_attribute("href")
        # the click on a face opens its edit grid
        face = driver.find_element(By.CSS_SELECTOR, '.tile[data-seed="101"] .face')
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", face)
        face.click()
        assert driver.find_element(By.ID, "viewer-img").get_attribute("src").endswith("grids/seed_101.png")
        # ticks persist in localStorage across a reload
        driver.refresh()
        assert box(101, "AU6").is_selected()
        # clearing, then importing the exported YAML, restores every tick
        driver.execute_script("window.confirm = () => true;")
        driver.find_element(By.ID, "clear").click()
        assert not box(101, "AU6").is_selected()
        area = driver.find_element(By.ID, "yaml")
        driver.execute_script("arguments[0].value = arguments[1];", area, text)
        driver.find_element(By.ID, "import").click()
        assert driver.find_element(By.ID, "import-status").text == "imported 5 ticks"
        assert (
            box(101, "AU6").is_selected()
            and box(104, "neutral").is_selected()
            and not box(103, "neutral").is_selected()
        )
        driver.find_element(By.ID, "export").click()
        assert driver.find_element(By.ID, "yaml").get_attribute("value") == text
        driver.execute_script("arguments[0].value = 'neutral: [101]\\nAU1: [101]';", area)
        driver.find_element(By.ID, "import").click()
        assert "both neutral and in an AU list" in driver.find_element(By.ID, "import-status").text
    finally:
        driver.quit()

    expected = format_seed_yaml(
        {"AU12": [107, 101], "AU6": [101], "AU4": [122]},
        [104],
        0.7,
        [0, 1],
        [-2.0, 0.0, 2.0],
        layers=(0, None),
        comment="exported from the review page (seeds 100-122)",
    )
    assert text == expected
    assert href.startswith("data:text/yaml")
    (tmp_path / "seeds.yaml").write_text(text)
    spec = load_seed_spec(tmp_path / "seeds.yaml")
    assert spec.aus["AU12"] == (101, 107) and spec.neutral == (104,) and spec.aus["AU4"] == (122,)


def test_cli_review(tmp_path):
    from synthfer.cli import main
    from synthfer.gan.api import save_generator, tiny_generator

    save_generator(tmp_path / "net.pt", tiny_generator(resolution=16, seed=2))
    rc = main(
        [
            "review",
            str(tmp_path / "net.pt"),
            "--out",
            str(tmp_path / "rev"),
            "--n-samples",
            "300",
            "--n-components",
            "3",
            "--seed-count",
            "6",
            "--cols",
            "3",
            "--rows",
            "2",
            "--thumb",
            "16",
            "--grid-seeds",
            "1,2",
            "--grid-directions",
            "2",
            "--degrees=-1,1",
            "--strips",
            "0-1",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    data = json.loads((tmp_path / "rev" / "review.json").read_text())
    assert data["grids"] == {"1": "grids/seed_1.png", "2": "grids/seed_2.png"} and len(data["sheets"]) == 1
    assert (tmp_path / "rev" / "strips" / "strip_0_1.png").is_file() and (tmp_path / "rev" / "index.html").is_file()


def test_browser_check_skips_locally_and_fails_under_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _need_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        _need_browser()


def test_jpeg_review_material_matches_the_png_one(review, tmp_path):
    """``image_format='jpeg'``: same layout, ``.jpg`` names in review.json and on disk, pixels within JPEG
    error of the PNG sheets, the format recorded for scripts."""
    from synthfer.gan.api import tiny_generator
    from synthfer.imaging import load_rgb
    from synthfer.latent.directions import Directions, compute_directions
    from synthfer.latent.review import build_review

    png_out, png_data = review
    G = tiny_generator(resolution=16, seed=1)
    d, _ = compute_directions(G, 400, 3, seed=1, batch_size=400, std_samples=200)
    data = build_review(
        G, Directions(d["components"], d["std"], d["mean"], G.num_ws), tmp_path, seed_start=100, seed_count=23,
        cols=4, rows=3, thumb=32, truncation_psi=0.7, grid_seeds=[101, 105], grid_directions=2,
        grid_degrees=[-2.0, 0.0, 2.0], edit_layers=(0, None), strip_pairs=[(100, 104)], strip_steps=5,
        image_format="jpeg", jpeg_quality=95,
    )  # fmt: skip
    assert png_data["image_format"] == "png" and data["image_format"] == "jpeg"
    assert [s["file"] for s in data["sheets"]] == ["sheets/sheet_0000.jpg", "sheets/sheet_0001.jpg"]
    assert data["grids"] == {"101": "grids/seed_101.jpg", "105": "grids/seed_105.jpg"}
    assert [s["file"] for s in data["strips"]] == ["strips/strip_100_104.jpg"]
    assert not list(tmp_path.rglob("*.png"))
    for rel in [s["file"] for s in data["sheets"]] + list(data["grids"].values()):
        jpg = load_rgb(tmp_path / rel).astype(int)
        png = load_rgb(png_out / rel.replace(".jpg", ".png")).astype(int)
        assert jpg.shape == png.shape and np.abs(jpg - png).mean() < 6, rel
    assert (tmp_path / "sheets" / "sheet_0000.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG, not a renamed PNG


def test_unknown_image_format_is_refused(tmp_path):
    from synthfer.imaging import save_image

    with pytest.raises(ValueError, match="gif"):
        save_image(tmp_path / "x.gif", np.zeros((4, 4, 3), np.uint8), "gif")
    assert not list(tmp_path.iterdir())
