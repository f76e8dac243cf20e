"""Priors and the synthetic likelihood."""

from __future__ import annotations

import math

import pytest

from blinasim.calibrate.likelihood import (
    FreeParameter,
    free_parameters,
    log_likelihood,
    log_prior,
    predictive_draw,
    target_loglik,
)
from blinasim.calibrate.summaries import SummaryValue
from blinasim.calibrate.targets import load_targets
from blinasim.config import (
    BetaPrior,
    LogNormalPrior,
    LogUniformPrior,
    NormalPrior,
    ParameterSet,
    UniformPrior,
)
from blinasim.errors import ParameterError

PRIORS = [
    NormalPrior(dist="normal", mean=-3.5, sd=1.0),
    NormalPrior(dist="normal", mean=0.6, sd=0.1, lower=0.3, upper=1.0),
    LogNormalPrior(dist="lognormal", median=2.2, sd_log=0.1),
    UniformPrior(dist="uniform", lower=0.1, upper=0.8),
    LogUniformPrior(dist="loguniform", lower=50.0, upper=600.0),
    BetaPrior(dist="beta", a=5, b=95),
]


@pytest.mark.parametrize("prior", PRIORS)
def test_prior_ppf_cdf_logpdf_agree(prior: object) -> None:
    fp = FreeParameter(key="x", prior=prior, default=0.0)  # type: ignore[arg-type]
    for u in (0.01, 0.2, 0.5, 0.9, 0.99):
        x = fp.ppf(u)
        assert fp.cdf(x) == pytest.approx(u, abs=1e-9)
        assert math.isfinite(fp.logpdf(x))
        # density = d cdf / dx
        h = 1e-6 * max(1.0, abs(x))
        num = (fp.cdf(x + h) - fp.cdf(x - h)) / (2 * h)
        assert math.exp(fp.logpdf(x)) == pytest.approx(num, rel=1e-4)


def test_prior_support() -> None:
    fp = FreeParameter(key="x", prior=PRIORS[3], default=0.3)
    assert fp.logpdf(0.05) == -math.inf
    assert log_prior([fp, fp], [0.3, 0.9]) == -math.inf
    assert log_prior([fp], [0.3]) == pytest.approx(-math.log(0.7))


def test_free_parameters_need_a_prior() -> None:
    ps = ParameterSet.load()
    free = free_parameters(ps, ["chemo.kill_maintenance_per_day"])
    assert free[0].default == ps.value("chemo.kill_maintenance_per_day")
    with pytest.raises(ParameterError, match="a prior"):
        free_parameters(ps, ["leukemia.death_rate_per_day"])


def test_binomial_term_peaks_at_the_published_proportion() -> None:
    t = load_targets().get("ae_sepsis_avg_blina")  # 52/351
    best = target_loglik(t, SummaryValue(52 / 351, 0.0, 100_000))
    assert best == pytest.approx(0.0, abs=0.01)
    worse = [target_loglik(t, SummaryValue(p, 0.0, 100_000)) for p in (0.10, 0.12, 0.20, 0.25)]
    assert all(w < best for w in worse)
    assert worse[0] < worse[1]
    assert worse[3] < worse[2]
    # a simulated zero is unlikely, not impossible
    assert math.isfinite(
        target_loglik(load_targets().get("ae_crs_avg_blina"), SummaryValue(0.0, 0.0, 500))
    )


def test_normal_term_adds_monte_carlo_and_discrepancy_variance() -> None:
    t = load_targets().get("dfs3_avg_chemo")  # 0.902 +- 0.023
    far = SummaryValue(0.80, 0.0, 1000)
    noisy = SummaryValue(0.80, 0.05, 1000)
    assert target_loglik(t, noisy) > target_loglik(t, far)
    assert target_loglik(t, far, 0.05) > target_loglik(t, far)
    z = (0.902 - 0.80) / 0.023
    expect = -0.5 * z**2 - 0.5 * math.log(2 * math.pi * 0.023**2)
    assert target_loglik(t, far) == pytest.approx(expect)
    nan = target_loglik(t, SummaryValue(math.nan, math.nan, 0))
    assert nan == pytest.approx(-4.5 - 0.5 * math.log(2 * math.pi * 0.023**2))


def test_log_likelihood_sums_terms() -> None:
    ts = load_targets()
    a, b = ts.get("dfs3_avg_chemo"), ts.get("dfs3_avg_blina")
    s = {a.id: SummaryValue(0.9, 0.01, 10), b.id: SummaryValue(0.97, 0.01, 10)}
    total = log_likelihood([a, b], s, {a.id: 0.02})
    assert total == pytest.approx(target_loglik(a, s[a.id], 0.02) + target_loglik(b, s[b.id]))
    # only fitted targets enter the likelihood
    pooled = ts.get("dfs3_all_chemo")
    with pytest.raises(ValueError, match="dfs3_all_chemo has role derived"):
        log_likelihood([a, pooled], {**s, pooled.id: SummaryValue(0.9, 0.01, 10)})


def test_predictive_draws() -> None:
    ts = load_targets()
    c = ts.get("ae_fn_avg_blina")
    y = predictive_draw(c, 0.47, 0.5)
    assert y * c.n == pytest.approx(round(y * c.n))
    n = ts.get("dfs3_avg_chemo")
    assert predictive_draw(n, 0.9, 0.5) == pytest.approx(0.9)
    assert predictive_draw(n, 0.9, 0.975) == pytest.approx(0.9 + 1.959964 * 0.023, rel=1e-5)
    assert math.isnan(predictive_draw(n, math.nan, 0.5))
