"""Simulated counterparts of the targets, on a hand-made outcome table."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from blinasim.calibrate.summaries import (
    VirtualExperiments,
    blina_mrd_response,
    css_mean,
    summarize,
)
from blinasim.calibrate.targets import load_targets
from blinasim.config import ParameterSet
from blinasim.model.engine import ModelParams
from blinasim.units import DAYS_PER_YEAR

Y = DAYS_PER_YEAR
NAN = math.nan


def _outcomes() -> SimpleNamespace:
    # patients 0-3 SR-Average randomized (A and B rows), 4-5 SR-High (C, D), 6 SR-Favorable,
    # 7 induction failure (off study)
    rows = []

    def add(
        pid: int,
        group: str,
        arm: str | None,
        rand: float,
        rel: float = NAN,
        site: str | None = None,
        cd19neg: bool = False,
        death: float = NAN,
        eoi: float = 0.0,
        reason: str = "x",
    ) -> None:
        rows.append(
            {
                "patient_id": pid,
                "risk_group": group,
                "risk_reason": reason,
                "eoi_flow": eoi,
                "eoc_flow": 0.0,
                "arm": arm,
                "randomization_day": rand,
                "relapse_day": rel,
                "relapse_site": site,
                "relapse_cd19_negative": cd19neg,
                "death_day": death,
                "second_malignancy_day": NAN,
            }
        )

    add(0, "SR-Average", "A", 28, rel=28 + 2 * Y, site="marrow")
    add(0, "SR-Average", "B", 28)
    add(1, "SR-Average", "A", 28, rel=28 + 4 * Y, site="cns")
    add(1, "SR-Average", "B", 28, rel=28 + 4 * Y, site="cns")
    add(2, "SR-Average", "A", 28)
    add(2, "SR-Average", "B", 28)
    add(3, "SR-Average", "A", 28, death=28 + 0.5 * Y)
    add(3, "SR-Average", "B", 28, rel=28 + 1 * Y, site="marrow", cd19neg=True)
    add(4, "SR-High", "C", 56, rel=56 + 1 * Y, site="combined", eoi=5e-4)
    add(4, "SR-High", "D", 56, eoi=5e-4)
    add(5, "SR-High", "C", 56, eoi=2e-4)
    add(5, "SR-High", "D", 56, eoi=2e-4)
    add(6, "SR-Favorable", "FAV", NAN)
    add(7, "off-study", None, NAN, eoi=0.2, reason="induction failure")
    patients = pd.DataFrame(rows)
    aes = pd.DataFrame(
        {
            "patient_id": [0, 0, 2, 4],
            "arm": ["B", "B", "A", "D"],
            "phase": ["induction", "blina1", "IM1", "blina1"],
            "event": ["sepsis", "sepsis", "sepsis", "sepsis"],
            "grade": [3, 4, 3, 3],
            "day": [10.0, 40.0, 100.0, 70.0],
        }
    )
    return SimpleNamespace(patients=patients, adverse_events=aes)


def test_summaries_on_a_known_table() -> None:
    ts = load_targets()
    mp = ModelParams.from_parameters(ParameterSet.load())
    vx = VirtualExperiments(at_risk_follow_up={1.0: 0.5, 2.0: 0.4, 3.0: 0.3, 4.0: 0.1})
    s = summarize(_outcomes(), ts.targets, params=mp, blina_arms=["B", "D"], vx=vx, seed=1)
    # SR-Average chemo (A): events at 2 y (relapse) and 0.5 y (death) among 4 -> 3-y DFS 2/4
    assert s["dfs3_avg_chemo"].value == pytest.approx(0.5)
    assert s["dfs3_avg_chemo"].n == 4
    # B: relapse at 1 y (patient 3) only -> 3/4
    assert s["dfs3_avg_blina"].value == pytest.approx(0.75)
    assert s["dfs3_high_chemo"].value == pytest.approx(0.5)
    assert s["dfs3_all_blina"].value == pytest.approx(5 / 6)
    assert s["atrisk1_blina"].value == pytest.approx(5 / 6 * 0.5)
    assert s["sr_average_share_blina"].value == pytest.approx(4 / 6)
    # sepsis after randomization only: B has patient 0 (day 40 >= 28; day 10 is before)
    assert s["ae_sepsis_avg_blina"].value == pytest.approx(1 / 4)
    assert s["ae_sepsis_avg_chemo"].value == pytest.approx(1 / 4)
    assert s["ae_sepsis_high_blina"].value == pytest.approx(1 / 2)
    assert s["ae_crs_avg_blina"].value == 0.0
    # one row per child in the chemotherapy-only population: A, C, FAV and off-study
    assert s["eoi_flow_negative"].n == 8
    assert s["eoi_flow_negative"].value == pytest.approx(5 / 8)
    # EFS counts induction failure as an event at the end of induction
    assert s["efs5_aall0932"].value == pytest.approx(3 / 8)
    assert s["efs5_favorable"].value == 1.0
    assert s["efs5_eoi_mrd_low_positive"].value == pytest.approx(0.5)
    # relapses: blinatumomab arms 2 (one CD19-negative); chemotherapy 3 (marrow, cns, combined)
    assert s["cd19neg_fraction_blina"].value == pytest.approx(0.5)
    assert s["marrow_share_relapses"].value == pytest.approx(2 / 3)
    assert s["isolated_cns_ci6"].value == pytest.approx(1 / 8)
    assert s["late_relapse_share"].value == pytest.approx(1 / 3)
    assert math.isnan(s["median_cns_relapse_months"].value)  # fewer than 5 relapses


def test_virtual_experiments_respond_to_their_parameters() -> None:
    base = ParameterSet.load()
    vx = VirtualExperiments()
    mp = ModelParams.from_parameters(base)
    c9 = css_mean(9.0, mp, vx, seed=3).value
    c28 = css_mean(28.0, mp, vx, seed=3).value
    assert c28 / c9 == pytest.approx(28 / 9)
    assert css_mean(28.0, mp, vx, seed=3).value == c28  # fixed draws
    weak = ModelParams.from_parameters(base.with_values({"blinatumomab.kmax_per_day": 0.2}))
    strong = ModelParams.from_parameters(base.with_values({"blinatumomab.kmax_per_day": 1.5}))
    r_weak = blina_mrd_response("adult_mrd_positive", weak, vx, seed=3).value
    r_strong = blina_mrd_response("adult_mrd_positive", strong, vx, seed=3).value
    assert 0.0 <= r_weak < r_strong <= 1.0
    assert np.isfinite(blina_mrd_response("pediatric_relapse", mp, vx, seed=3).mc_se)
