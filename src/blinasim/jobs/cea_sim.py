"""One PSA iteration's children on chemotherapy and on chemotherapy + blinatumomab, to age 100.

The same virtual cohort on both strategies of AALL1731. Iteration ``i`` of root seed
``s`` simulates with the model seed drawn from the named stream ``cea.model`` keyed by
``i`` (:func:`iteration_seed`), so its numbers depend on ``(s, i)`` and the parameter draw
only, never on the worker or the number of workers. The cohort is the first ``n``
AALL1731-eligible children of that seed
(:func:`blinasim.cohort.sample.screen_cohort`); the engine runs each randomized child on
both arms of their stratum with the same draws (common random numbers), and
:func:`blinasim.economics.history_from_model` continues every row to age 100 (the lifetime
pathway of :mod:`blinasim.model.after_relapse`).

The two strategies, for the same children:

* ``chemotherapy``: each child on their stratum's chemotherapy arm (arm A for SR-Average,
  C for SR-High, FAV for SR-Favorable, the high-risk stand-in off study);
* ``blinatumomab``: the children AALL1731 randomized (SR-Average with detectable HTS MRD,
  SR-High with EOC MRD < 0.1%) on the blinatumomab arm of their stratum (B or D); every
  other child as under ``chemotherapy`` (the same row: identical costs and outcomes).

With ``origin="randomization"`` the children are those AALL1731 randomized who reached
randomization free of events, on arm A or C against B or D, from that day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim import rng
from blinasim.cohort.sample import screen_cohort
from blinasim.config import ParameterSet
from blinasim.economics import CATEGORIES, EventHistory, Values, evaluate, history_from_model
from blinasim.economics.discount import Mode
from blinasim.economics.evaluate import Origin
from blinasim.model.engine import DEFAULT_HORIZON_DAYS, simulate
from blinasim.model.parameters import load_parameters
from blinasim.protocol import load_protocol

PROTOCOL = "aall1731"
STRATEGIES = ("chemotherapy", "blinatumomab")
"""Strategy names (the comparator first); summary.json and the tables use them."""

OUTCOMES = ("relapse", "hsct", "cart", "death_by_age_30")
"""Model outcomes per child kept beside the economics (shares of the strategy's children)."""


def _seed(seq: np.random.SeedSequence) -> int:
    state = seq.generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def iteration_seed(seed: int, iteration: int) -> int:
    """The model seed of PSA iteration ``iteration`` under root ``seed`` (stream ``cea.model``)."""
    return _seed(rng.seed_sequence(seed, "cea.model", iteration))


def base_seed(seed: int) -> int:
    """The model seed of the base case (point values) under root ``seed`` (``cea.base``)."""
    return _seed(rng.seed_sequence(seed, "cea.base"))


@lru_cache(maxsize=1)
def base_parameters() -> ParameterSet:
    """The shipped parameter file (read once per process)."""
    return load_parameters()


@lru_cache(maxsize=2)
def protocol_for(name: str) -> Any:
    """A shipped protocol (read once per process)."""
    return load_protocol(name)


def iteration_parameters(
    values: tuple[tuple[str, float], ...] | None, draw: int, posterior: str
) -> ParameterSet:
    """The shipped parameters with posterior draw ``draw``'s values (cached file loads)."""
    base = base_parameters()
    if values is None:
        return base
    return base.with_values(dict(values), source=f"calibrated: posterior {posterior}, draw {draw}")


def experimental_arms(protocol: Any) -> tuple[str, ...]:
    """The protocol's randomized non-control arms (AALL1731: B and D)."""
    return tuple(
        name
        for name in protocol.arm_names
        if not protocol.arm(name).control and protocol.arm(name).randomized_after is not None
    )


def strategy_rows(
    patients: pd.DataFrame, blina_arms: tuple[str, ...], origin: Origin = "diagnosis"
) -> dict[str, NDArray[np.intp]]:
    """Row indices of the engine's table under each strategy (each child once per strategy).

    A randomized child has two rows (one per arm of the stratum), any other child one.
    ``origin="randomization"`` keeps the randomized children who reached randomization.
    """
    arm = patients["arm"].astype(object).to_numpy()
    on_blina = np.isin(arm, blina_arms)
    pid = patients["patient_id"].to_numpy(dtype=np.int64)
    twice = np.asarray(pd.Index(pid).duplicated(keep=False), dtype=bool)
    keep = np.ones(len(patients), dtype=bool)
    if origin == "randomization":
        keep = twice & np.isfinite(patients["randomization_day"].to_numpy(dtype=np.float64))
    return {
        "chemotherapy": np.flatnonzero(keep & ~on_blina),
        "blinatumomab": np.flatnonzero(keep & (~twice | on_blina)),
    }


@dataclass(frozen=True, eq=False)
class Children:
    """One simulation's children on each strategy (:data:`STRATEGIES`), as event histories."""

    histories: dict[str, EventHistory]
    on_blinatumomab: int
    """Children on a blinatumomab arm under the ``blinatumomab`` strategy."""
    differs: NDArray[np.intp]
    """Positions (the same in every strategy's history) of the children whose rows differ
    between the strategies: the others have the same costs and QALYs on both."""


def subset(h: EventHistory, rows: NDArray[np.intp]) -> EventHistory:
    """The children ``rows`` (distinct indices) of ``h``, their adverse events re-indexed.

    Every per-child array is taken at ``rows``; adverse events (``ae_*``) are those of these
    children, in their order in ``h``. A history field of another shape is refused, never
    silently carried over.
    """
    n = h.n
    pos = np.full(n, -1, dtype=np.int64)
    pos[rows] = np.arange(rows.size)
    ae_pos = pos[h.ae_child] if h.ae_child.size else np.empty(0, np.int64)
    ae_keep = ae_pos >= 0
    changes: dict[str, Any] = {}
    for f in fields(h):
        v = getattr(h, f.name)
        if f.name == "tables" or v is None:
            continue
        if f.name == "ae_child":
            changes[f.name] = ae_pos[ae_keep]
        elif f.name.startswith("ae_"):
            changes[f.name] = np.asarray(v)[ae_keep]
        elif isinstance(v, Mapping):
            changes[f.name] = {k: np.asarray(a)[rows] for k, a in v.items()}
        elif isinstance(v, np.ndarray) and v.shape == (n,):
            changes[f.name] = v[rows]
        else:
            raise TypeError(f"EventHistory.{f.name}: a per-child array or adverse events")
    return replace(h, **changes)


def simulate_histories(
    n: int, *, model_seed: int, params: ParameterSet, origin: Origin, protocol: str = PROTOCOL
) -> Children:
    """The first ``n`` eligible children of ``model_seed`` on both strategies, to age 100.

    The lifetime of each row of the engine's table is built once
    (:func:`~blinasim.economics.history_from_model` is row by row, its draws keyed by the
    child), then split by strategy: a child on the same arm under both strategies shares
    its row.
    """
    prot = protocol_for(protocol)
    cohort = screen_cohort(n, seed=model_seed, params=params).patients
    out = simulate(cohort, prot, params=params, seed=model_seed, horizon_days=DEFAULT_HORIZON_DAYS)
    pts = out.patients
    blina_arms = experimental_arms(prot)
    rows = strategy_rows(pts, blina_arms, origin)
    used_mask = np.zeros(len(pts), dtype=bool)  # = np.union1d of the two, without its sort
    used_mask[rows["chemotherapy"]] = True
    used_mask[rows["blinatumomab"]] = True
    used = np.flatnonzero(used_mask)
    whole = history_from_model(
        pts.iloc[used],
        out.adverse_events,
        cohort,
        prot,
        seed=model_seed,
        horizon_days=out.horizon_days,
        params=params,
    )
    hist = {name: subset(whole, np.searchsorted(used, rows[name])) for name in STRATEGIES}
    on = int(np.isin(pts["arm"].astype(object).to_numpy()[rows["blinatumomab"]], blina_arms).sum())
    differs = np.flatnonzero(rows["chemotherapy"] != rows["blinatumomab"])
    return Children(histories=hist, on_blinatumomab=on, differs=differs)


def outcomes(h: EventHistory) -> dict[str, float]:
    """Shares of children with a first relapse, HSCT, CAR-T, and dead by age 30."""
    n = max(h.n, 1)
    by30 = h.death_day <= (30.0 - h.age_years) * 365.25
    return {
        "relapse": float(np.isfinite(h.relapse_day).sum() / n),
        "hsct": float(np.isfinite(h.hsct_day).sum() / n),
        "cart": float(np.isfinite(h.cart_day).sum() / n),
        "death_by_age_30": float(by30.sum() / n),
    }


def psa_rows(
    children: Children, values: Values, *, origin: Origin, discounting: Mode
) -> list[dict[str, Any]]:
    """One row per strategy: costs by category, life-years, QALYs, vials (and undiscounted)."""
    rows = []
    for name in STRATEGIES:
        h = children.histories[name]
        t = evaluate(h, values, origin=origin, discounting=discounting)
        row: dict[str, Any] = {
            "arm": name,
            "children": t.n,
            "on_blinatumomab": children.on_blinatumomab if name == "blinatumomab" else 0,
            "costs": t.costs,
            "costs_undiscounted": t.costs_undiscounted,
            "life_years": t.life_years,
            "life_years_undiscounted": t.life_years_undiscounted,
            "qalys": t.qalys,
            "qalys_undiscounted": t.qalys_undiscounted,
            "vials": t.vials,
            "vials_undiscounted": t.vials_undiscounted,
        }
        for c in CATEGORIES:
            row[f"cost_{c}"] = t.costs_by_category[c]
            row[f"cost_{c}_undiscounted"] = t.costs_by_category_undiscounted[c]
        row.update(outcomes(h))
        rows.append(row)
    return rows


__all__ = [
    "OUTCOMES",
    "STRATEGIES",
    "Children",
    "base_parameters",
    "base_seed",
    "experimental_arms",
    "iteration_parameters",
    "iteration_seed",
    "outcomes",
    "protocol_for",
    "psa_rows",
    "simulate_histories",
    "strategy_rows",
    "subset",
]
