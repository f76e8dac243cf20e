"""Per-replicate estimates and their posterior-predictive summary (``summary.json``).

Each replicate is one draw of "the AALL1731 trial result" from the model's predictive
distribution (parameter uncertainty through the posterior draw, sampling variation
through the simulated children). A quantity's ``estimate`` is the mean over replicates,
``se`` their standard deviation (comparable to a published standard error) and
``lower``/``upper`` the 2.5% and 97.5% replicate quantiles. With a single replicate the
within-trial estimate, SE and 95% CI are reported instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def replicate_estimates(out: ReplicateOutput) -> dict[str, Any]:
    """The headline estimates of one simulated trial (flat dict of floats and dicts)."""
    df = validate_adtte(out.adtte, file=f"replicate {out.replicate}")
    dfs = analyze_endpoint(df, paramcd="DFS", milestone_days=MILESTONE_DAYS, control="chemotherapy")
    os_ = analyze_endpoint(df, paramcd="OS", milestone_days=MILESTONE_DAYS, control="chemotherapy")
    est: dict[str, Any] = {"replicate": out.replicate, "draw": out.draw}
    for a in dfs.arms:
        est[f"dfs_3y.{a.arm}"] = (
            a.milestone.estimate,
            a.milestone.se,
            a.milestone.lower,
            a.milestone.upper,
        )
        est[f"n_randomized.{a.arm}"] = a.n
    for a in os_.arms:
        est[f"os_3y.{a.arm}"] = (
            a.milestone.estimate,
            a.milestone.se,
            a.milestone.lower,
            a.milestone.upper,
        )
    for s, arms in dfs.by_stratum.items():
        for arm, e in arms.items():
            est[f"dfs_3y_by_stratum.{s}.{arm}"] = (e.estimate, e.se, e.lower, e.upper)
    hr = dfs.hazard_ratio
    est["hazard_ratio_dfs"] = (hr.estimate, hr.se, hr.lower, hr.upper)
    est["logrank_p_stratified"] = dfs.logrank_p
    rd = dfs.rmst_difference
    est["rmst_difference_days"] = (rd.estimate, rd.se, rd.lower, rd.upper)
    est["rmst_tau_days"] = dfs.tau_days
    p = out.patients
    cif = cumulative_incidence(
        p["dfs_days"].to_numpy(dtype=float),
        p["dfs_cause"].to_numpy(dtype=np.int64),
        group=p["arm"].to_numpy(),
    )
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
            est[f"relapse_ci_3y.{c.group}.{CAUSES[c.cause]}"] = (
                val,
                float(np.sqrt(max(var[0], 0.0))) if np.isfinite(var[0]) else float("nan"),
            )
    for arm in ARMS:
        m = (p["arm"] == arm).to_numpy()
        for ev in AE_EVENTS:
            est[f"ae_grade3plus.{arm}.{ev}"] = (
                float(p.loc[m, f"ae_{ev}"].mean()) if m.any() else float("nan")
            )
        rel = m & (p["dfs_cause"].isin([1, 2, 3])).to_numpy()
        est[f"cd19_negative_share.{arm}"] = (
            float(p.loc[rel, "relapse_cd19_negative"].mean()) if rel.any() else float("nan")
        )
    est["stopped_early"] = out.stopped_early
    est["crossed_over"] = out.consort["crossed_over"]
    return est


def _agg(values: Sequence[Any]) -> dict[str, float]:
    """Mean, SD and 2.5/97.5% quantiles over replicates (the within-trial CI for one)."""
    first = values[0]
    if len(values) == 1 and isinstance(first, tuple):
        out = {"estimate": first[0], "se": first[1]}
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


def summarize(
    estimates: Sequence[dict[str, Any]], *, published: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    """The ``summary.json`` document (numbers as proportions, days for times)."""
    keys = [
        k
        for k in estimates[0]
        if "." in k or k in ("hazard_ratio_dfs", "logrank_p_stratified", "rmst_difference_days")
    ]
    col = {k: [e[k] for e in estimates if k in e] for k in keys}
    n_rep = len(estimates)

    def nested(prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in col.items():
            if not k.startswith(prefix + "."):
                continue
            parts = k[len(prefix) + 1 :].split(".")
            node = out
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = v
        return out

    def agg_tree(node: dict[str, Any]) -> dict[str, Any]:
        return {k: agg_tree(v) if isinstance(v, dict) else _agg(v) for k, v in node.items()}

    hr = _agg(col["hazard_ratio_dfs"])
    if n_rep > 1:  # a ratio: summarize on the log scale, report the geometric mean
        logs = np.log([v[0] for v in col["hazard_ratio_dfs"] if v[0] > 0])
        lo, hi = np.quantile(logs, [0.025, 0.975])
        hr = {
            "estimate": float(np.exp(logs.mean())),
            "lower": float(np.exp(lo)),
            "upper": float(np.exp(hi)),
        }
    else:
        hr = {k: hr[k] for k in ("estimate", "lower", "upper")}
    pvals = np.array(col["logrank_p_stratified"], dtype=float)
    relapse = {
        arm: {site: _agg(v)["estimate"] for site, v in sites.items()}
        for arm, sites in nested("relapse_ci_3y").items()
    }
    ae = {
        arm: {ev: _agg(v)["estimate"] for ev, v in evs.items()}
        for arm, evs in nested("ae_grade3plus").items()
    }
    n_rand = {arm: round(float(np.mean(v))) for arm, v in nested("n_randomized").items()}
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
        "dfs_3y": agg_tree(nested("dfs_3y")),
        "dfs_3y_by_stratum": agg_tree(nested("dfs_3y_by_stratum")),
        "os_3y": agg_tree(nested("os_3y")),
        "hazard_ratio_dfs": hr,
        "logrank_p_stratified": float(np.median(pvals)),
        "logrank_power": {
            "p_below_0.05": float(np.mean(pvals < 0.05)),
            "p_below_0.001": float(np.mean(pvals < 0.001)),
        },
        "rmst_difference_days": {
            **{k: v for k, v in _agg(col["rmst_difference_days"]).items() if k != "se"},
            "tau_days": float(np.min([e["rmst_tau_days"] for e in estimates])),
        },
        "relapse_cumulative_incidence_3y": relapse,
        "cd19_negative_share_of_relapses": {
            arm: _agg(v)["estimate"] for arm, v in nested("cd19_negative_share").items()
        },
        "ae_grade3plus": ae,
        "stopped_early_fraction": float(np.mean([bool(e["stopped_early"]) for e in estimates])),
        "published": published,
        "run": meta,
    }


def estimates_frame(estimates: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per replicate, one column per scalar estimate (tuples keep the estimate)."""
    rows = []
    for e in estimates:
        rows.append({k: (v[0] if isinstance(v, tuple) else v) for k, v in e.items()})
    return pd.DataFrame(rows)
