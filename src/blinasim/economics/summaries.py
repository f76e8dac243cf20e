"""PSA summaries: incremental results, ICER with dominance, NMB, CEAC, EVPI, price threshold.

Input: a tidy table with one row per (``iteration``, ``arm``) and the columns ``costs``,
``qalys`` (discounted), optionally ``life_years``, the ``_undiscounted`` columns and
``vials`` (discounted blinatumomab vials per child: the derivative of the mean cost with
respect to the vial price, :attr:`~.evaluate.ArmTotals.vials`).

- :func:`icer` classifies the mean increments: ``dominant`` (more QALYs, not more costly),
  ``dominated`` (fewer QALYs, not cheaper), ``north-east`` (more QALYs at a cost: the ratio
  is the cost per QALY gained), ``south-west`` (fewer QALYs and cheaper: the ratio is the
  saving per QALY lost, and the intervention is cost-effective when it *exceeds* the
  threshold), ``no difference`` (no QALY difference). A dominant or dominated comparison
  has no ratio (None), never a negative number to be misread.
- Each summary value is ``{estimate, lower, upper}``: the mean over iterations and the
  2.5%/97.5% percentiles. The ICER's interval is given only when every iteration falls in
  the estimate's quadrant (else None, with ``share_in_quadrant``).
- :func:`ceac` the probability that each arm has the highest net monetary benefit at each
  willingness to pay; :func:`evpi` the expected value of perfect information
  ``E[max_a NB_a] - max_a E[NB_a]`` per child (and per population when given);
  :func:`price_threshold` the vial price at which the mean ICER equals the threshold
  (closed form: costs are linear in the price); :func:`summarize` all of it as the
  ``summary.json`` fields of ``blinasim cea``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.errors import InputError

FloatArray = NDArray[np.float64]
Interval = dict[str, float | None]
REQUIRED = ("iteration", "arm", "costs", "qalys")
ArrayLike_ = Sequence[float] | FloatArray | pd.Series


def interval(x: ArrayLike_, *, level: float = 0.95) -> Interval:
    """``{estimate, lower, upper}``: mean and the central ``level`` percentile interval."""
    a = np.asarray(x, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {"estimate": None, "lower": None, "upper": None}
    lo, hi = np.quantile(a, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": float(a.mean()), "lower": float(lo), "upper": float(hi)}


def quadrant(d_costs: float, d_qalys: float) -> str:
    """Where ``(d_qalys, d_costs)`` lies on the cost-effectiveness plane (see module)."""
    if d_qalys > 0:
        return "dominant" if d_costs <= 0 else "north-east"
    if d_qalys < 0:
        return "dominated" if d_costs >= 0 else "south-west"
    return "no difference"


def icer(d_costs: float, d_qalys: float) -> dict[str, Any]:
    """``{value, quadrant, statement}`` of mean increments (value None if dominance)."""
    q = quadrant(d_costs, d_qalys)
    if q in ("north-east", "south-west"):
        v = d_costs / d_qalys
        said = (
            f"{v:,.0f} per QALY gained"
            if q == "north-east"
            else f"{v:,.0f} saved per QALY lost (south-west: cost-effective if above the threshold)"
        )
        return {"value": float(v), "quadrant": q, "statement": said}
    said = {
        "dominant": "dominant: more QALYs at no higher cost",
        "dominated": "dominated: fewer QALYs at no lower cost",
        "no difference": "no QALY difference: the ratio is undefined",
    }[q]
    return {"value": None, "quadrant": q, "statement": said}


def _wide(table: pd.DataFrame, column: str, arms: Sequence[str]) -> FloatArray:
    w = table.pivot(index="iteration", columns="arm", values=column)
    missing = [a for a in arms if a not in w.columns]
    if missing:
        raise InputError(f"rows for arms {list(arms)}", field="arm", got=missing)
    return np.asarray(w[list(arms)].to_numpy(dtype=np.float64))


def _check(table: pd.DataFrame) -> None:
    miss = [c for c in REQUIRED if c not in table.columns]
    if miss:
        raise InputError("a PSA table with columns " + ", ".join(REQUIRED), field=miss[0])
    if table.duplicated(["iteration", "arm"]).any():
        raise InputError("one row per (iteration, arm)", field="iteration")


def ceac(costs: FloatArray, qalys: FloatArray, thresholds: Sequence[float]) -> FloatArray:
    """P(arm has the highest net benefit) at each threshold: shape ``(thresholds, arms)``.

    ``costs`` and ``qalys`` are ``(iterations, arms)``; ties go to the first arm listed.
    """
    lam = np.asarray(thresholds, dtype=np.float64)[:, None, None]
    nb = lam * qalys[None] - costs[None]
    best = nb.argmax(axis=2)
    k = costs.shape[1]
    return np.stack([(best == a).mean(axis=1) for a in range(k)], axis=1)


def evpi(costs: FloatArray, qalys: FloatArray, threshold: float) -> float:
    """Expected value of perfect information per child at ``threshold`` (>= 0)."""
    nb = threshold * qalys - costs
    return float(max(nb.max(axis=1).mean() - nb.mean(axis=0).max(), 0.0))


def price_threshold(
    d_costs: float, d_qalys: float, d_vials: float, price: float, threshold: float
) -> float | None:
    """Vial price at which the ICER equals ``threshold`` (None if vials do not differ).

    Costs are linear in the price: ``d_costs(p) = d_costs + (p - price) d_vials``, so
    ``threshold d_qalys - d_costs(p) = 0`` at ``p = price + (threshold d_qalys - d_costs) /
    d_vials``. A negative value means no price makes the intervention cost-effective.
    """
    if not (math.isfinite(d_vials) and d_vials > 0):
        return None
    return price + (threshold * d_qalys - d_costs) / d_vials


def summarize(
    table: pd.DataFrame,
    *,
    comparator: str,
    intervention: str,
    threshold: float,
    grid: Sequence[float],
    alternatives: Sequence[float] = (),
    vial_price: float | None = None,
    population: float | None = None,
) -> dict[str, Any]:
    """The ``summary.json`` fields of a PSA table (see the module docstring).

    Per arm ``costs``, ``life_years``, ``qalys`` (and ``_undiscounted`` when the columns
    exist) as intervals; ``incremental_costs``, ``incremental_qalys``, ``icer``, ``nmb``;
    ``prob_cost_effective`` at ``threshold``, ``alternatives`` and every value of ``grid``;
    ``ceac``; ``evpi`` (per child and, with ``population``, per population);
    ``price_threshold`` (with a ``vials`` column and ``vial_price``).
    """
    _check(table)
    arms = [comparator, intervention]
    cols = [
        c
        for c in (
            "costs",
            "qalys",
            "life_years",
            "costs_undiscounted",
            "qalys_undiscounted",
            "life_years_undiscounted",
        )
        if c in table.columns
    ]
    per_arm: dict[str, dict[str, Interval]] = {a: {} for a in arms}
    wide = {c: _wide(table, c, arms) for c in cols}
    for c in cols:
        for j, a in enumerate(arms):
            per_arm[a][c] = interval(wide[c][:, j])
    cost, qaly = wide["costs"], wide["qalys"]
    dc = cost[:, 1] - cost[:, 0]
    dq = qaly[:, 1] - qaly[:, 0]
    mdc, mdq = float(dc.mean()), float(dq.mean())
    ic = icer(mdc, mdq)
    quads = np.array([quadrant(float(a), float(b)) for a, b in zip(dc, dq, strict=True)])
    share = float((quads == ic["quadrant"]).mean())
    ic["share_in_quadrant"] = share
    ic["estimate"] = ic["value"]
    ic["lower"] = ic["upper"] = None
    if ic["value"] is not None and share == 1.0:
        r = dc / dq
        ic["lower"], ic["upper"] = (float(x) for x in np.quantile(r, [0.025, 0.975]))
    lams = sorted({float(threshold), *map(float, alternatives), *map(float, grid)})
    curve = ceac(cost, qaly, lams)
    out: dict[str, Any] = {
        "arms": {"comparator": comparator, "intervention": intervention},
        "iterations": int(cost.shape[0]),
        "threshold": float(threshold),
        "per_arm": per_arm,
        "incremental_costs": interval(dc),
        "incremental_qalys": interval(dq),
        "icer": ic,
        "nmb": interval(threshold * dq - dc),
        "prob_cost_effective": {
            str(lam): float(curve[i, 1])
            for i, lam in enumerate(lams)
            if lam in {float(threshold), *map(float, alternatives)}
        },
        "ceac": {"threshold": lams, "probability": [float(p) for p in curve[:, 1]]},
    }
    for c in ("life_years", "costs_undiscounted", "qalys_undiscounted", "life_years_undiscounted"):
        if c in wide:
            out[f"incremental_{c}"] = interval(wide[c][:, 1] - wide[c][:, 0])
    per_child = evpi(cost, qaly, threshold)
    out["evpi"] = {
        "per_child": per_child,
        "population": None if population is None else per_child * population,
        "by_threshold": {str(lam): evpi(cost, qaly, lam) for lam in lams},
    }
    out["price_threshold"] = None
    if vial_price is not None and "vials" in table.columns:
        dv = _wide(table, "vials", arms)
        dvv = dv[:, 1] - dv[:, 0]
        p = price_threshold(mdc, mdq, float(dvv.mean()), vial_price, threshold)
        per_it = np.array(
            [
                np.nan if x is None else x
                for x in (
                    price_threshold(float(a), float(b), float(v), vial_price, threshold)
                    for a, b, v in zip(dc, dq, dvv, strict=True)
                )
            ]
        )
        iv = interval(per_it)
        iv["estimate"] = p
        out["price_threshold"] = {**iv, "vial_price": float(vial_price)}
    return out
