"""Designs, indices and the decision rule of the sensitivity analysis (SALib).

See :mod:`blinasim.calibrate.sensitivity` for the method and the rule. SALib (Herman &
Usher, JOSS 2017; Iwanaga, Usher & Herman, SESMO 2022) draws the unit-hypercube designs and
computes the indices: Morris elementary effects (mu, mu*, sigma and a bootstrap CI of mu*;
Morris 1991, Campolongo, Cariboni & Saltelli 2007) and Sobol' first-order and total indices
with bootstrap CIs (Saltelli 2002, Saltelli et al. 2010).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# SALib has no type information: its modules are used as Any
_MORRIS_SAMPLE: Any = importlib.import_module("SALib.sample.morris")
_SOBOL_SAMPLE: Any = importlib.import_module("SALib.sample.sobol")
_MORRIS_ANALYZE: Any = importlib.import_module("SALib.analyze.morris")
_SOBOL_ANALYZE: Any = importlib.import_module("SALib.analyze.sobol")

METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4
"""Grid levels of the Morris design (step 2/3 of the unit range: Campolongo et al. 2007)."""
RESAMPLES = 1000
"""Bootstrap resamples of the indices' confidence intervals."""
CONF_LEVEL = 0.95
REL_THRESHOLD = 0.5
"""A factor does not matter for an output when its full-range effect is below this fraction
of the SD the calibration compares the output with (published SE and Monte Carlo SE)."""
VERDICTS = ("matters", "unclear", "does not matter", "not read")
RULE = (
    "For each output j, s_j = sqrt(published SE_j^2 + Monte Carlo SE_j^2) (the SD the "
    "calibration's likelihood compares it with; without a published SE, the Monte Carlo SE "
    f"alone) and tau_j = {REL_THRESHOLD:g} s_j. A factor's effect on j is its change of j "
    "across the central 99% of its prior (Morris: mu*, with the bootstrap 95% CI of mu*; "
    "Sobol: sqrt(12 ST Var Y), the full-range effect of a linear factor with total index ST). "
    "It does not matter for j when the upper end of the CI is below tau_j, matters when the "
    "lower end is at or above tau_j, and is unclear otherwise; not read when every step left "
    "every output bit-identical. Overall: matters if it matters for any output, does not "
    "matter if it does not for every output."
)


def _problem(k: int, names: Sequence[str] | None = None) -> dict[str, Any]:
    return {
        "num_vars": k,
        "names": list(names) if names is not None else [f"x{i}" for i in range(k)],
        "bounds": [[0.0, 1.0]] * k,
    }


def design(method: str, r: int, k: int, seed: int) -> FloatArray:
    """The unit-hypercube design for ``k`` factors.

    Morris: ``r`` trajectories of ``k + 1`` rows; Sobol: ``r`` (a power of 2) base samples,
    ``r (k + 2)`` rows (no second-order indices).
    """
    if method == "morris":
        x = _MORRIS_SAMPLE.sample(_problem(k), r, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        x = _SOBOL_SAMPLE.sample(_problem(k), r, calc_second_order=False, seed=seed)
    return np.asarray(x, dtype=np.float64)


def classify(lower: float, upper: float, tau: float) -> str:
    """The verdict of one factor for one output from its effect's CI and the threshold.

    ``does not matter`` when ``upper < tau``, ``matters`` when ``lower >= tau``, else
    ``unclear`` (also when the effect or the threshold is undefined).
    """
    if not (math.isfinite(upper) and math.isfinite(tau)):
        return "unclear"
    if upper < tau:
        return "does not matter"
    if lower >= tau:
        return "matters"
    return "unclear"


def _same(a: FloatArray, b: FloatArray) -> bool:
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def inert(method: str, x: FloatArray, y: FloatArray, k: int) -> NDArray[np.bool_]:
    """True for a factor whose every step left every output bit-identical (not read)."""
    same = np.ones(k, dtype=bool)
    if method == "morris":
        for t in range(x.shape[0] // (k + 1)):
            for i in range(t * (k + 1), (t + 1) * (k + 1) - 1):
                j = int(np.flatnonzero(x[i + 1] != x[i])[0])
                same[j] &= _same(y[i + 1], y[i])
    else:  # Saltelli blocks without second order: A, AB_1 .. AB_k, B
        for b in range(x.shape[0] // (k + 2)):
            a = b * (k + 2)
            for j in range(k):
                same[j] &= _same(y[a + 1 + j], y[a])
    return same


def _morris(
    x: FloatArray, yj: FloatArray, k: int, seed: int
) -> tuple[dict[str, FloatArray], FloatArray, FloatArray, FloatArray]:
    cols = ("mu", "mu_star", "sigma", "mu_star_conf")
    if bool(np.all(np.isfinite(yj))):
        r = _MORRIS_ANALYZE.analyze(
            _problem(k),
            x,
            yj,
            num_resamples=RESAMPLES,
            conf_level=CONF_LEVEL,
            num_levels=MORRIS_LEVELS,
            seed=seed,
        )
        ind = {c: np.asarray(r[c], dtype=np.float64) for c in cols}
    else:
        ind = {c: np.full(k, np.nan) for c in cols}
    eff = ind["mu_star"]
    return ind, eff, np.maximum(eff - ind["mu_star_conf"], 0.0), eff + ind["mu_star_conf"]


def _sobol(
    yj: FloatArray, k: int, seed: int
) -> tuple[dict[str, FloatArray], FloatArray, FloatArray, FloatArray]:
    cols = ("S1", "S1_conf", "ST", "ST_conf")
    ok = bool(np.all(np.isfinite(yj)))
    var = float(np.var(yj)) if ok else math.nan
    if ok and var > 0:
        r = _SOBOL_ANALYZE.analyze(
            _problem(k),
            yj,
            calc_second_order=False,
            num_resamples=RESAMPLES,
            conf_level=CONF_LEVEL,
            seed=seed,
        )
        ind = {c: np.asarray(r[c], dtype=np.float64) for c in cols}
    else:
        ind = {c: np.full(k, 0.0 if ok else math.nan) for c in cols}
    st, conf = ind["ST"], ind["ST_conf"]

    def full_range(v: FloatArray) -> FloatArray:  # a linear factor's effect with index v
        return np.asarray(np.sqrt(12.0 * np.maximum(v, 0.0) * var), dtype=np.float64)

    return ind, full_range(st), full_range(st - conf), full_range(st + conf)


def analyze(
    method: str,
    names: Sequence[str],
    x: FloatArray,
    y: FloatArray,
    tau: FloatArray,
    seed: int,
) -> pd.DataFrame:
    """Indices, effects and verdicts per factor and output.

    ``x``: the unit design; ``y``: its outputs (design rows x outputs); ``tau``: each
    output's threshold. Rows: factor, output (column index of ``y``), the method's indices,
    ``effect`` (Morris mu*; Sobol ``sqrt(12 ST Var Y)``) with ``effect_lower`` /
    ``effect_upper`` (its CI), ``tau``, ``ratio`` (``effect_upper / tau``) and ``verdict``.
    """
    k = len(names)
    still = inert(method, x, y, k)
    rows: list[dict[str, Any]] = []
    for j in range(y.shape[1]):
        yj = y[:, j]
        ind, eff, lo, up = _morris(x, yj, k, seed) if method == "morris" else _sobol(yj, k, seed)
        for i, name in enumerate(names):
            t = float(tau[j])
            verdict = "not read" if still[i] else classify(float(lo[i]), float(up[i]), t)
            rows.append(
                {
                    "factor": name,
                    "output": j,
                    **{c: float(v[i]) for c, v in ind.items()},
                    "effect": float(eff[i]),
                    "effect_lower": float(lo[i]),
                    "effect_upper": float(up[i]),
                    "tau": t,
                    "ratio": float(up[i] / t) if t > 0 else math.nan,
                    "verdict": verdict,
                }
            )
    return pd.DataFrame(rows)


def overall(indices: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """One verdict per factor: matters for any output, does not matter for all, else unclear.

    ``not read`` when no output moved at all; ``max_ratio`` is the largest
    ``effect_upper / tau`` over the outputs and ``driving_output`` where it is.
    """
    rows = []
    for name in names:
        d = indices[indices["factor"] == name]
        v = set(d["verdict"])
        if v == {"not read"}:
            verdict = "not read"
        elif "matters" in v:
            verdict = "matters"
        elif v <= {"does not matter", "not read"}:
            verdict = "does not matter"
        else:
            verdict = "unclear"
        worst = d.iloc[int(np.argmax(d["ratio"].fillna(-1.0).to_numpy()))]
        rows.append(
            {
                "factor": name,
                "verdict": verdict,
                "max_ratio": float(worst["ratio"]),
                "driving_output": str(worst["output"]),
                "matters_for": ", ".join(
                    str(o) for o in d.loc[d["verdict"] == "matters", "output"]
                ),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "CONF_LEVEL",
    "METHODS",
    "MORRIS_LEVELS",
    "REL_THRESHOLD",
    "RESAMPLES",
    "RULE",
    "VERDICTS",
    "analyze",
    "classify",
    "design",
    "inert",
    "overall",
]
