"""Per-replicate estimates and their posterior-predictive summary (``summary.json``).

Each replicate is one draw of "the AALL1731 trial result" from the model's predictive
distribution (parameter uncertainty through the posterior draw, sampling variation
through the simulated children). A quantity's ``estimate`` is the mean over replicates,
``se`` their standard deviation (comparable to a published standard error) and
``lower``/``upper`` the 2.5% and 97.5% replicate quantiles. With a single replicate the
within-trial estimate, SE and 95% CI are reported instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from blinasim.analysis.core import analyze_endpoint
from blinasim.analysis.read import validate_adtte
from blinasim.jobs.simulate import AE_EVENTS, CAUSES, ReplicateOutput
from blinasim.stats import cumulative_incidence
from blinasim.units import DAYS_PER_YEAR

ARMS = ("blinatumomab", "chemotherapy")
STRATA = ("SR-Average", "SR-High")
MILESTONE_DAYS = 3 * DAYS_PER_YEAR


NAN = float("nan")


@dataclass(frozen=True)
class Interval:
    """An estimate with its standard error and, where there is one, its 95% interval."""

    estimate: float
    se: float
    lower: float | None = None
    upper: float | None = None

    def values(self) -> tuple[float, ...]:
        """``(estimate, se[, lower, upper])``: what :func:`_agg` summarizes."""
        if self.lower is None or self.upper is None:
            return (self.estimate, self.se)
        return (self.estimate, self.se, self.lower, self.upper)


def _interval(doc: Mapping[str, Any]) -> Interval:
    return Interval(**doc)


def _intervals(doc: Mapping[str, Any]) -> dict[str, Interval]:
    return {k: _interval(v) for k, v in doc.items()}


@dataclass(frozen=True)
class ReplicateEstimates:
    """The headline estimates of one simulated trial (proportions; times in days)."""

    replicate: int
    draw: int
    dfs_3y: Mapping[str, Interval]
    n_randomized: Mapping[str, int]
    os_3y: Mapping[str, Interval]
    dfs_3y_by_stratum: Mapping[str, Mapping[str, Interval]]
    hazard_ratio_dfs: Interval
    logrank_p_stratified: float
    rmst_difference_days: Interval
    rmst_tau_days: float
    relapse_ci_3y: Mapping[str, Mapping[str, Interval]]
    ae_grade3plus: Mapping[str, Mapping[str, float]]
    cd19_negative_share: Mapping[str, float]
    stopped_early: bool
    crossed_over: int
    lifetime: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    """Per arm, from diagnosis, the children's uncensored model histories to age 100:
    :data:`LIFETIME_KEYS` (HSCT and CAR-T cumulative incidence, OS, life expectancy)."""

    def to_json(self) -> dict[str, Any]:
        """Nested plain data (the checkpoint marker keeps it)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ReplicateEstimates:
        """The inverse of :meth:`to_json`."""
        return cls(
            replicate=int(doc["replicate"]),
            draw=int(doc["draw"]),
            dfs_3y=_intervals(doc["dfs_3y"]),
            n_randomized={k: int(v) for k, v in doc["n_randomized"].items()},
            os_3y=_intervals(doc["os_3y"]),
            dfs_3y_by_stratum={k: _intervals(v) for k, v in doc["dfs_3y_by_stratum"].items()},
            hazard_ratio_dfs=_interval(doc["hazard_ratio_dfs"]),
            logrank_p_stratified=float(doc["logrank_p_stratified"]),
            rmst_difference_days=_interval(doc["rmst_difference_days"]),
            rmst_tau_days=float(doc["rmst_tau_days"]),
            relapse_ci_3y={k: _intervals(v) for k, v in doc["relapse_ci_3y"].items()},
            ae_grade3plus={k: dict(v) for k, v in doc["ae_grade3plus"].items()},
            cd19_negative_share=dict(doc["cd19_negative_share"]),
            stopped_early=bool(doc["stopped_early"]),
            crossed_over=int(doc["crossed_over"]),
            lifetime={k: dict(v) for k, v in doc.get("lifetime", {}).items()},
        )

    def row(self) -> dict[str, Any]:
        """One row of ``estimates.parquet``: ``section.key[.key]`` -> the point estimate."""
        r: dict[str, Any] = {"replicate": self.replicate, "draw": self.draw}
        for arm, i in self.dfs_3y.items():
            r[f"dfs_3y.{arm}"] = i.estimate
            r[f"n_randomized.{arm}"] = self.n_randomized[arm]
        r.update({f"os_3y.{arm}": i.estimate for arm, i in self.os_3y.items()})
        for s, arms in self.dfs_3y_by_stratum.items():
            r.update({f"dfs_3y_by_stratum.{s}.{arm}": i.estimate for arm, i in arms.items()})
        r["hazard_ratio_dfs"] = self.hazard_ratio_dfs.estimate
        r["logrank_p_stratified"] = self.logrank_p_stratified
        r["rmst_difference_days"] = self.rmst_difference_days.estimate
        r["rmst_tau_days"] = self.rmst_tau_days
        for g, sites in self.relapse_ci_3y.items():
            r.update({f"relapse_ci_3y.{g}.{site}": i.estimate for site, i in sites.items()})
        for arm in ARMS:
            for ev, v in self.ae_grade3plus.get(arm, {}).items():
                r[f"ae_grade3plus.{arm}.{ev}"] = v
            r[f"cd19_negative_share.{arm}"] = self.cd19_negative_share.get(arm, NAN)
        r["stopped_early"] = self.stopped_early
        r["crossed_over"] = self.crossed_over
        for arm, vals in self.lifetime.items():
            r.update({f"lifetime.{arm}.{k}": v for k, v in vals.items()})
        return r


LIFETIME_KEYS = (
    "hsct_5y",
    "hsct_10y",
    "cart_5y",
    "cart_10y",
    "os_3y",
    "os_5y",
    "os_10y",
    "life_expectancy_years",
)


def lifetime_by_arm(p: pd.DataFrame) -> dict[str, dict[str, float]]:
    """:data:`LIFETIME_KEYS` per arm from the children's lifetime columns (no censoring).

    Cumulative incidences are shares of the arm's children transplanted (or given CAR-T)
    by 5 and 10 years from diagnosis, death being a competing event; OS is from diagnosis;
    life expectancy is the mean years from diagnosis to death or age 100.
    """
    out: dict[str, dict[str, float]] = {}
    if "life_years" not in p.columns:
        return out
    for arm in ARMS:
        g = p[(p["arm"] == arm).to_numpy()]
        if g.empty:
            continue
        y = DAYS_PER_YEAR
        hsct, cart = g["hsct_day"].to_numpy(float), g["cart_day"].to_numpy(float)
        death = g["lifetime_death_day"].to_numpy(float)
        out[arm] = {
            "hsct_5y": float(np.mean(hsct <= 5 * y)),
            "hsct_10y": float(np.mean(hsct <= 10 * y)),
            "cart_5y": float(np.mean(cart <= 5 * y)),
            "cart_10y": float(np.mean(cart <= 10 * y)),
            "os_3y": float(np.mean(death > 3 * y)),
            "os_5y": float(np.mean(death > 5 * y)),
            "os_10y": float(np.mean(death > 10 * y)),
            "life_expectancy_years": float(g["life_years"].mean()),
        }
    return out


def _milestone(m: Any) -> Interval:
    return Interval(m.estimate, m.se, m.lower, m.upper)


def replicate_estimates(out: ReplicateOutput) -> ReplicateEstimates:
    """The headline estimates of one simulated trial, all made by :mod:`blinasim.analysis`."""
    df = validate_adtte(out.adtte, file=f"replicate {out.replicate}")
    dfs = analyze_endpoint(df, paramcd="DFS", milestone_days=MILESTONE_DAYS, control="chemotherapy")
    os_ = analyze_endpoint(df, paramcd="OS", milestone_days=MILESTONE_DAYS, control="chemotherapy")
    p = out.patients
    cif = cumulative_incidence(
        p["dfs_days"].to_numpy(dtype=float),
        p["dfs_cause"].to_numpy(dtype=np.int64),
        group=p["arm"].to_numpy(),
    )
    relapse: dict[str, dict[str, Interval]] = {}
    for c in cif.curves:
        if c.cause in (1, 2, 3):
            v, var = c.at([MILESTONE_DAYS])
            # past the last follow-up cmprsk's timepoints gives NaN: carry the last value
            val = (
                float(v[0])
                if np.isfinite(v[0])
                else float(c.estimate[-1])
                if len(c.estimate)
                else 0.0
            )
            se = float(np.sqrt(max(var[0], 0.0))) if np.isfinite(var[0]) else NAN
            relapse.setdefault(str(c.group), {})[CAUSES[c.cause]] = Interval(val, se)
    ae: dict[str, dict[str, float]] = {}
    cd19: dict[str, float] = {}
    for arm in ARMS:
        m = (p["arm"] == arm).to_numpy()
        ae[arm] = {ev: float(p.loc[m, f"ae_{ev}"].mean()) if m.any() else NAN for ev in AE_EVENTS}
        rel = m & (p["dfs_cause"].isin([1, 2, 3])).to_numpy()
        cd19[arm] = float(p.loc[rel, "relapse_cd19_negative"].mean()) if rel.any() else NAN
    hr, rd = dfs.hazard_ratio, dfs.rmst_difference
    return ReplicateEstimates(
        replicate=out.replicate,
        draw=out.draw,
        dfs_3y={a.arm: _milestone(a.milestone) for a in dfs.arms},
        n_randomized={a.arm: a.n for a in dfs.arms},
        os_3y={a.arm: _milestone(a.milestone) for a in os_.arms},
        dfs_3y_by_stratum={
            s: {arm: _milestone(e) for arm, e in arms.items()} for s, arms in dfs.by_stratum.items()
        },
        hazard_ratio_dfs=Interval(hr.estimate, hr.se, hr.lower, hr.upper),
        logrank_p_stratified=dfs.logrank_p,
        rmst_difference_days=Interval(rd.estimate, rd.se, rd.lower, rd.upper),
        rmst_tau_days=dfs.tau_days,
        relapse_ci_3y=relapse,
        ae_grade3plus=ae,
        cd19_negative_share=cd19,
        stopped_early=out.stopped_early,
        crossed_over=out.consort["crossed_over"],
        lifetime=lifetime_by_arm(p),
    )


def _agg(values: Sequence[Any]) -> Agg:
    """Mean, SD and 2.5/97.5% quantiles over replicates (the within-trial CI for one)."""
    first = values[0]
    if len(values) == 1 and isinstance(first, tuple):
        out = Agg(estimate=first[0], se=first[1])
        if len(first) == 4:
            out.update({"lower": first[2], "upper": first[3]})
        return out
    x = np.array([v[0] if isinstance(v, tuple) else v for v in values], dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {
            "estimate": float("nan"),
            "se": float("nan"),
            "lower": float("nan"),
            "upper": float("nan"),
        }
    lo, hi = np.quantile(x, [0.025, 0.975])
    return {
        "estimate": float(x.mean()),
        "se": float(x.std(ddof=1)) if x.size > 1 else float("nan"),
        "lower": float(lo),
        "upper": float(hi),
    }


class Agg(TypedDict, total=False):
    """A quantity over replicates: mean, SD (``se``) and 2.5/97.5% quantiles."""

    estimate: float
    se: float
    lower: float
    upper: float


class RmstSummary(TypedDict):
    """The RMST difference over replicates and its horizon (the shortest trial's)."""

    estimate: float
    lower: float
    upper: float
    tau_days: float


class Summary(TypedDict):
    """The ``summary.json`` document of a run, typed: its keys are fixed."""

    what: str
    disclaimer: str
    replicates: int
    interval: str
    n_randomized: dict[str, int]
    dfs_3y: dict[str, Agg]
    dfs_3y_by_stratum: dict[str, dict[str, Agg]]
    os_3y: dict[str, Agg]
    hazard_ratio_dfs: Agg
    logrank_p_stratified: float
    logrank_power: dict[str, float]
    rmst_difference_days: RmstSummary
    relapse_cumulative_incidence_3y: dict[str, dict[str, float]]
    cd19_negative_share_of_relapses: dict[str, float]
    ae_grade3plus: dict[str, dict[str, float]]
    stopped_early_fraction: float
    lifetime: dict[str, dict[str, Agg]]
    published: dict[str, Any]
    run: dict[str, Any]


def _by_key(maps: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Each key's values over the replicates that have it (a stratum may be absent)."""
    out: dict[str, list[Any]] = {}
    for m in maps:
        for k, v in m.items():
            out.setdefault(k, []).append(v)
    return out


def _agg_intervals(maps: Sequence[Mapping[str, Interval]]) -> dict[str, Agg]:
    return {k: _agg([i.values() for i in v]) for k, v in _by_key(maps).items()}


def _agg_nested(
    maps: Sequence[Mapping[str, Mapping[str, Interval]]],
) -> dict[str, dict[str, Agg]]:
    return {k: _agg_intervals(v) for k, v in _by_key(maps).items()}


def summarize(
    estimates: Sequence[ReplicateEstimates], *, published: dict[str, Any], meta: dict[str, Any]
) -> Summary:
    """The ``summary.json`` document (numbers as proportions, days for times)."""
    n_rep = len(estimates)
    hr = _agg([e.hazard_ratio_dfs.values() for e in estimates])
    if n_rep > 1:  # a ratio: summarize on the log scale, report the geometric mean
        logs = np.log(
            [e.hazard_ratio_dfs.estimate for e in estimates if e.hazard_ratio_dfs.estimate > 0]
        )
        lo, hi = np.quantile(logs, [0.025, 0.975])
        hr = Agg(
            estimate=float(np.exp(logs.mean())),
            lower=float(np.exp(lo)),
            upper=float(np.exp(hi)),
        )
    else:
        hr = Agg(estimate=hr["estimate"], lower=hr["lower"], upper=hr["upper"])
    rmst = _agg([e.rmst_difference_days.values() for e in estimates])
    pvals = np.array([e.logrank_p_stratified for e in estimates], dtype=float)
    relapse = {
        arm: {site: v["estimate"] for site, v in sites.items()}
        for arm, sites in _agg_nested([e.relapse_ci_3y for e in estimates]).items()
    }
    ae = {
        arm: {ev: _agg(v)["estimate"] for ev, v in _by_key(evs).items()}
        for arm, evs in _by_key([e.ae_grade3plus for e in estimates]).items()
    }
    n_rand = {
        arm: round(float(np.mean(v)))
        for arm, v in _by_key([e.n_randomized for e in estimates]).items()
    }
    return {
        "what": "Posterior-predictive replication of COG AALL1731 (standard-risk B-ALL, "
        "chemotherapy with or without blinatumomab) by the blinasim mechanistic model.",
        "disclaimer": meta["disclaimer"],
        "replicates": n_rep,
        "interval": (
            "95% posterior-predictive interval over replicates (2.5%-97.5% quantiles); "
            "se is the standard deviation over replicates"
            if n_rep > 1
            else "one replicate: within-trial estimate, standard error and 95% CI"
        ),
        "n_randomized": n_rand,
        "dfs_3y": _agg_intervals([e.dfs_3y for e in estimates]),
        "dfs_3y_by_stratum": _agg_nested([e.dfs_3y_by_stratum for e in estimates]),
        "os_3y": _agg_intervals([e.os_3y for e in estimates]),
        "hazard_ratio_dfs": hr,
        "logrank_p_stratified": float(np.median(pvals)),
        "logrank_power": {
            "p_below_0.05": float(np.mean(pvals < 0.05)),
            "p_below_0.001": float(np.mean(pvals < 0.001)),
        },
        "rmst_difference_days": RmstSummary(
            estimate=rmst["estimate"],
            lower=rmst["lower"],
            upper=rmst["upper"],
            tau_days=float(np.min([e.rmst_tau_days for e in estimates])),
        ),
        "relapse_cumulative_incidence_3y": relapse,
        "cd19_negative_share_of_relapses": {
            arm: _agg(v)["estimate"]
            for arm, v in _by_key([e.cd19_negative_share for e in estimates]).items()
        },
        "ae_grade3plus": ae,
        "stopped_early_fraction": float(np.mean([e.stopped_early for e in estimates])),
        "lifetime": {
            arm: {k: _agg(v) for k, v in _by_key(vals).items()}
            for arm, vals in _by_key([e.lifetime for e in estimates]).items()
        },
        "published": published,
        "run": meta,
    }


def estimates_frame(estimates: Sequence[ReplicateEstimates]) -> pd.DataFrame:
    """One row per replicate, one column per scalar estimate (intervals keep the estimate)."""
    return pd.DataFrame([e.row() for e in estimates])
