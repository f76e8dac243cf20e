"""Numba kernel of the accelerated-failure-time log-likelihood: value, gradient, Hessian.

One pass over the rows gives the negative log-likelihood of ``log T = x'beta + sigma W``
(right-censored) and its first and second derivatives in ``(beta, log sigma)``, for W
standard extreme-value (code 0: Weibull, exponential with sigma = 1), normal (1:
log-normal) or logistic (2: log-logistic). The normal upper tail uses ``erfc`` and, beyond
z = 25 where it underflows, the asymptotic series of Mills' ratio.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def log_sf_normal(z: float) -> float:  # pragma: no cover - compiled
    """The log of P(N(0, 1) > z)."""
    if z < 25.0:
        return math.log(0.5 * math.erfc(z / _SQRT2))
    z2 = z * z
    series = 1.0 - 1.0 / z2 + 3.0 / (z2 * z2) - 15.0 / (z2 * z2 * z2)
    return -0.5 * z2 - math.log(z) - _LOG_SQRT_2PI + math.log(series)


@njit(cache=True)
def aft_fgh(
    code: int, logt: Any, event: Any, x: Any, theta: Any, fixed: bool
) -> Any:  # pragma: no cover
    """``(nll, grad, hess)`` of the AFT model at ``theta = (beta..., [log sigma])``."""
    n, k = x.shape
    p = k if fixed else k + 1
    log_s = 0.0 if fixed else theta[k]
    s = math.exp(log_s)
    ll = 0.0
    g = np.zeros(p)
    h = np.zeros((p, p))
    for i in range(n):
        eta = 0.0
        for j in range(k):
            eta += x[i, j] * theta[j]
        z = (logt[i] - eta) / s
        ev = event[i] == 1
        if code == 0:
            ez = math.exp(z)
            if ev:
                lik = z - ez - log_s - logt[i]
                u = 1.0 - ez
            else:
                lik = -ez
                u = -ez
            v = -ez
        elif code == 1:
            if ev:
                lik = -0.5 * z * z - _LOG_SQRT_2PI - log_s - logt[i]
                u = -z
                v = -1.0
            else:
                lsf = log_sf_normal(z)
                r = math.exp(-0.5 * z * z - _LOG_SQRT_2PI - lsf)
                lik = lsf
                u = -r
                v = -r * (r - z)
        else:
            if z >= 0:
                f = 1.0 / (1.0 + math.exp(-z))
                softplus = z + math.log1p(math.exp(-z))
            else:
                ezz = math.exp(z)
                f = ezz / (1.0 + ezz)
                softplus = math.log1p(ezz)
            if ev:
                lik = z - 2.0 * softplus - log_s - logt[i]
                u = 1.0 - 2.0 * f
                v = -2.0 * f * (1.0 - f)
            else:
                lik = -softplus
                u = -f
                v = -f * (1.0 - f)
        ll += lik
        for a in range(k):
            xa = x[i, a]
            g[a] -= u * xa / s
            for b in range(a + 1):
                h[a, b] += v * xa * x[i, b] / (s * s)
            if not fixed:
                h[k, a] += (v * z + u) * xa / s
        if not fixed:
            g[k] += -u * z - (1.0 if ev else 0.0)
            h[k, k] += v * z * z + u * z
    for a in range(p):
        for b in range(a):
            h[b, a] = h[a, b]
    return -ll, -g, -h
