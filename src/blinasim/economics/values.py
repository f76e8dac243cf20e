"""The numbers of a setting: base case, PSA draws and one-way bounds, by dotted name.

A :class:`Values` holds one number per input of a :class:`~.setting.Setting`
(``blinatumomab.vial_price``, ``utilities.first_line.induction``, ...), costs already in
the setting's price year (``price_index``). :func:`base_values` gives the stated values,
:func:`draw_values` one PSA iteration (stream ``economics.psa``, keyed by the iteration:
the same iteration gives the same numbers whatever the number of workers),
:func:`bounds` the low/high of each input for the tornado. Draws use the inverse CDF of
one uniform per input, in the sorted order of names:

- ``gamma``: mean ``value``, standard error ``se`` (shape ``(value/se)**2``);
- ``beta``: mean ``value``, standard error ``se`` (method of moments);
- ``lognormal``: median ``value``, ``se`` the standard deviation of its logarithm;
- ``normal``: mean ``value``, standard deviation ``se``;
- ``fixed``: ``value``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from blinasim import rng
from blinasim.economics.setting import Quantity, Setting, currency_of, quantities

PSA_STREAM = "economics.psa"
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Values(Mapping[str, float]):
    """One number per input of ``setting`` (costs in its price year), by dotted name."""

    setting: Setting
    numbers: Mapping[str, float] = field(repr=False)

    def __getitem__(self, name: str) -> float:
        return self.numbers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.numbers)

    def __len__(self) -> int:
        return len(self.numbers)

    def replace(self, **changes: float) -> Values:
        """A copy with some numbers changed (names with ``.`` given via a dict: ``**{..}``)."""
        unknown = [k for k in changes if k not in self.numbers]
        if unknown:
            raise KeyError(f"unknown inputs {unknown}")
        return Values(self.setting, {**self.numbers, **changes})


def _factor(setting: Setting, q: Quantity) -> float:
    if currency_of(q) is None or q.year is None or q.year == setting.price_year:
        return 1.0
    return setting.price_index[q.year].value


def _ppf(q: Quantity, u: float) -> float:
    v, se = q.value, q.se
    if q.distribution == "fixed" or se is None:
        return v
    if q.distribution == "gamma":
        k = (v / se) ** 2
        return float(stats.gamma.ppf(u, k, scale=v / k))
    if q.distribution == "beta":
        common = v * (1.0 - v) / se**2 - 1.0
        return float(stats.beta.ppf(u, v * common, (1.0 - v) * common))
    if q.distribution == "lognormal":
        return float(math.exp(math.log(v) + se * stats.norm.ppf(u)))
    return float(v + se * stats.norm.ppf(u))


def base_values(setting: Setting) -> Values:
    """The stated value of every input (the base case)."""
    qs = quantities(setting)
    return Values(setting, {k: q.value * _factor(setting, q) for k, q in qs.items()})


@dataclass(frozen=True)
class _Plan:
    """The inputs of a setting as arrays, in sorted name order (for vectorized draws)."""

    names: tuple[str, ...]
    value: FloatArray
    se: FloatArray
    factor: FloatArray
    kind: dict[str, NDArray[np.intp]]


_PLANS: dict[int, tuple[Setting, _Plan]] = {}


def _plan(setting: Setting) -> _Plan:
    hit = _PLANS.get(id(setting))
    if hit is not None and hit[0] is setting:
        return hit[1]
    qs = quantities(setting)
    names = tuple(sorted(qs))
    dist = np.array([qs[k].distribution for k in names])
    plan = _Plan(
        names=names,
        value=np.array([qs[k].value for k in names]),
        se=np.array([qs[k].se if qs[k].se is not None else 0.0 for k in names]),
        factor=np.array([_factor(setting, qs[k]) for k in names]),
        kind={d: np.flatnonzero(dist == d) for d in ("gamma", "beta", "lognormal", "normal")},
    )
    if len(_PLANS) >= 16:
        _PLANS.clear()
    _PLANS[id(setting)] = (setting, plan)  # the reference keeps the id from being reused
    return plan


def draw_values(setting: Setting, seed: int, iteration: int) -> Values:
    """PSA iteration ``iteration``: each input drawn from its distribution."""
    p = _plan(setting)
    u = rng.generator(seed, PSA_STREAM, iteration).random(len(p.names))
    x = p.value.copy()
    i = p.kind["gamma"]
    if i.size:
        k = (p.value[i] / p.se[i]) ** 2
        x[i] = stats.gamma.ppf(u[i], k, scale=p.value[i] / k)
    i = p.kind["beta"]
    if i.size:
        m, se = p.value[i], p.se[i]
        common = m * (1.0 - m) / se**2 - 1.0
        x[i] = stats.beta.ppf(u[i], m * common, (1.0 - m) * common)
    i = p.kind["lognormal"]
    if i.size:
        x[i] = np.exp(np.log(p.value[i]) + p.se[i] * stats.norm.ppf(u[i]))
    i = p.kind["normal"]
    if i.size:
        x[i] = p.value[i] + p.se[i] * stats.norm.ppf(u[i])
    x *= p.factor
    return Values(setting, dict(zip(p.names, x.tolist(), strict=True)))


def bounds(setting: Setting) -> dict[str, tuple[float, float]]:
    """Low and high of every uncertain input (its ``range``, else the 2.5%/97.5% quantiles).

    Fixed inputs without a ``range`` are left out.
    """
    out: dict[str, tuple[float, float]] = {}
    for k, q in quantities(setting).items():
        f = _factor(setting, q)
        if q.range is not None:
            out[k] = (q.range[0] * f, q.range[1] * f)
        elif q.distribution != "fixed":
            out[k] = (_ppf(q, 0.025) * f, _ppf(q, 0.975) * f)
    return out


def psa_arrays(setting: Setting, seed: int, iterations: range | list[int]) -> dict[str, np.ndarray]:
    """Draws of every input for many iterations (name -> array over ``iterations``)."""
    rows = [draw_values(setting, seed, i) for i in iterations]
    return {k: np.array([r[k] for r in rows]) for k in quantities(setting)}
