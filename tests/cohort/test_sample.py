import numpy as np
import pandas as pd
import pytest

import blinasim.cohort.sample as sample_mod
from blinasim.cohort import COLUMNS, SCREEN_REASONS, sample_cohort, screen_cohort
from blinasim.cohort.growth import (
    body_size,
    count_at_or_below,
    lms_table,
    lms_value,
    lms_zscore,
    measurement_for_age,
    mosteller_bsa,
    zscore_for_age,
)
from blinasim.config import ParameterSet
from blinasim.errors import ParameterError


@pytest.fixture(scope="module")
def cohort():
    return screen_cohort(20_000, seed=11)


def test_columns_and_types(cohort):
    p = cohort.patients
    assert tuple(p.columns) == COLUMNS
    assert p["patient_id"].dtype == np.int64
    assert list(p["patient_id"]) == list(range(len(p)))
    assert list(p["sex"].cat.categories) == ["F", "M"]
    assert list(p["genetics"].cat.categories) == ["favorable", "neutral", "unfavorable"]
    assert list(p["cns_status"].cat.categories) == ["CNS1", "CNS2"]
    for col in ("down_syndrome", "testicular", "bcr_abl1"):
        assert p[col].dtype == bool
    assert not p.isna().any().any()


def test_everyone_meets_the_entry_criteria(cohort):
    p = cohort.patients
    assert p["age_years"].between(1.0, 10.0, inclusive="left").all()
    assert (p["wbc_per_ul"] < 50_000).all()
    assert not p["bcr_abl1"].any()
    assert not p["testicular"].any()
    assert set(p["cns_status"].unique()) <= {"CNS1", "CNS2"}
    # candidate indices increase strictly: eligible candidates in screening order
    assert np.all(np.diff(p["candidate_index"].to_numpy()) > 0)


def test_genetics_follow_subtypes(cohort):
    p = cohort.patients
    fav = p["genetic_subtype"].isin(["ETV6::RUNX1", "DT4_10"])
    unf = p["genetic_subtype"].isin(["iAMP21", "KMT2A", "hypodiploid"])
    assert (p.loc[fav, "genetics"] == "favorable").all()
    assert (p.loc[unf, "genetics"] == "unfavorable").all()
    assert (p.loc[p["genetic_subtype"] == "other", "genetics"] == "neutral").all()
    # favorable genetics roughly half of NCI SR (reference section 2 [A])
    assert 0.40 < fav.mean() < 0.55


def test_age_and_sex_match_the_ontario_cohort(cohort):
    p = cohort.patients
    assert p["age_years"].mean() == pytest.approx(4.87, abs=0.12)
    assert p["age_years"].std() == pytest.approx(2.43, abs=0.12)
    assert (p["sex"] == "M").mean() == pytest.approx(0.493, abs=0.015)


def test_screening_table_adds_up(cohort):
    s = cohort.screening
    assert list(s["reason"]) == [*SCREEN_REASONS, "eligible"]
    elig = int(s.loc[s["reason"] == "eligible", "n_with_reason"].iloc[0])
    assert elig == len(cohort.patients)
    assert int(s["n_excluded"].sum()) + elig == cohort.n_candidates
    assert (s["n_with_reason"] >= s["n_excluded"]).all()
    # every reason occurs in a large screen
    assert (s["n_excluded"].iloc[:-1] > 0).all()
    # the last candidate screened is the last patient enrolled
    assert cohort.patients["candidate_index"].iloc[-1] == cohort.n_candidates - 1


def test_same_seed_same_cohort_and_larger_n_extends_it():
    a = sample_cohort(700, seed=3)
    b = sample_cohort(700, seed=3)
    c = sample_cohort(9_000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c.iloc[:700].reset_index(drop=True))
    d = sample_cohort(700, seed=4)
    assert not np.allclose(a["age_years"], d["age_years"])


def test_zero_and_bad_n():
    s = screen_cohort(0, seed=1)
    assert len(s.patients) == 0
    assert tuple(s.patients.columns) == COLUMNS
    assert s.n_candidates == 0
    with pytest.raises(ValueError, match="non-negative"):
        screen_cohort(-1, seed=1)


def test_body_size_is_plausible(cohort):
    p = cohort.patients
    assert np.allclose(p["bsa_m2"], np.sqrt(p["height_cm"] * p["weight_kg"] / 3600))
    assert p["bsa_m2"].between(0.3, 2.0).all()
    # median height of 5-year-olds close to the CDC median (~109-110 cm at 60.5 months)
    five = p[(p["age_years"] >= 4.9) & (p["age_years"] < 5.2)]
    assert five["height_cm"].median() == pytest.approx(109.5, abs=2.0)
    assert p["height_z"].abs().max() <= 3.0 + 1e-9
    assert p["weight_z"].abs().max() <= 3.0 + 1e-9
    r = np.corrcoef(p["height_z"], p["weight_z"])[0, 1]
    assert r == pytest.approx(0.6, abs=0.05)


def test_lms_roundtrip_and_reference_medians():
    z = np.linspace(-3, 3, 13)
    for measure in ("height_cm", "weight_kg"):
        for sex in ("F", "M"):
            t = lms_table(measure, sex)
            L, M, S = t.at(np.full(13, 77.0))
            x = lms_value(z, L, M, S)
            assert np.allclose(lms_zscore(x, L, M, S), z)
            assert np.all(np.diff(x) > 0)
    # CDC 2000 statage: boys at 60.5 months M = 109.175 cm; wtage girls 96.5 months M = 25.757 kg
    male = np.array([True, False])
    h = measurement_for_age("height_cm", np.array([60.5 / 12, 60.5 / 12]), male, np.zeros(2))
    assert h[0] == pytest.approx(109.1751441, rel=1e-9)
    w = measurement_for_age("weight_kg", np.array([96.5 / 12]), np.array([False]), np.zeros(1))
    assert w[0] == pytest.approx(25.7570168, rel=1e-9)
    zz = zscore_for_age("height_cm", h, np.array([60.5 / 12] * 2), male)
    assert np.allclose(zz, 0.0)
    assert mosteller_bsa(np.array([180.0]), np.array([80.0]))[0] == pytest.approx(2.0, rel=1e-12)


def test_bad_cohort_parameters_are_reported(tmp_path):
    ps = ParameterSet.load()
    bad = ps.with_values({"cohort.subtype_probs_age_under_10": {"other": 1.0}})
    with pytest.raises(ParameterError, match=r"cohort\.subtype_probs_age_under_10: expected"):
        sample_cohort(5, seed=1, params=bad)
    bad = ps.with_values({"cohort.p_cns3": 1.5})
    with pytest.raises(ParameterError, match=r"cohort\.p_cns3"):
        sample_cohort(5, seed=1, params=bad)


def test_parameters_change_the_cohort():
    ps = ParameterSet.load().with_values({"cohort.p_cns2": 1.0, "cohort.p_cns3": 0.0})
    p = sample_cohort(200, seed=5, params=ps)
    assert (p["cns_status"] == "CNS2").all()


def test_down_syndrome_is_screened_out():
    # AALL1731 treated children with Down syndrome in its own DS cohorts (not modelled)
    ps = ParameterSet.load().with_values({"cohort.p_down_syndrome": 0.5})
    s = screen_cohort(2_000, seed=5, params=ps)
    assert not s.patients["down_syndrome"].any()
    ds = s.screening.set_index("reason").loc["Down syndrome"]
    assert ds["fraction_of_candidates"] == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ParameterError, match="some candidates are eligible"):
        sample_cohort(5, seed=1, params=ps.with_values({"cohort.p_down_syndrome": 1.0}))


def test_screening_step_never_changes_the_cohort(monkeypatch):
    a = screen_cohort(5_000, seed=8)
    # steps that cut random blocks (4096) anywhere give the same children and counts
    for step in (1_000, 4_096, 7_777):
        monkeypatch.setattr(sample_mod, "SCREEN_CHUNK", step)
        b = screen_cohort(5_000, seed=8)
        pd.testing.assert_frame_equal(a.patients, b.patients, check_exact=True)
        pd.testing.assert_frame_equal(a.screening, b.screening, check_exact=True)
        assert a.n_candidates == b.n_candidates


def test_body_size_equals_interpolating_each_measure():
    g = np.random.default_rng(3)
    age = np.concatenate([g.uniform(0.5, 20.0, 5_000), [1.0, 2.0, 2.5, 19.04, 30.0, 0.1]])
    male = g.random(age.size) < 0.5
    zh, zw = g.normal(size=age.size), g.normal(size=age.size)
    h, w = body_size(age, male, zh, zw)
    # bit for bit what numpy.interp per sex gives (including ages outside the table)
    assert np.array_equal(h, measurement_for_age("height_cm", age, male, zh))
    assert np.array_equal(w, measurement_for_age("weight_kg", age, male, zw))
    pts = np.sort(g.uniform(0, 1, 30))
    x = np.concatenate([g.uniform(-0.1, 1.1, 1_000), pts])
    assert np.array_equal(count_at_or_below(pts, x), np.searchsorted(pts, x, side="right"))
    many = np.linspace(0, 1, 300)
    assert np.array_equal(count_at_or_below(many, x), np.searchsorted(many, x, side="right"))
