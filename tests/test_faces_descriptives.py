"""The real set's descriptive statistics (the seed's Figs 3.1-3.5 as numbers) from the metadata table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthfer.faces.report import DESCRIPTIVE_COLUMNS, descriptive_statistics, descriptives_html


@pytest.fixture
def demo_like():
    """Demo-style metadata (one row per photograph: face_id = file stem) and a manifest with two rejects."""
    rng = np.random.default_rng(0)
    ids = [f"D{i:03d}-{e}" for i in range(12) for e in ("neutral", "happy")]
    ages = {i: int(a) for i, a in enumerate(rng.integers(18, 66, 12))}
    meta = pd.DataFrame({
        "face_id": ids,
        "age": [str(ages[int(f[1:4])]) for f in ids],
        "gender": [("female", "male")[int(f[1:4]) % 2] for f in ids],
        "skin_tone": [("light", "medium", "dark")[int(f[1:4]) % 3] for f in ids],
    })  # fmt: skip
    df = pd.DataFrame({"name": ids, "status": "ok", "reason": ""})
    df.loc[[0, 5], ["status", "reason"]] = ["rejected", "no_face"]
    return df, meta


def test_numbers_and_shares(demo_like):
    df, meta = demo_like
    t = descriptive_statistics(df, meta, "face_id", ["age", "gender", "skin_tone"])
    assert list(t.columns) == DESCRIPTIVE_COLUMNS
    age = pd.to_numeric(meta["age"])
    row = t[(t["set"] == "all") & (t["column"] == "age")].iloc[0]
    assert row["n"] == 24 and row["mean"] == pytest.approx(age.mean()) and row["median"] == pytest.approx(age.median())
    assert row["sd"] == pytest.approx(age.std(ddof=1)) and row["min"] == age.min() and row["max"] == age.max()
    aligned = t[(t["set"] == "aligned") & (t["column"] == "age")].iloc[0]
    assert aligned["n"] == 22 and aligned["mean"] == pytest.approx(age.drop([0, 5]).mean())
    g = t[(t["set"] == "all") & (t["column"] == "gender")].set_index("level")
    assert g.loc["female", "count"] == 12 and g.loc["female", "share"] == pytest.approx(0.5)
    s = t[(t["set"] == "aligned") & (t["column"] == "skin_tone")].set_index("level")
    # rejected: D000 (light) and D002-happy (dark)
    assert s["count"].to_dict() == {"dark": 7, "light": 7, "medium": 8} and (s["n"] == 22).all()
    assert s["share"].sum() == pytest.approx(1.0)
    html = descriptives_html(t)
    assert "median" in html and "% (12 of 24)" in html


def test_unknown_column_is_named(demo_like):
    df, meta = demo_like
    with pytest.raises(KeyError, match="face_eth"):
        descriptive_statistics(df, meta, "face_id", ["age", "face_eth"])
