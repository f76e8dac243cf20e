import numpy as np
import pytest

from blinasim.model import _draws, pk


def test_units_css_from_dose_and_clearance():
    # 28 µg/day into 2.22 L/h: 28 / 53.28 L/day = 0.5255 µg/L = 525.5 pg/mL
    assert pk.steady_state_pg_per_ml(28.0, 2.22) == pytest.approx(525.53, rel=1e-4)


def test_bsa_exponent_reproduces_63_percent_lower_clearance(mp):
    ratio = pk.typical_clearance(0.37, mp.pk) / pk.typical_clearance(1.88, mp.pk)
    assert ratio == pytest.approx(0.37, abs=0.005)


@pytest.mark.parametrize(("dose", "label_mean"), [(9.0, 228.0), (28.0, 616.0)])
def test_adult_population_mean_css_matches_label(mp, dose, label_mean):
    ids = np.arange(200_000)
    ex = pk.exposure(np.full(ids.size, 1.88), _draws.normals(1, "test.eta", ids), mp.pk)
    css = pk.steady_state_pg_per_ml(dose, ex.cl_l_per_h)
    assert css.mean() == pytest.approx(label_mean, rel=0.10)
    assert pk.population_mean_css(dose, 1.88, mp.pk) == pytest.approx(label_mean, rel=0.10)


def test_children_at_15_ug_m2_day_plausible(mp, cohort):
    bsa = cohort["bsa_m2"].to_numpy()
    ids = cohort["patient_id"].to_numpy()
    ex = pk.exposure(bsa, _draws.normals(1, "test.eta", ids), mp.pk)
    css = pk.steady_state_pg_per_ml(pk.daily_dose_ug(15.0, "ug/m2/day", bsa, mp.pk), ex.cl_l_per_h)
    # label: pediatric Css at BSA-based doses comparable to adults at equivalent doses
    assert 250.0 < np.median(css) < 700.0
    assert 300.0 < css.mean() < 900.0
    # label: pediatric half-life 2.04 ± 1.35 h
    assert np.median(ex.half_life_h) == pytest.approx(2.0, abs=0.5)


def test_dose_cap_and_units(mp):
    assert pk.daily_dose_ug(15.0, "µg/m²/day", np.array([2.5]), mp.pk)[0] == 28.0
    assert pk.daily_dose_ug(9.0, "µg/day", np.array([1.0]), mp.pk)[0] == 9.0
    with pytest.raises(ValueError, match="unit"):
        pk.daily_dose_ug(1.0, "mg/kg", np.array([1.0]), mp.pk)


def test_profile_reaches_steady_state_and_washes_out(mp):
    ex = pk.exposure(np.array([1.0]), np.array([0.0]), mp.pk)
    prof = pk.concentration_profile([(0.0, 28.0, 15.0)], ex, np.array([0.0, 1.0, 27.0, 29.0, 31.0]))
    css = pk.steady_state_pg_per_ml(15.0, ex.cl_l_per_h)[0]
    c = prof.conc_pg_per_ml[0]
    assert c[0] == 0.0
    assert c[1] == pytest.approx(css, rel=1e-3)  # half-life ~2 h: steady state within a day
    assert c[2] == pytest.approx(css, rel=1e-9)
    assert c[3] < 0.01 * css
    assert c[4] < 1e-4 * css
