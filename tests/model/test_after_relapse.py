import numpy as np
import pytest

from blinasim.model import after_relapse as ar


def test_mixture_gives_published_5y_os(mp):
    ap = mp.after_relapse
    ids = np.arange(200_000)
    for day, em, target in [
        (300.0, False, ap.os5_marrow_early),
        (800.0, False, ap.os5_marrow_intermediate),
        (1500.0, False, ap.os5_marrow_late),
        (300.0, True, ap.os5_extramedullary_early),
        (1500.0, True, ap.os5_extramedullary_late),
    ]:
        rd = np.full(ids.size, day)
        death = ar.death_after_relapse_day(ids, rd, np.full(ids.size, em), seed=1, ap=ap)
        alive5 = np.mean(death - rd > 5 * 365.25)
        assert alive5 == pytest.approx(target, abs=0.005)


def test_overall_after_relapse_by_timing_close_to_rheingold(mp):
    # 72.5% of relapses involve the marrow (Rheingold 2024): 25.8 / 49.5 / 66.4 %
    ap = mp.after_relapse
    for m, em, target in [
        (ap.os5_marrow_early, ap.os5_extramedullary_early, 0.258),
        (ap.os5_marrow_intermediate, ap.os5_extramedullary_intermediate, 0.495),
        (ap.os5_marrow_late, ap.os5_extramedullary_late, 0.664),
    ]:
        assert 0.725 * m + 0.275 * em == pytest.approx(target, abs=0.03)


def test_second_malignancy_incidence(mp):
    ids = np.arange(400_000)
    d = ar.smn_day(ids, seed=2, ap=mp.after_relapse)
    assert np.mean(d <= 3652.5) == pytest.approx(0.0118, abs=0.001)
