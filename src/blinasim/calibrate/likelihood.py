"""Priors and the synthetic likelihood of the published targets.

Likelihood (one independent term per target used in the fit):

* a *count* target (``events`` of ``n``, e.g. grade >= 3 sepsis 52/351) is binomial in the
  simulated probability ``p`` (smoothed to ``(p * n_sim + 0.5) / (n_sim + 1)`` so that a
  simulated 0 is not impossible). When the config gives the target a model-discrepancy SD,
  the binomial is replaced by its normal approximation with that SD added;
* any other target is normal: ``published ~ N(simulated, se² + mc_se² + discrepancy²)``,
  with ``se`` the published standard error, ``mc_se`` the simulator's Monte Carlo error
  (so a noisy simulation cannot claim a sharp fit) and ``discrepancy`` the config's
  model-discrepancy SD for targets from other populations or eras.

A simulated statistic that is undefined (e.g. the median time of isolated CNS relapses
when there are none) scores as a 3-SD miss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from blinasim.calibrate.summaries import SummaryValue
from blinasim.calibrate.targets import Target
from blinasim.config import (
    BetaPrior,
    LogNormalPrior,
    LogUniformPrior,
    NormalPrior,
    ParameterSet,
    UniformPrior,
)
from blinasim.errors import ParameterError

FloatArray = NDArray[np.float64]
PriorSpec = NormalPrior | LogNormalPrior | UniformPrior | LogUniformPrior | BetaPrior
NAN_MISS_Z = 3.0
_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class FreeParameter:
    """A calibrated parameter: its dotted key, prior and value in the parameter file."""

    key: str
    prior: PriorSpec
    default: float

    def logpdf(self, x: float) -> float:
        """Log prior density at ``x`` (``-inf`` outside the support)."""
        p = self.prior
        if isinstance(p, NormalPrior):
            if not p.lower <= x <= p.upper:
                return -math.inf
            mass = stats.norm.cdf(p.upper, p.mean, p.sd) - stats.norm.cdf(p.lower, p.mean, p.sd)
            return float(stats.norm.logpdf(x, p.mean, p.sd) - math.log(mass))
        if isinstance(p, LogNormalPrior):
            if x <= 0:
                return -math.inf
            return float(stats.norm.logpdf(math.log(x), math.log(p.median), p.sd_log) - math.log(x))
        if isinstance(p, UniformPrior):
            return -math.log(p.upper - p.lower) if p.lower <= x <= p.upper else -math.inf
        if isinstance(p, LogUniformPrior):
            if not p.lower <= x <= p.upper:
                return -math.inf
            return -math.log(x) - math.log(math.log(p.upper / p.lower))
        if not 0 < x < 1:
            return -math.inf
        return float(stats.beta.logpdf(x, p.a, p.b))

    def ppf(self, u: float) -> float:
        """Prior quantile at ``u`` in (0, 1) (inverse CDF)."""
        p = self.prior
        if isinstance(p, NormalPrior):
            lo = stats.norm.cdf(p.lower, p.mean, p.sd)
            hi = stats.norm.cdf(p.upper, p.mean, p.sd)
            return float(stats.norm.ppf(lo + u * (hi - lo), p.mean, p.sd))
        if isinstance(p, LogNormalPrior):
            return float(p.median * math.exp(p.sd_log * special.ndtri(u)))
        if isinstance(p, UniformPrior):
            return p.lower + u * (p.upper - p.lower)
        if isinstance(p, LogUniformPrior):
            return float(p.lower * (p.upper / p.lower) ** u)
        return float(special.betaincinv(p.a, p.b, u))

    def cdf(self, x: float) -> float:
        """Prior CDF at ``x``."""
        p = self.prior
        if isinstance(p, NormalPrior):
            lo = stats.norm.cdf(p.lower, p.mean, p.sd)
            hi = stats.norm.cdf(p.upper, p.mean, p.sd)
            return float(
                (stats.norm.cdf(min(max(x, p.lower), p.upper), p.mean, p.sd) - lo) / (hi - lo)
            )
        if isinstance(p, LogNormalPrior):
            return float(stats.norm.cdf(math.log(max(x, 1e-300)), math.log(p.median), p.sd_log))
        if isinstance(p, UniformPrior):
            return min(max((x - p.lower) / (p.upper - p.lower), 0.0), 1.0)
        if isinstance(p, LogUniformPrior):
            xx = min(max(x, p.lower), p.upper)
            return math.log(xx / p.lower) / math.log(p.upper / p.lower)
        return float(stats.beta.cdf(x, p.a, p.b))


def free_parameters(params: ParameterSet, keys: Sequence[str]) -> tuple[FreeParameter, ...]:
    """The free parameters ``keys``; each must be a number with a ``prior`` in the file."""
    out = []
    for key in keys:
        par = params[key]
        if par.prior is None:
            raise ParameterError(
                "a prior for a calibrated parameter", file=params.origin, field=key
            )
        if isinstance(par.value, bool) or not isinstance(par.value, int | float):
            raise ParameterError(
                "a numeric value for a calibrated parameter", file=params.origin, field=key
            )
        out.append(FreeParameter(key=key, prior=par.prior, default=float(par.value)))
    return tuple(out)


def log_prior(free: Sequence[FreeParameter], theta: Sequence[float] | FloatArray) -> float:
    """Sum of the independent log prior densities."""
    total = 0.0
    for fp, x in zip(free, theta, strict=True):
        lp = fp.logpdf(float(x))
        if not math.isfinite(lp):
            return -math.inf
        total += lp
    return total


def target_loglik(t: Target, s: SummaryValue, discrepancy_sd: float = 0.0) -> float:
    """Log-likelihood of one published target given its simulated counterpart."""
    if t.kind == "binomial" and discrepancy_sd == 0.0:
        if not math.isfinite(s.value):
            return -0.5 * NAN_MISS_Z**2
        n_sim = max(s.n, 1)
        p = (s.value * n_sim + 0.5) / (n_sim + 1)
        k, n = t.events, t.n
        # relative to the saturated model, so a perfect fit scores about 0
        sat = 0.0
        if 0 < k < n:
            sat = k * math.log(k / n) + (n - k) * math.log(1 - k / n)
        return float(k * math.log(p) + (n - k) * math.log1p(-p) - sat)
    var = t.se**2 + discrepancy_sd**2
    if math.isfinite(s.mc_se):
        var += s.mc_se**2
    if not math.isfinite(s.value):
        return -0.5 * NAN_MISS_Z**2 - 0.5 * (_LOG_2PI + math.log(var))
    z2 = (t.estimate - s.value) ** 2 / var
    return -0.5 * z2 - 0.5 * (_LOG_2PI + math.log(var))


def log_likelihood(
    targets: Sequence[Target],
    summaries: Mapping[str, SummaryValue],
    discrepancy_sd: Mapping[str, float] | None = None,
) -> float:
    """Sum of :func:`target_loglik` over ``targets``, which must all have role ``fitted``.

    A target the likelihood uses is fitted by definition: a held-out, derived, closed-form
    or input number in it would be reported as something it is not (ValueError).
    """
    for t in targets:
        if t.role != "fitted":
            raise ValueError(f"target {t.id} has role {t.role}: only fitted targets are fitted")
    d = discrepancy_sd or {}
    return float(sum(target_loglik(t, summaries[t.id], d.get(t.id, 0.0)) for t in targets))


def predictive_draw(t: Target, model_value: float, u: float) -> float:
    """A published-estimate replicate at ``model_value``: the trial's sampling noise added.

    Count targets draw ``Binomial(n, p) / n``, others ``N(model, se²)``, from the uniform
    ``u`` (inverse CDF), so that posterior predictive intervals are reproducible.
    """
    if not math.isfinite(model_value):
        return math.nan
    if t.kind == "binomial":
        p = min(max(model_value, 0.0), 1.0)
        return float(stats.binom.ppf(u, t.n, p) / t.n)
    return float(model_value + t.se * special.ndtri(min(max(u, 1e-12), 1 - 1e-12)))


__all__ = [
    "FreeParameter",
    "free_parameters",
    "log_likelihood",
    "log_prior",
    "predictive_draw",
    "target_loglik",
]
