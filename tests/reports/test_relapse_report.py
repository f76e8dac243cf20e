"""The relapse-trial report renders every section from a results folder only."""

import json

import numpy as np
import pandas as pd
import pytest

from blinasim.disclaimer import DISCLAIMER
from blinasim.reports.occupancy import DEAD, occupancy
from blinasim.reports.relapse import PATIENT_COLUMNS, published_table
from blinasim.reports.render import render_folder, write_report

ARMS = ("blinatumomab", "chemotherapy")


def _summary() -> dict:
    ms = []
    for ep in ("dfs", "os"):
        for y in (1, 2, 3):
            for a, base in zip(ARMS, (0.62, 0.47), strict=True):
                est = base + (0.1 if ep == "os" else 0.0) - 0.03 * y
                ms.append(
                    {"endpoint": ep, "years": y, "arm": a, "estimate": est, "se": 0.05,
                     "lower": est - 0.1, "upper": est + 0.1}
                )  # fmt: skip
    return {
        "what": "Prediction of COG AALL1331 by the blinasim salvage pathway.",
        "disclaimer": DISCLAIMER,
        "interval": "95% interval over simulated trials",
        "trial": "aall1331",
        "title": "COG AALL1331",
        "replicates": 4,
        "n_per_arm": {"blinatumomab": 105, "chemotherapy": 103},
        "milestones": ms,
        "hazard_ratio": {
            "dfs": {"estimate": 0.61, "lower": 0.41, "upper": 0.86},
            "os": {"estimate": 0.77, "lower": 0.49, "upper": 1.23},
        },
        "mrd_negative_after_cycle1": {
            "blinatumomab": {"estimate": 0.8, "se": 0.04, "lower": 0.72, "upper": 0.88},
            "chemotherapy": {"estimate": 0.37, "se": 0.05, "lower": 0.28, "upper": 0.46},
        },
        "hsct": {"blinatumomab": 0.82, "chemotherapy": 0.76},
        "run": {"seed": 1, "params": None, "version": "test", "seconds": 1.0},
    }


def _patients(seed: int = 0) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    rows = []
    for r in range(4):
        for a, n in (("blinatumomab", 105), ("chemotherapy", 103)):
            death = np.where(g.random(n) < 0.35, g.uniform(30, 1500, n), np.nan)
            rel2 = np.where(g.random(n) < 0.4, g.uniform(20, 900, n), np.nan)
            rel2 = np.where(np.isnan(death) | (rel2 < death), rel2, np.nan)
            hsct = np.where(g.random(n) < 0.75, 60.0, np.nan)
            cart = np.where(np.isfinite(rel2) & (g.random(n) < 0.5), rel2 + 40, np.nan)
            end = np.fmin(death, rel2)
            horizon = 3 * 365.25
            rows.append(
                pd.DataFrame(
                    {
                        "replicate": r,
                        "arm": a,
                        "endpoint_days": np.fmin(np.nan_to_num(end, nan=horizon), horizon),
                        "endpoint_event": (np.nan_to_num(end, nan=np.inf) <= horizon).astype(int),
                        "os_days": np.fmin(np.nan_to_num(death, nan=horizon), horizon),
                        "os_event": (np.nan_to_num(death, nan=np.inf) <= horizon).astype(int),
                        "hsct_day": hsct,
                        "relapse2_day": rel2,
                        "cart_day": cart,
                        "death_day": death,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps(_summary()), encoding="utf-8")
    (tmp_path / "manifest.json").write_text(
        json.dumps({"job": "run", "kind": "relapse-trial", "trial": "aall1331"}),
        encoding="utf-8",
    )
    _patients()[list(PATIENT_COLUMNS)].to_parquet(tmp_path / "patients.parquet")
    return tmp_path


SECTIONS = (
    "Overview",
    "Milestones",
    "Hazard ratios",
    "MRD and transplant",
    "Predicted vs published",
    "Survival curves",
    "Event history",
)


def test_renders_every_section(folder):
    html = render_folder(folder)
    for name in SECTIONS:
        assert f"<h2>{name}</h2>" in html
    assert DISCLAIMER in html
    assert html.count("data:image/png;base64,") == 3  # DFS, OS, state occupancy
    assert "held out" in html
    assert "DFS at 2 years" in html
    assert "56.0% (46.0-66.0)" in html  # blinatumomab 2-year DFS of the summary
    path = write_report(folder)
    assert path.read_text(encoding="utf-8") == html  # re-rendered byte for byte


def test_without_patients_table_says_so(folder):
    (folder / "patients.parquet").unlink()
    html = render_folder(folder)
    for name in SECTIONS:
        assert f"<h2>{name}</h2>" in html
    assert "no patients table" in html


def test_published_table_roles_and_verdicts(folder):
    t = published_table("aall1331", _summary(), _patients())
    assert set(t["role"]) == {"held out"}
    dfs = t[t["target"].str.startswith("2-year DFS")]
    assert list(dfs["published"]) == ["54.4%", "39.0%"]
    # published 54.4% is inside the blinatumomab milestone 56% (46-66)
    assert dfs.iloc[0]["published inside"] == "inside"
    hsct = t[t["target"].str.contains("HSCT")]
    assert len(hsct) == 2
    assert hsct["published inside"].isin(["inside", "outside"]).all()
    other = published_table("20120215", _summary(), None)
    assert "EFS hazard ratio" in " ".join(other["target"])


def test_occupancy_shares_sum_to_one():
    g = np.random.default_rng(1)
    n = 500
    death = np.where(g.random(n) < 0.3, g.uniform(0, 1000, n), np.inf)
    ev = {"a": g.uniform(0, 800, n), "b": np.where(g.random(n) < 0.5, g.uniform(0, 800, n), np.nan)}
    grid = np.linspace(0, 1000, 11)
    sh = occupancy(ev, death, grid, start="s")
    total = sum(sh.values())
    np.testing.assert_allclose(total, 1.0)
    assert sh["s"][0] == pytest.approx(np.mean(death > 0) - np.mean(ev["a"] <= 0))
    assert sh[DEAD][-1] == pytest.approx(np.mean(death <= 1000))
    assert np.all(np.diff(sh[DEAD]) >= 0)


def test_hazard_ratio_target_matched_by_its_endpoint():
    s = _summary()
    s["hazard_ratio"] = {
        "efs": {"estimate": 0.4, "lower": 0.2, "upper": 0.7},
        "os": {"estimate": 0.9, "lower": 0.5, "upper": 1.5},
    }
    t = published_table("20120215", s, None)
    row = t[t["target"].str.startswith("EFS hazard ratio")].iloc[0]
    assert row["model (95% of trials)"] == "0.40 (0.20-0.70)"
    assert row["published inside"] == "inside"
