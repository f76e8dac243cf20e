"""Tables and rows of the run report, from a run folder's summary and tables.

Each function takes what the folder holds (``summary.json`` as a dict, ``trials.parquet``,
``parameters.parquet``, the pooled patients) and returns a table or figure rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from blinasim.reports import tables
from blinasim.reports.figures import ForestRow, StepCurve
from blinasim.stats import cox_ph

ARMS = ("blinatumomab", "chemotherapy")
STRATA = ("SR-Average", "SR-High")
# dfs_cause codes of patients.parquet (0: censored)
CAUSES = {1: "marrow", 2: "cns_isolated", 3: "combined", 4: "death or second malignancy"}
SPENDING = {
    "asOF": "Lan-DeMets O'Brien-Fleming-like alpha spending",
    "asP": "Lan-DeMets Pocock-like alpha spending",
    "asHSD": "Hwang-Shih-DeCani alpha spending",
    "asKD": "Kim-DeMets power alpha spending",
    "OF": "O'Brien-Fleming boundaries",
    "P": "Pocock boundaries",
    "WT": "Wang-Tsiatis boundaries",
}


def comparison_table(s: dict[str, Any]) -> pd.DataFrame:
    """Simulated (95% interval) beside published (SE) and the published number's role."""
    pub = s["published"]
    rows: list[dict[str, Any]] = []

    def add(what: str, sim: dict[str, Any] | None, p: dict[str, Any] | None) -> None:
        if sim is None:
            return
        ok = tables.inside(sim, p)
        rows.append(
            {
                "quantity": what,
                "simulated (95% interval)": tables.estimate_interval(sim),
                "published (SE)": tables.published_cell(p),
                "role": tables.role_cell(p),
                "published inside interval": "–" if ok is None else ("yes" if ok else "NO"),
                "_flag": ok is False,
            }
        )

    for arm in ARMS:
        add(f"3-year DFS, {arm}", s["dfs_3y"].get(arm), pub.get("dfs_3y", {}).get(arm))
    for st in STRATA:
        for arm in ARMS:
            add(
                f"3-year DFS, {st}, {arm}",
                s["dfs_3y_by_stratum"].get(st, {}).get(arm),
                pub.get("dfs_3y_by_stratum", {}).get(st, {}).get(arm),
            )
    for arm in ARMS:
        add(f"3-year OS, {arm}", s["os_3y"].get(arm), pub.get("os_3y", {}).get(arm))
    return pd.DataFrame(rows)


def ae_table(s: dict[str, Any]) -> pd.DataFrame:
    """Grade >= 3 adverse events per arm: simulated, published (events/n) and role."""
    pub = s["published"].get("ae_grade3plus", {})
    rows = []
    for arm in ARMS:
        for ev, v in s["ae_grade3plus"].get(arm, {}).items():
            p = pub.get(arm, {}).get(ev)
            rows.append(
                {
                    "arm": arm,
                    "event": tables.label(ev),
                    "simulated": tables.pct(v),
                    "published (events/n)": tables.published_cell(p),
                    "role": tables.role_cell(p),
                }
            )
    return pd.DataFrame(rows)


def relapse_table(s: dict[str, Any]) -> pd.DataFrame:
    """3-year cumulative incidence of relapse by site (sites in words) and CD19-negative share."""
    ci = s["relapse_cumulative_incidence_3y"]
    sites = sorted({k for a in ARMS for k in ci.get(a, {})}, key=lambda k: (k != "marrow", k))
    rows = []
    for a in ARMS:
        row: dict[str, Any] = {"arm": a}
        for k in sites:
            row[tables.label(k)] = tables.pct(ci.get(a, {}).get(k), 2)
        share = s["cd19_negative_share_of_relapses"].get(a)
        row["CD19-negative share of relapses"] = tables.pct(share, 0)
        rows.append(row)
    return pd.DataFrame(rows)


def trials_table(trials: pd.DataFrame) -> pd.DataFrame:
    """How the simulated trials ended: decision, how many, data cuts."""
    rows = []
    for decision, g in trials.groupby("decision", sort=True):
        cuts = sorted(map(str, g["data_cut"]))
        rows.append(
            {
                "decision": str(decision),
                "trials": f"{len(g)} of {len(trials)}",
                "data cut": cuts[0] if cuts[0] == cuts[-1] else f"{cuts[0]} to {cuts[-1]}",
            }
        )
    return pd.DataFrame(rows)


def consort_boxes(trials: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """CONSORT flow of the mean trial (counts averaged over every replicate)."""

    def mean(col: str) -> float:
        return float(trials[col].mean()) if col in trials else 0.0

    groups = [c.split(".", 1)[1] for c in trials.columns if c.startswith("by_risk_group.")]
    b, c = ARMS
    return [
        ("Screened children with B-ALL", [f"{mean('screened'):,.0f} (mean per trial)"]),
        ("Enrolled: NCI standard risk", [f"{mean('enrolled'):,.0f}"]),
        (
            "Risk group at end of induction",
            [", ".join(f"{g} {mean('by_risk_group.' + g):,.0f}" for g in groups)],
        ),
        (
            "Reached randomization",
            [
                f"{mean('reached_randomization'):,.0f}; not randomized after the stop "
                f"{mean('not_randomized_closed'):,.0f}"
            ],
        ),
        (
            "Blinatumomab + chemotherapy | Chemotherapy",
            [
                f"randomized {mean('randomized.' + b):,.0f} | "
                f"randomized {mean('randomized.' + c):,.0f}",
                f"lost {mean('lost_to_follow_up.' + b):,.1f} | "
                f"lost {mean('lost_to_follow_up.' + c):,.1f}; "
                f"crossed over {mean('crossed_over'):,.1f}",
            ],
        ),
    ]


def forest_rows(p: pd.DataFrame) -> list[ForestRow]:
    """Stratified-Cox DFS HR (blinatumomab vs chemotherapy) by subgroup, pooled replicates."""
    p = p.assign(
        age_group=np.where(p["age_years"] < 6, "1 to < 6 years", "6 to < 10 years"),
        eoi_mrd=np.select(
            [p["eoi_hts_indeterminate"].astype(bool), p["eoi_hts"] > 0, p["eoi_hts"] <= 0],
            ["HTS indeterminate", "HTS detectable", "HTS undetectable"],
            default="not done",
        ),
    )
    groups: list[tuple[str, str | None, list[str]]] = [
        ("All randomized", None, []),
        ("Stratum", "stratum", list(STRATA)),
        ("Genetics", "genetics", ["favorable", "neutral", "unfavorable"]),
        ("Sex", "sex", ["F", "M"]),
        ("Age", "age_group", ["1 to < 6 years", "6 to < 10 years"]),
        ("End-of-induction MRD", "eoi_mrd", ["HTS undetectable", "HTS detectable"]),
        ("CNS status", "cns_status", ["CNS1", "CNS2"]),
    ]
    rows: list[ForestRow] = []
    for title, col, levels in groups:
        if col is None:
            rows.append(_hr_row(title, p))
            continue
        rows.append(ForestRow(title, 0, 0, 0, 0, 0, header=True))
        for lv in levels + (["HTS indeterminate"] if col == "eoi_mrd" else []):
            sub = p[p[col] == lv]
            if len(sub):
                rows.append(_hr_row(f"  {lv}", sub))
    return rows


def _hr_row(label: str, d: pd.DataFrame) -> ForestRow:
    t = d["dfs_days"].to_numpy(float)
    e = d["dfs_event"].to_numpy(np.int64)
    x = (d["arm"] == ARMS[0]).to_numpy(float)
    ev = int(e.sum())
    nan = float("nan")
    if ev < 5 or x.min() == x.max():
        return ForestRow(label, nan, nan, nan, len(d), ev)
    strata = d["replicate"].astype(str) + "/" + d["stratum"].astype(str)
    fit = cox_ph(t, e, x, strata=strata.to_numpy())
    if not fit.converged or not np.isfinite(fit.hr_upper[0]):
        return ForestRow(label, nan, nan, nan, len(d), ev)
    return ForestRow(
        label, float(fit.hr[0]), float(fit.hr_lower[0]), float(fit.hr_upper[0]), len(d), ev
    )


def _value_text(v: Any) -> str:
    """A parameter value in a table cell: numbers to 4 digits, mappings as ``k: v`` lines."""
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_value_text(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(_value_text(x) for x in v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def drawn_table(draws: pd.DataFrame, units: dict[str, str]) -> pd.DataFrame:
    """Per posterior parameter: the values the replicates ran with (mean, 2.5%-97.5%)."""
    keys = [c for c in draws.columns if c not in ("replicate", "draw")]
    rows = []
    for k in keys:
        v = draws[k].to_numpy(dtype=np.float64)
        q = np.quantile(v, [0.025, 0.975])
        rows.append(
            {
                "parameter": k,
                "mean over replicates": f"{v.mean():.4g}",
                "2.5% to 97.5%": f"{q[0]:.4g} to {q[1]:.4g}",
                "unit": units.get(k, ""),
            }
        )
    return pd.DataFrame(rows)


def assumptions_table(table: list[dict[str, Any]], drawn: set[str]) -> pd.DataFrame:
    """Every parameter that is an assumption or calibrated; drawn ones say so."""
    rows = []
    for r in table:
        if r["provenance"] == "published":
            continue
        rows.append(
            {
                "parameter": r["key"],
                "value": "posterior draw per replicate (table above)"
                if r["key"] in drawn
                else _value_text(r["value"]),
                "unit": r["unit"] or "",
                "provenance": r["provenance"],
                "source": r["source"],
            }
        )
    return pd.DataFrame(rows)


def design_text(spec: dict[str, Any] | None, looks: pd.DataFrame | None, design: str) -> str:
    """The monitoring plan in words, from the design recorded in the folder."""
    mon = (spec or {}).get("monitoring") or {}
    if mon:
        spend = SPENDING.get(str(mon.get("spending")), f"{mon.get('spending')} spending")
        side = "one-sided" if mon.get("sided", 1) == 1 else "two-sided"
        text = f"{spend} ({side} alpha {mon.get('alpha')})"
    else:
        text = f"the alpha spending of design {design} (not recorded in this results folder)"
    if looks is not None and len(looks):
        first = looks[looks["replicate"] == looks["replicate"].min()]
        text += " at the looks " + ", ".join(map(str, first["name"]))
    return text


__all__ = [
    "ARMS",
    "CAUSES",
    "STRATA",
    "ae_table",
    "assumptions_table",
    "comparison_table",
    "consort_boxes",
    "design_text",
    "drawn_table",
    "forest_rows",
    "relapse_table",
    "trials_table",
]


LIFETIME_ROWS = (
    ("hsct_5y", "Allogeneic HSCT by 5 years"),
    ("hsct_10y", "Allogeneic HSCT by 10 years"),
    ("cart_5y", "CAR-T by 5 years"),
    ("cart_10y", "CAR-T by 10 years"),
    ("os_3y", "Overall survival at 3 years"),
    ("os_5y", "Overall survival at 5 years"),
    ("os_10y", "Overall survival at 10 years"),
    ("life_expectancy_years", "Life expectancy (years from diagnosis, to age 100)"),
)


def lifetime_table(s: dict[str, Any]) -> pd.DataFrame:
    """Per arm: HSCT and CAR-T cumulative incidence, OS from diagnosis, life expectancy."""
    life = s.get("lifetime") or {}
    rows = []
    for key, label in LIFETIME_ROWS:
        row: dict[str, Any] = {"": label}
        for a in ARMS:
            d = life.get(a, {}).get(key)
            if key == "life_expectancy_years":
                row[a] = "–" if d is None else _years_interval(d)
            else:
                row[a] = tables.estimate_interval(d, 1)
        rows.append(row)
    return pd.DataFrame(rows)


def _years_interval(d: dict[str, Any]) -> str:
    est, lo, hi = d.get("estimate"), d.get("lower"), d.get("upper")
    if est is None or not np.isfinite(est):
        return "–"
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{est:.1f}"
    return f"{est:.1f} ({lo:.1f} to {hi:.1f})"


def lifetime_curves(p: pd.DataFrame, column: str, *, survival: bool = False) -> list[StepCurve]:
    """Per arm, the share of children whose ``column`` (a day from diagnosis) has passed.

    No censoring (model histories); ``survival`` gives one minus it (for death days).
    """
    out = []
    for a in ARMS:
        d = np.sort(p.loc[(p["arm"] == a).to_numpy(), column].to_numpy(dtype=float))
        if d.size == 0:
            continue
        t = d[np.isfinite(d)]
        share = np.arange(1, t.size + 1) / d.size
        out.append(StepCurve(label=a, time=t, value=1.0 - share if survival else share))
    return out
