"""The HTML report of ``blinasim analyze`` / ``blinasim example``, from its results folder.

Reads ``summary.json`` (every endpoint's estimates and tests, the data's origin and the
statement the outputs carry) and ``data.parquet`` (the analysed rows: PARAMCD, ARM, AVAL,
EVENT and, when present, STRATUM, CAUSE, REPLICATE) for the curves.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from blinasim.reports import curves, figures, tables
from blinasim.reports.folder import ResultsFolder
from blinasim.reports.html import Section, render

ENDPOINT_NAMES = {
    "DFS": "Disease-free survival",
    "EFS": "Event-free survival",
    "OS": "Overall survival",
    "PFS": "Progression-free survival",
}
METHODS = (
    "Kaplan-Meier estimates with Greenwood standard errors and log-log confidence "
    "intervals; log-rank test (stratified when a STRATUM column is present); Cox "
    "proportional-hazards model with Efron ties (stratified likewise); restricted mean "
    "survival time (RMST) difference with the variance of R's survfit; Aalen-Johansen "
    "cumulative incidence and Gray's test when a CAUSE column codes competing events. "
    "These match R survival and cmprsk to 1e-6 in blinasim's test suite. An estimate the "
    "data cannot give (a milestone past an arm's last follow-up, a hazard ratio without "
    "events) is shown as not estimable, never extrapolated. Estimates are shown as "
    "estimate ± standard error (SE) with 95% confidence intervals."
)
K_ARM_METHODS = (
    "With more than two arms: the log-rank test is the k-sample test of all arms together "
    "(chi-square with k - 1 degrees of freedom, R survdiff); the hazard ratios of each arm "
    "against the reference arm come from one Cox model with the arm as a factor (R coxph); "
    "each arm is also compared with the reference arm by a log-rank test on the two arms' "
    "patients, and these pairwise p-values are adjusted for multiplicity by Holm's "
    "step-down method (R p.adjust, method holm), which controls the family-wise error "
    "rate; the RMST differences use one horizon, the shortest last follow-up of any arm "
    "if it comes before the requested one."
)
DATA_COLS = ("PARAMCD", "ARM", "AVAL", "EVENT", "CAUSE", "REPLICATE")


def arm_order(e: dict[str, Any]) -> list[str]:
    """The reference arm first, then the experimental arm(s)."""
    return [e["control"], *e.get("treatments", [e["treatment"]])]


def endpoint_name(paramcd: str) -> str:
    """Readable name of an endpoint code."""
    return ENDPOINT_NAMES.get(paramcd, paramcd)


def milestone_text(d: dict[str, Any] | None) -> str:
    """``87.9% ± 2.1% (SE)``, or why there is none."""
    if not d:
        return "–"
    if d.get("not_estimable"):
        return f"not estimable: {d['not_estimable']}"
    se = d.get("se")
    if tables.is_missing(se):
        return f"{tables.pct(d['estimate'])} (SE not estimable)"
    return f"{tables.pct(d['estimate'])} ± {tables.pct(se)}"


def _interval(d: dict[str, Any]) -> str:
    if d.get("not_estimable"):
        return f"not estimable: {d['not_estimable']}"
    if tables.is_missing(d.get("lower")) or tables.is_missing(d.get("upper")):
        return "–"
    return f"{tables.pct(d['lower'])} to {tables.pct(d['upper'])}"


def milestone_table(e: dict[str, Any]) -> pd.DataFrame:
    """Per arm: n, events, milestone survival ± SE with 95% CI, median."""
    yrs = e["milestone_days"] / curves.DAYS_PER_YEAR
    rows = []
    for arm in arm_order(e):
        m = e["milestone_survival"][arm]
        med = e["median_days"].get(arm)
        rows.append(
            {
                "arm": arm,
                "n": e["n"][arm],
                "events": e["events"][arm],
                f"{yrs:g}-year estimate ± SE": milestone_text(m),
                "95% CI": _interval(m),
                "median (days)": "not reached" if tables.is_missing(med) else f"{med:,.0f}",
            }
        )
    return pd.DataFrame(rows)


def _rmst_text(rd: dict[str, Any]) -> str:
    if rd.get("not_estimable"):
        return f"not estimable: {rd['not_estimable']}"
    return f"{rd['estimate']:,.1f} days (95% CI {rd['lower']:,.1f} to {rd['upper']:,.1f})"


def k_arm_tests_table(e: dict[str, Any]) -> pd.DataFrame:
    """More than two arms: the k-sample log-rank test, then each arm against the control."""
    lr = e["logrank"]
    strat = " (stratified)" if lr.get("stratified") else ""
    rows = [
        {
            "statistic": f"log-rank{strat}, all {len(arm_order(e))} arms",
            "value": f"not estimable: {lr['not_estimable']}"
            if lr.get("not_estimable")
            else f"χ² = {lr['chisq']:.2f}, {lr['df']} df",
            "p-value": tables.p_value(lr.get("p")),
        }
    ]
    for c in e["comparisons"]:
        vs = f"{c['arm']} vs {e['control']}"
        clr = c["logrank"]
        rows += [
            {
                "statistic": f"Cox hazard ratio{strat}, {vs}",
                "value": tables.hazard_ratio(c["hazard_ratio"], 3),
                "p-value": tables.p_value(c["hazard_ratio"].get("p")),
            },
            {
                "statistic": f"log-rank{strat}, {vs} ({e['multiplicity']}-adjusted p)",
                "value": f"not estimable: {clr['not_estimable']}"
                if clr.get("not_estimable")
                else f"χ² = {clr['chisq']:.2f}, unadjusted p {tables.p_value(clr.get('p'))}",
                "p-value": tables.p_value(clr.get("p_holm")),
            },
            {
                "statistic": f"RMST difference to {e['rmst_tau_days']:,.0f} days, {vs}",
                "value": _rmst_text(c["rmst_difference_days"]),
                "p-value": "",
            },
        ]
    return pd.DataFrame(rows)


def tests_table(e: dict[str, Any]) -> pd.DataFrame:
    """Log-rank, Cox HR and RMST difference in one table (each arm's with more than two)."""
    if e.get("comparisons"):
        return k_arm_tests_table(e)
    lr, hr, rd = e["logrank"], e["hazard_ratio"], e["rmst_difference_days"]
    strat = " (stratified)" if lr.get("stratified") else ""
    rmst = (
        f"not estimable: {rd['not_estimable']}"
        if rd.get("not_estimable")
        else f"{rd['estimate']:,.1f} days (95% CI {rd['lower']:,.1f} to {rd['upper']:,.1f})"
    )
    return pd.DataFrame(
        [
            {
                "statistic": f"log-rank{strat}",
                "value": f"not estimable: {lr['not_estimable']}"
                if lr.get("not_estimable")
                else f"χ² = {lr['chisq']:.2f}",
                "p-value": tables.p_value(lr.get("p")),
            },
            {
                "statistic": f"Cox hazard ratio{strat}, {e['treatment']} vs {e['control']}",
                "value": tables.hazard_ratio(hr, 3),
                "p-value": tables.p_value(hr.get("p")),
            },
            {
                "statistic": f"RMST difference to {rd['tau_days']:,.0f} days",
                "value": rmst,
                "p-value": "",
            },
        ]
    )


def nph_table(e: dict[str, Any]) -> pd.DataFrame:
    """Weighted log-rank tests, MaxCombo and the milestone test (z > 0 favours treatment)."""
    n = e["nonproportional_hazards"]
    rows = [
        {
            "test": f"weighted log-rank {r['test']}"
            + (" (= log-rank)" if r["test"] == "FH(rho=0, gamma=0)" else ""),
            "z": f"{r['z']:.2f}",
            "one-sided p": tables.p_value(r["p_one_sided"]),
        }
        for r in n["weighted_logrank"]
    ]
    mc = n["maxcombo"]
    rows.append(
        {
            "test": f"MaxCombo of {', '.join(mc['tests'])}",
            "z": f"{mc['z']:.2f}",
            "one-sided p": tables.p_value(mc["p_one_sided"]),
        }
    )
    ms = n["milestone"]
    yrs = ms["days"] / curves.DAYS_PER_YEAR
    if ms.get("not_estimable"):
        rows.append(
            {
                "test": f"milestone at {yrs:g} years",
                "z": f"not estimable: {ms['not_estimable']}",
                "one-sided p": "",
            }
        )
    else:
        rows.append(
            {
                "test": f"milestone at {yrs:g} years (difference {tables.pct(ms['difference'])})",
                "z": f"{ms['z']:.2f}",
                "one-sided p": tables.p_value(ms["p_one_sided"]),
            }
        )
    return pd.DataFrame(rows)


NPH_CAPTION = (
    "Tests for non-proportional hazards, {treatment} vs {control}{strat}: z > 0 favours "
    "{treatment}; one-sided p-values (R simtrial's formulas: Fleming-Harrington FH(rho, gamma) "
    "weights S(t-)^rho (1 - S(t-))^gamma, Magirr-Burman weights capped at 2, MaxCombo p from "
    "the multivariate normal distribution of the four FH tests)"
)


def _with_interval(r: dict[str, Any], h: str) -> str:
    est = tables.pct(r[f"{h}_survival"])
    lo, hi = r.get(f"{h}_lower"), r.get(f"{h}_upper")
    if tables.is_missing(lo) or tables.is_missing(hi):
        return est
    return f"{est} ({tables.pct(lo)} to {tables.pct(hi)})"


def extrapolation_table(e: dict[str, Any]) -> pd.DataFrame:
    """Per arm and distribution: AIC, BIC and survival at the milestone and the horizon."""
    pf = e["parametric_fits"]
    h1, h2 = (h / curves.DAYS_PER_YEAR for h in pf["horizons_days"])
    best: dict[str, float] = {}
    for r in pf["fits"]:
        if r["arm"] not in best or r["aic"] < best[r["arm"]]:
            best[r["arm"]] = r["aic"]
    rows = []
    for r in pf["fits"]:
        rows.append(
            {
                "arm": r["arm"],
                "model": r["distribution"] + ("" if r["converged"] else " (not converged)"),
                "AIC": f"{r['aic']:,.1f}",
                "ΔAIC": f"{r['aic'] - best[r['arm']]:.1f}",
                "BIC": f"{r['bic']:,.1f}",
                f"{h1:g} years": _with_interval(r, "milestone"),
                f"{h2:g} years": _with_interval(r, "horizon"),
            }
        )
    return pd.DataFrame(rows)


EXTRAPOLATION_CAPTION = (
    "Parametric models fitted to each arm, for extrapolation (NICE DSU TSD 14): AIC and BIC "
    "(lower fits the observed data better; ΔAIC < 2 is no real difference) and predicted "
    "survival with 95% delta-method intervals. A good fit to the follow-up does not make an "
    "extrapolation plausible: judge it against clinical knowledge and external data."
)


def _cif_table(e: dict[str, Any], names: dict[int, str]) -> pd.DataFrame:
    rows = []
    for r in e["cumulative_incidence_milestone"]:
        note = r.get("not_estimable") or ""
        cause = int(r["cause"])
        rows.append(
            {
                "arm": r["group"],
                "cause": names.get(cause, f"cause {cause}"),
                "estimate": f"not estimable: {note}" if note else tables.pct(r["estimate"], 2),
                "SE": "–" if note else tables.pct(r.get("std_err"), 2),
                "Gray p": tables.p_value(e.get("gray_p", {}).get(str(cause))),
            }
        )
    return pd.DataFrame(rows)


def endpoint_section(e: dict[str, Any], data: pd.DataFrame) -> Section:
    """One endpoint of a single data set: KM figure, estimates, tests, strata, CIF."""
    yrs = e["milestone_days"] / curves.DAYS_PER_YEAR
    arms = tuple(arm_order(e))
    sec = Section(
        endpoint_name(e["paramcd"]),
        lead=f"{e['treatment']} versus {e['control']}; milestone {yrs:g} years.",
    )
    d = data[data["PARAMCD"] == e["paramcd"]]
    cs = curves.km_curves(d, group="ARM", time="AVAL", event="EVENT", order=arms, censor_ticks=True)
    floor = curves.survival_floor(cs, xmax_days=float(d["AVAL"].max()), step=0.1)
    sec.figure(
        figures.step_plot(
            cs,
            title=endpoint_name(e["paramcd"]),
            ylabel=endpoint_name(e["paramcd"]),
            ylim=(floor, 1.0),
        ),
        "Kaplan-Meier estimates with 95% pointwise confidence bands (log-log) and "
        "numbers at risk; ticks mark censored observations."
        + (f" The y axis starts at {floor:.0%} (marked //)." if floor > 0 else ""),
    )
    sec.table(milestone_table(e), "Estimates by arm (± standard error)")
    sec.table(
        tests_table(e),
        "Comparison"
        if not e.get("comparisons")
        else f"Comparisons with {e['control']} (pairwise p-values {e['multiplicity']}-adjusted)",
    )
    nph = e.get("nonproportional_hazards")
    if nph and nph.get("not_estimable"):
        sec.text(f"Tests for non-proportional hazards: not estimable: {nph['not_estimable']}.")
    elif nph:
        caption = NPH_CAPTION.format(
            treatment=e["treatment"],
            control=e["control"],
            strat=" (stratified)" if nph.get("stratified") else "",
        )
        sec.table(nph_table(e), caption)
    if (e.get("parametric_fits") or {}).get("fits"):
        sec.table(extrapolation_table(e), EXTRAPOLATION_CAPTION)
    strata = e.get("milestone_survival_by_stratum") or {}
    if len(strata) > 1:
        sec.table(
            pd.DataFrame(
                [
                    {"stratum": s, **{a: milestone_text(v.get(a)) for a in arms}}
                    for s, v in strata.items()
                ]
            ),
            f"{yrs:g}-year estimate ± SE by stratum",
        )
    if e.get("cumulative_incidence_milestone"):
        causes = sorted({int(r["cause"]) for r in e["cumulative_incidence_milestone"]})
        names = {k: f"cause {k}" for k in causes}
        cif = curves.cif_curves(d, group="ARM", time="AVAL", cause="CAUSE", names=names)
        sec.figure(
            figures.step_plot(
                cif,
                title="Cumulative incidence by cause (competing risks)",
                ylabel="Cumulative incidence",
                ylim=(0.0, curves.incidence_ceiling(cif)),
                start_value=0.0,
            ),
            "Aalen-Johansen cumulative incidence by cause.",
        )
        sec.table(_cif_table(e, names), f"Cumulative incidence at {yrs:g} years")
    return sec


def _pooled_value(q: str, v: Any) -> str:
    if tables.is_missing(v):
        return "–"
    if q.startswith("hazard"):
        return f"{v:.3f}"
    if q.startswith("RMST"):
        return f"{v:,.1f}"
    if q.startswith("log-rank p"):
        return f"{v:.3g}"
    return tables.pct(v)


def pooled_table(e: dict[str, Any]) -> pd.DataFrame:
    """Per quantity: mean and 2.5%-97.5% quantiles across replicates, or why not."""
    rows = []
    for r in e["pooled"]:
        q = str(r["quantity"])
        if r.get("not_estimable"):
            mean, rng = f"not estimable: {r['not_estimable']}", "–"
        else:
            mean = _pooled_value(q, r.get("mean"))
            lo, hi = r.get("q2.5"), r.get("q97.5")
            rng = (
                "–"
                if tables.is_missing(lo)
                else f"{_pooled_value(q, lo)} to {_pooled_value(q, hi)}"
            )
        rows.append({"quantity": q, "mean": mean, "2.5%-97.5%": rng, "estimable": r["estimable"]})
    return pd.DataFrame(rows)


def per_replicate_table(e: dict[str, Any]) -> pd.DataFrame:
    """One row per replicate, numbers formatted; not-estimable values explained."""
    t = pd.DataFrame(e["per_replicate"])
    for c in t.columns:
        if c in ("replicate", "not estimable") or c.startswith(("n ", "events ")):
            continue
        t[c] = [_pooled_value(c, v) for v in t[c]]
    return t


def pooled_section(e: dict[str, Any], data: pd.DataFrame) -> Section:
    """One endpoint of a file of several simulated trials."""
    yrs = e["milestone_days"] / curves.DAYS_PER_YEAR
    r = int(e["replicates"])
    sec = Section(
        endpoint_name(e["paramcd"]),
        lead=f"{e['treatment']} versus {e['control']}; milestone {yrs:g} years; {r} replicates "
        f"({e['replicate_column']}) analysed one by one, then pooled.",
    )
    d = data[data["PARAMCD"] == e["paramcd"]]
    cs = curves.km_curves(
        d, group="ARM", time="AVAL", event="EVENT", order=tuple(arm_order(e)),
        replicate="REPLICATE", band="none",
    )  # fmt: skip
    floor = curves.survival_floor(cs, xmax_days=float(d["AVAL"].max()), step=0.1)
    sec.figure(
        figures.step_plot(
            cs,
            title=f"{endpoint_name(e['paramcd'])}, {r} replicates pooled",
            ylabel=endpoint_name(e["paramcd"]),
            ylim=(floor, 1.0),
        ),
        "Kaplan-Meier estimates of all replicates' patients together (no bands: the "
        "spread across replicates is in the table); numbers at risk per replicate."
        + (f" The y axis starts at {floor:.0%} (marked //)." if floor > 0 else ""),
    )
    sec.table(pooled_table(e), "Pooled across replicates: mean and 2.5%-97.5% quantiles")
    sec.table(per_replicate_table(e), "Each replicate")
    return sec


def render_analysis(folder: ResultsFolder) -> str:
    """The analysis report's HTML, from its results folder."""
    s = folder.json("summary.json")
    data = folder.table("data", DATA_COLS)
    ends = list(s["endpoints"].values())
    first = ends[0]
    items: list[tuple[str, Any]] = [
        ("source", s["source"]),
        ("data", f"{s['data']} ({s['data_origin']})"),
        ("reference arm", f"{s['reference_arm']['arm']} ({s['reference_arm']['reason']})"),
        ("endpoints", ", ".join(f"{e['paramcd']} ({endpoint_name(e['paramcd'])})" for e in ends)),
        (
            "arms",
            f"{first['treatment']} (treatment) versus {first['control']} (reference)"
            if len(arm_order(first)) == 2
            else f"{', '.join(arm_order(first)[1:])} (experimental, each versus the "
            f"reference) and {first['control']} (reference)",
        ),
    ]
    if s.get("replicate_column"):
        r = int(first["replicates"])
        rows = int((data["PARAMCD"] == first["paramcd"]).sum())
        items += [
            (
                "replicates",
                f"{r} ({s['replicate_column']}), each analysed on its own, then pooled: mean "
                "and 2.5%-97.5% quantiles across replicates",
            ),
            ("rows per replicate (mean)", f"{rows / max(r, 1):,.0f}"),
        ]
        sections = [pooled_section(e, data) for e in ends]
    else:
        strata = first.get("milestone_survival_by_stratum") or {}
        items += [
            ("subjects", f"{sum(first['n'].values()):,}"),
            ("strata", ", ".join(strata) or "none"),
        ]
        sections = [endpoint_section(e, data) for e in ends]
    overview = Section("Data", lead="The analysed data set.").kv(items)
    methods = Section("Methods").text(METHODS)
    if any(len(arm_order(e)) > 2 for e in ends):
        methods.text(K_ARM_METHODS)
    return render(
        s.get("title") or f"Time-to-event analysis: {s['source']}",
        [overview, *sections, methods],
        subtitle=f"Source: {s['source']}",
        disclaimer=s["disclaimer"],
    )


__all__ = ["endpoint_name", "pooled_table", "render_analysis"]
