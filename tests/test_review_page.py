"""Review material: contact sheets, edit grids, strips, and the review page in headless Chromium."""

from __future__ import annotations

import contextlib
import json
import os
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthfer.seeds.spec import format_seed_yaml, load_seed_spec  # noqa: E402

NETWORK = {"file": "results/gan/network-final.pt", "sha256": "5e" * 32}


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    from synthfer.gan.api import tiny_generator
    from synthfer.latent.directions import Directions, compute_directions
    from synthfer.latent.options import ReviewOptions
    from synthfer.latent.review import build_review

    torch.set_num_threads(1)
    G = tiny_generator(resolution=16, seed=1)
    d, _ = compute_directions(G, 400, 3, seed=1, batch_size=400, std_samples=200)
    out = tmp_path_factory.mktemp("review")
    options = ReviewOptions.of(
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
        seeds_file="config/seeds.yaml",
    )
    data = build_review(G, Directions(d["components"], d["std"], d["mean"], G.num_ws), out, options, network=NETWORK)
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


@contextlib.contextmanager
def _browser(tmp_path, width: int = 1280, height: int = 900):
    """Headless Chromium at ``width`` × ``height`` (the review page is checked at 1,280 px)."""
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = _chromium()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _click(driver, element):
    """Scroll ``element`` to the middle of the window (clear of the sticky header), then click it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


@pytest.mark.browser
def test_review_page_tick_and_export_in_headless_chromium(review, tmp_path):
    from selenium.webdriver.common.by import By

    out, data = review
    with _browser(tmp_path) as driver:
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
        _click(driver, box(101, "AU12"))
        _click(driver, box(101, "AU6"))
        _click(driver, box(107, "AU12"))
        _click(driver, box(103, "neutral"))
        _click(driver, box(104, "AU1"))
        _click(driver, box(104, "neutral"))  # neutral clears the seed's AUs
        assert not box(104, "AU1").is_selected()
        _click(driver, box(103, "AU15"))  # an AU clears neutral
        _click(driver, box(103, "AU15"))  # ... and unticking leaves seed 103 unlisted
        _click(driver, driver.find_element(By.ID, "next"))
        assert len(driver.find_elements(By.CSS_SELECTOR, ".tile")) == 11
        _click(driver, box(122, "AU4"))
        _click(driver, driver.find_element(By.ID, "prev"))
        goto = driver.find_element(By.ID, "goto")
        goto.send_keys("115")
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'));", goto)
        assert driver.find_element(By.ID, "page-num").get_attribute("value") == "2"
        _click(driver, driver.find_element(By.ID, "prev"))
        assert box(101, "AU12").is_selected()  # ticks survive paging
        _click(driver, driver.find_element(By.ID, "export"))
        text = driver.find_element(By.ID, "yaml").get_attribute("value")
        href = driver.find_element(By.ID, "download").get_attribute("href")
        # the click on a face opens its edit grid
        face = driver.find_element(By.CSS_SELECTOR, '.tile[data-seed="101"] .face')
        _click(driver, face)
        assert driver.find_element(By.ID, "viewer-img").get_attribute("src").endswith("grids/seed_101.png")
        # ticks persist in localStorage across a reload
        driver.refresh()
        assert box(101, "AU6").is_selected()
        # clearing, then importing the exported YAML, restores every tick
        driver.execute_script("window.confirm = () => true;")
        _click(driver, driver.find_element(By.ID, "clear"))
        assert not box(101, "AU6").is_selected()
        area = driver.find_element(By.ID, "yaml")
        driver.execute_script("arguments[0].value = arguments[1];", area, text)
        _click(driver, driver.find_element(By.ID, "import"))
        assert driver.find_element(By.ID, "import-status").text == "imported 5 ticks"
        assert (
            box(101, "AU6").is_selected()
            and box(104, "neutral").is_selected()
            and not box(103, "neutral").is_selected()
        )
        _click(driver, driver.find_element(By.ID, "export"))
        assert driver.find_element(By.ID, "yaml").get_attribute("value") == text
        driver.execute_script("arguments[0].value = 'neutral: [101]\\nAU1: [101]';", area)
        _click(driver, driver.find_element(By.ID, "import"))
        assert "both neutral and in an AU list" in driver.find_element(By.ID, "import-status").text

    expected = format_seed_yaml(
        {"AU12": [107, 101], "AU6": [101], "AU4": [122]},
        [104],
        0.7,
        [0, 1],
        [-2.0, 0.0, 2.0],
        layers=(0, None),
        comment="exported from the review page (seeds 100-122)",
        network=NETWORK,
    )
    # degree 0 of the grid is the unedited image: not exported as an edit; the reviewed network is
    assert "      degrees: [-2.0, 2.0]\n" in text and f"  sha256: {NETWORK['sha256']}\n" in text
    assert text == expected
    assert href.startswith("data:text/yaml")
    (tmp_path / "seeds.yaml").write_text(text)
    spec = load_seed_spec(tmp_path / "seeds.yaml")
    assert spec.aus["AU12"] == (101, 107) and spec.neutral == (104,) and spec.aus["AU4"] == (122,)
    assert spec.network_sha256 == NETWORK["sha256"] and spec.network_file == NETWORK["file"]


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
    from synthfer.latent.options import ReviewOptions
    from synthfer.latent.review import build_review

    png_out, png_data = review
    G = tiny_generator(resolution=16, seed=1)
    d, _ = compute_directions(G, 400, 3, seed=1, batch_size=400, std_samples=200)
    data = build_review(
        G, Directions(d["components"], d["std"], d["mean"], G.num_ws), tmp_path, ReviewOptions.of(seed_start=100,
        seed_count=23, cols=4, rows=3, thumb=32, truncation_psi=0.7, grid_seeds=[101, 105], grid_directions=2,
        grid_degrees=[-2.0, 0.0, 2.0], edit_layers=(0, None), strip_pairs=[(100, 104)], strip_steps=5,
        image_format="jpeg", jpeg_quality=95),
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


# ------------------------------------------------------------------------- layout, names, larger view, assistant

AU12 = 4  # column of AU12 in AU_COLUMNS


def _probabilities(seed: int) -> list[float]:
    """Deterministic stand-in suggestions: every AU's probability differs from seed to seed."""
    return [round(((seed * (7 + 3 * j)) % 101) / 100, 3) for j in range(6)]


@pytest.fixture(scope="module")
def assisted_review(tmp_path_factory):
    """The demo's layout (10 × 2 tiles of 64 px) with suggestions for every seed and both grid seeds."""
    from synthfer.gan.api import tiny_generator
    from synthfer.latent.directions import Directions, compute_directions
    from synthfer.latent.options import ReviewOptions
    from synthfer.latent.review import build_review

    torch.set_num_threads(1)
    G = tiny_generator(resolution=16, seed=1)
    d, _ = compute_directions(G, 400, 3, seed=1, batch_size=400, std_samples=200)
    seeds = range(200, 225)
    suggestions = {
        "variant": "real_only",
        "threshold": 0.5,
        "seeds": [_probabilities(s) for s in seeds],
        "grids": {str(s): [[_probabilities(s + 100 * k + j) for j in range(2)] for k in range(2)] for s in (203, 219)},
    }
    out = tmp_path_factory.mktemp("assisted")
    data = build_review(
        G, Directions(d["components"], d["std"], d["mean"], G.num_ws), out, ReviewOptions.of(seed_start=200,
        seed_count=25, cols=10, rows=2, thumb=64, truncation_psi=0.7, grid_seeds=[203, 219], grid_directions=2,
        grid_degrees=[-2.0, 2.0], strip_pairs=0), network=NETWORK, suggestions=suggestions,
    )  # fmt: skip
    return out, data


def _tile_seeds(driver):
    from selenium.webdriver.common.by import By

    return [int(t.get_attribute("data-seed")) for t in driver.find_elements(By.CSS_SELECTOR, "#tiles .tile")]


@pytest.mark.browser
def test_review_page_layout_names_help_and_larger_view_at_1280px(assisted_review, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    out, data = assisted_review
    with _browser(tmp_path, 1280, 900) as driver:
        driver.get((out / "index.html").resolve().as_uri())
        assert len(_tile_seeds(driver)) == 20
        # responsive grid: ten 64-px tiles per sheet row do not overflow a 1,280-px window
        widths = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
            " Math.max(...[...document.querySelectorAll('.tile')].map(t => t.getBoundingClientRect().right))]"
        )
        assert widths[0] <= widths[1] and widths[2] <= widths[1], widths
        # AU names on the boxes, not just numbers
        labels = [x.text for x in driver.find_elements(By.CSS_SELECTOR, '.tile[data-seed="200"] .boxes label')]
        assert labels[0].startswith("AU1 inner brow raiser") and labels[4].startswith("AU12 lip corner puller")
        assert labels[6] == "neutral (no AU)"
        # short instructions, and which seeds have edit grids
        help_text = driver.find_element(By.ID, "help").text
        assert "Tick every AU" in help_text and "Export seeds YAML" in help_text and "config/seeds.yaml" in help_text
        assert "Edit grids were rendered for 2 of 25 seeds (seeds 203, 219)" in help_text
        assert "sha256 5e5e5e5e5e5e" in help_text
        assert driver.find_element(By.CSS_SELECTOR, '.tile[data-seed="203"] .badge').text == "grid"
        assert not driver.find_elements(By.CSS_SELECTOR, '.tile[data-seed="204"] .badge')
        Select(driver.find_element(By.ID, "filter")).select_by_value("grid")
        assert _tile_seeds(driver) == [203, 219]
        # a larger view on click: the face at 4× the thumbnail, its boxes, its grid and the grid's suggestions
        _click(driver, driver.find_element(By.CSS_SELECTOR, '.tile[data-seed="219"] .face'))
        viewer = driver.find_element(By.ID, "viewer")
        assert viewer.is_displayed()
        assert driver.find_element(By.ID, "viewer-face").size["width"] >= 4 * 64
        assert driver.find_element(By.ID, "viewer-img").get_attribute("src").endswith("grids/seed_219.png")
        rows = driver.find_elements(By.CSS_SELECTOR, "#viewer-cells tr")
        assert len(rows) == 3 and rows[1].text.startswith("dir 0")
        _click(driver, driver.find_element(By.CSS_SELECTOR, 'input[data-vseed="219"][data-au="AU5"]'))  # tick in the view
        _click(driver, driver.find_element(By.ID, "viewer-close"))
        assert not viewer.is_displayed()
        assert driver.find_element(By.CSS_SELECTOR, 'input[data-seed="219"][data-au="AU5"]').is_selected()
        Select(driver.find_element(By.ID, "filter")).select_by_value("all")
        _click(driver, driver.find_element(By.CSS_SELECTOR, '.tile[data-seed="204"] .face'))
        assert "No edit grid was rendered for this seed" in driver.find_element(By.ID, "viewer-caption").text


@pytest.mark.browser
def test_review_page_sorts_and_filters_by_suggestions_and_exports_only_ticks(assisted_review, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    out, data = assisted_review
    seeds = list(range(200, 225))
    p12 = {s: _probabilities(s)[AU12] for s in seeds}
    with _browser(tmp_path, 1280, 900) as driver:
        driver.get((out / "index.html").resolve().as_uri())
        # each box shows its probability; the tile lists the suggested AUs
        tile = driver.find_element(By.CSS_SELECTOR, '.tile[data-seed="201"]')
        assert f"{p12[201]:.2f}" in tile.find_elements(By.CSS_SELECTOR, ".boxes label")[AU12].text
        suggested = sorted(((a, p) for a, p in zip(data["aus"], _probabilities(201), strict=True) if p >= 0.5),
                           key=lambda x: -x[1])  # fmt: skip
        assert tile.find_element(By.CSS_SELECTOR, ".sugg").text == "suggested: " + ", ".join(
            f"{a} {p:.2f}" for a, p in suggested
        )
        # sort by P(AU12): high to low over all 25 seeds, paged by 20
        Select(driver.find_element(By.ID, "sort")).select_by_value("p:AU12")
        by_p12 = sorted(seeds, key=lambda s: (-p12[s], s))
        assert _tile_seeds(driver) == by_p12[:20]
        _click(driver, driver.find_element(By.ID, "next"))
        assert _tile_seeds(driver) == by_p12[20:]
        # filter: AU12 suggested (p >= 0.5), then a stricter threshold set on the page
        Select(driver.find_element(By.ID, "filter")).select_by_value("sugg:AU12")
        assert _tile_seeds(driver) == [s for s in by_p12 if p12[s] >= 0.5]
        threshold = driver.find_element(By.ID, "threshold")
        threshold.clear()
        threshold.send_keys("0.8")
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'));", threshold)
        strict = [s for s in by_p12 if p12[s] >= 0.8]
        assert _tile_seeds(driver) == strict and 0 < len(strict) < len([s for s in seeds if p12[s] >= 0.5])
        # the human decides: tick AU12 on the first, AU6 (not AU12) on the second, neutral on the third
        _click(driver, driver.find_element(By.CSS_SELECTOR, f'input[data-seed="{strict[0]}"][data-au="AU12"]'))
        _click(driver, driver.find_element(By.CSS_SELECTOR, f'input[data-seed="{strict[1]}"][data-au="AU6"]'))
        _click(driver, driver.find_element(By.CSS_SELECTOR, f'input[data-seed="{strict[2]}"][data-au="neutral"]'))
        Select(driver.find_element(By.ID, "sort")).select_by_value("min")  # least likely AU first
        maxp = {s: max(_probabilities(s)) for s in seeds}
        Select(driver.find_element(By.ID, "filter")).select_by_value("all")
        assert _tile_seeds(driver) == sorted(seeds, key=lambda s: (maxp[s], s))[:20]
        Select(driver.find_element(By.ID, "filter")).select_by_value("ticked")
        assert sorted(_tile_seeds(driver)) == sorted(strict[:3])
        _click(driver, driver.find_element(By.ID, "export"))
        text = driver.find_element(By.ID, "yaml").get_attribute("value")

    expected = format_seed_yaml(
        {"AU12": [strict[0]], "AU6": [strict[1]]},
        [strict[2]],
        0.7,
        [0, 1],
        [-2.0, 2.0],
        layers=(0, None),
        comment="exported from the review page (seeds 200-224)",
        network=NETWORK,
    )
    assert text == expected  # ticks only: no suggested AU, no probability
    spec_path = tmp_path / "seeds.yaml"
    spec_path.write_text(text)
    spec = load_seed_spec(spec_path)
    assert spec.seeds == sorted(strict[:3]) and spec.aus["AU12"] == (strict[0],)
