import numpy as np
import pytest

from blinasim.model import _draws, mrd


def test_detection_limits(mp):
    assert mp.mrd.flow_lod == pytest.approx(1e-4)
    assert mp.mrd.hts_lod == pytest.approx(1e-6)


def test_flow_is_a_sampling_measurement(mp):
    ids = np.arange(100_000)
    u = _draws.uniforms(5, "test.flow", ids)
    high = mrd.flow(np.full(ids.size, 1e-2), u, mp.mrd)
    assert high.mean() == pytest.approx(1e-2, rel=0.01)  # unbiased when far above the LOD
    assert np.all(high > 0)
    low = mrd.flow(np.full(ids.size, 1e-5), u, mp.mrd)
    assert np.all(low == 0)  # far below the LOD: negative
    at = mrd.flow(np.full(ids.size, 1e-4), u, mp.mrd)
    assert 0.4 < np.mean(at > 0) < 0.6  # at the LOD about half are detected
    assert np.all((at == 0) | (at >= mp.mrd.flow_lod))


def test_hts_indeterminate_rate_and_values(mp):
    ids = np.arange(50_000)
    u = _draws.uniforms(5, "test.hts", ids, k=3)
    r = mrd.hts(np.full(ids.size, 1e-5), u[:, 0], u[:, 1], u[:, 2], mp.mrd)
    p = 1 - (1 - mp.mrd.hts_no_trackable_clone_prob) * (1 - mp.mrd.hts_insufficient_input_prob)
    assert r.indeterminate.mean() == pytest.approx(p, abs=0.005)
    assert np.all(np.isnan(r.value[r.indeterminate]))
    assert np.all(r.value[~r.indeterminate] > 0)


def test_poisson_inverse_cdf_matches_moments():
    u = _draws.uniforms(1, "test.pois", np.arange(200_000))
    for lam in (0.3, 7.0, 400.0):
        k = mrd.poisson_inverse_cdf(u, np.full(u.size, lam))
        assert k.mean() == pytest.approx(lam, rel=0.02, abs=0.01)
        assert k.var() == pytest.approx(lam, rel=0.03, abs=0.01)
