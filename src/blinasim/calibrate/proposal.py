"""The stage-2 proposal: the prior's normal-score space, a defensive t mixture, rounds.

Free parameters map to ``z = Phi^-1(F_prior(theta))`` (standard normal under the prior).
The proposal is a multivariate t fitted to the stage-1 walkers, mixed with the prior
(defensive importance sampling, Hesterberg 1995); adaptive rounds refit the t to the
weighted draws so far (AMIS, Cornuet et al. 2012), the final weights use the mixture of all
rounds' proposals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg, special, stats

from blinasim import rng
from blinasim.calibrate.config import ImportanceSpec
from blinasim.calibrate.likelihood import FreeParameter
from blinasim.calibrate.psis import (
    psis,
)
from blinasim.errors import InputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_U_LO = 1e-300
_U_HI = 1.0 - 2.0**-53
_LOG_2PI = math.log(2 * math.pi)


# --- normal-score space -------------------------------------------------------------------


def to_z(free: Sequence[FreeParameter], theta: FloatArray) -> FloatArray:
    """Normal scores ``Phi^-1(F_j(theta_j))`` of points ``theta`` with shape (n, d)."""
    th = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    u = np.array([[fp.cdf(float(x)) for fp, x in zip(free, row, strict=True)] for row in th])
    return np.asarray(special.ndtri(np.clip(u, 1e-15, 1 - 1e-15)), dtype=np.float64)


def from_z(free: Sequence[FreeParameter], z: FloatArray) -> FloatArray:
    """Parameter values ``F_j^-1(Phi(z_j))`` of normal scores ``z`` with shape (n, d)."""
    zz = np.atleast_2d(np.asarray(z, dtype=np.float64))
    u = np.clip(special.ndtr(zz), _U_LO, _U_HI)
    return np.array([[fp.ppf(float(x)) for fp, x in zip(free, row, strict=True)] for row in u])


def log_std_normal(z: FloatArray) -> FloatArray:
    """Log density of N(0, I) at the rows of ``z``."""
    zz = np.atleast_2d(z)
    return np.asarray(-0.5 * np.sum(zz**2, axis=1) - 0.5 * zz.shape[1] * _LOG_2PI)


# --- proposal -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """Defensive mixture ``(1 - defensive) t_df(mean, chol chol^T) + defensive N(0, I)``."""

    mean: FloatArray
    chol: FloatArray
    """Lower Cholesky factor of the t component's scale matrix (``scale^2 * cov``)."""
    df: float
    defensive: float

    @property
    def dim(self) -> int:
        """Number of parameters."""
        return int(self.mean.size)


def fit_proposal(z_stage1: FloatArray, spec: ImportanceSpec) -> Proposal:
    """The proposal centred on stage-1 positions ``z_stage1`` (n, d) in z-space."""
    z = np.atleast_2d(np.asarray(z_stage1, dtype=np.float64))
    if z.shape[0] < 2 or not np.all(np.isfinite(z)):
        raise InputError(
            "at least 2 finite stage-1 positions after burn-in",
            field="sampler.burn_in",
            got=int(z.shape[0]),
        )
    d = z.shape[1]
    cov = np.atleast_2d(np.cov(z, rowvar=False)) * spec.scale**2
    # a ridge keeps the factor defined when stage 1 collapsed in some direction
    ridge = 1e-9 * max(float(np.trace(cov)) / d, 1e-6)
    chol = np.linalg.cholesky(cov + ridge * np.eye(d))
    return Proposal(mean=z.mean(axis=0), chol=chol, df=float(spec.df), defensive=spec.defensive)


def _stream(name: str, round_index: int) -> str:
    return f"calibrate.importance.{name}" + (f".round{round_index}" if round_index else "")


def proposal_draws(prop: Proposal, seed: int, n: int, round_index: int = 0) -> FloatArray:
    """Draws 0..n-1 of the proposal in z-space (draw ``i`` does not depend on ``n``).

    Each adaptive round has its own random streams.
    """
    d = prop.dim
    eps = rng.normals(seed, _stream("normal", round_index), 0, n, k=d).reshape(n, d)
    u_chi = np.clip(rng.uniforms(seed, _stream("chi2", round_index), 0, n), _U_LO, _U_HI)
    chi2 = stats.chi2.ppf(u_chi, prop.df)
    t = prop.mean + (eps @ prop.chol.T) * np.sqrt(prop.df / chi2)[:, None]
    return np.where(from_prior_component(prop, seed, n, round_index)[:, None], eps, t)


def from_prior_component(
    prop: Proposal, seed: int, n: int, round_index: int = 0
) -> NDArray[np.bool_]:
    """Which of draws 0..n-1 of :func:`proposal_draws` come from the prior component."""
    return rng.uniforms(seed, _stream("component", round_index), 0, n) < prop.defensive


def round_bounds(draws: int, rounds: int) -> list[int]:
    """Draw indices where the adaptive rounds start, then ``draws``: ``[0, ..., draws]``."""
    return [round(r * draws / rounds) for r in range(rounds)] + [draws]


def refit_proposal(
    z: FloatArray, log_weights: FloatArray, previous: Proposal, spec: ImportanceSpec
) -> Proposal:
    """The next round's proposal, fitted to the importance-weighted draws so far.

    The t component moves to the PSIS-weighted mean and covariance (times ``scale**2``) of
    the draws so far; the prior share is unchanged. With few effective draws the weighted
    covariance is noisy: it is averaged with the previous round's (half each) so that no
    direction collapses.
    """
    w = psis(log_weights).weights
    w = w / w.sum()
    mean = w @ z
    dz = z - mean
    cov_w = (dz * w[:, None]).T @ dz
    prev = previous.chol @ previous.chol.T / max(spec.scale, 1e-12) ** 2
    cov = 0.5 * cov_w + 0.5 * prev
    d = z.shape[1]
    ridge = 1e-9 * max(float(np.trace(cov)) / d, 1e-6)
    chol = np.linalg.cholesky(cov * spec.scale**2 + ridge * np.eye(d))
    return Proposal(mean=mean, chol=chol, df=previous.df, defensive=previous.defensive)


def mixture_logpdf(
    proposals: Sequence[Proposal], counts: Sequence[int], z: FloatArray
) -> FloatArray:
    """Log density of the deterministic mixture ``sum_k (n_k / n) q_k`` at the rows of ``z``."""
    n = float(sum(counts))
    parts = [
        math.log(c / n) + proposal_logpdf(p, z)
        for p, c in zip(proposals, counts, strict=True)
        if c > 0
    ]
    return np.asarray(np.logaddexp.reduce(np.stack(parts), axis=0), dtype=np.float64)


def proposal_logpdf(prop: Proposal, z: FloatArray) -> FloatArray:
    """Log density of the mixture at the rows of ``z``."""
    zz = np.atleast_2d(np.asarray(z, dtype=np.float64))
    d, nu = prop.dim, prop.df
    r = linalg.solve_triangular(prop.chol, (zz - prop.mean).T, lower=True)
    maha = np.sum(r**2, axis=0)
    const = (
        special.gammaln((nu + d) / 2)
        - special.gammaln(nu / 2)
        - 0.5 * d * math.log(nu * math.pi)
        - float(np.sum(np.log(np.diag(prop.chol))))
    )
    log_t = const - 0.5 * (nu + d) * np.log1p(maha / nu)
    if prop.defensive == 0:
        return np.asarray(log_t, dtype=np.float64)
    return np.asarray(
        np.logaddexp(
            math.log1p(-prop.defensive) + log_t, math.log(prop.defensive) + log_std_normal(zz)
        ),
        dtype=np.float64,
    )
