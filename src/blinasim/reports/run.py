"""The HTML report of an AALL1731 in-silico replication (self-contained, opens from disk)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from blinasim.analysis.core import DAYS_PER_YEAR
from blinasim.config import ParameterSet
from blinasim.io.checkpoint import atomic_write_bytes
from blinasim.jobs.simulate import CAUSES
from blinasim.jobs.summary import ARMS, MILESTONE_DAYS, STRATA
from blinasim.protocol import load_protocol
from blinasim.reports import figures
from blinasim.reports.html import Section, render
from blinasim.stats import cox_ph, cumulative_incidence, kaplan_meier

if TYPE_CHECKING:
    from blinasim.jobs.run import RunResult

GRID_DAYS = np.linspace(0.0, 5 * DAYS_PER_YEAR, 121)


def km_curves(data: pd.DataFrame, n_rep: int, *, time: str, event: str) -> list[figures.StepCurve]:
    """Pooled KM per arm with a 95% predictive band from the per-replicate curves."""
    curves = []
    for arm in ARMS:
        d = data[data["arm"] == arm]
        if d.empty:
            continue
        t = d[time].to_numpy(dtype=float)
        e = d[event].to_numpy(dtype=np.int64)
        km = kaplan_meier(t, e)
        lower = upper = None
        if n_rep > 1:
            per = []
            for _, g in d.groupby("replicate"):
                per.append(
                    kaplan_meier(g[time].to_numpy(float), g[event].to_numpy(np.int64))
                    .at(GRID_DAYS)
                    .survival
                )
            q = np.quantile(np.vstack(per), [0.025, 0.975], axis=0)
            lo_band, hi_band = q[0], q[1]
            idx = np.clip(
                np.searchsorted(GRID_DAYS, km.time, side="right") - 1, 0, len(GRID_DAYS) - 1
            )
            lower, upper = lo_band[idx], hi_band[idx]
        else:
            lower, upper = km.lower, km.upper
        curves.append(
            figures.StepCurve(
                label=arm,
                time=km.time,
                value=km.survival,
                lower=lower,
                upper=upper,
                at_risk_time=t,
                at_risk_weight=1.0 / n_rep,
            )
        )
    return curves


def _published_points(pub: dict[str, Any] | None) -> dict[str, tuple[float, float, float]]:
    if not pub:
        return {}
    return {arm: (MILESTONE_DAYS, v["estimate"], v["se"]) for arm, v in pub.items()}


def _fmt_est(d: dict[str, float]) -> str:
    lo, hi = d.get("lower"), d.get("upper")
    if lo is None or hi is None:
        return f"{d['estimate']:.1%}"
    return f"{d['estimate']:.1%} ({lo:.1%} to {hi:.1%})"


def comparison_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Simulated (95% predictive interval) versus published, flagged when outside."""
    pub = summary["published"]
    rows = []

    def add(
        what: str, sim: dict[str, float] | None, p_est: float | None, p_se: float | None
    ) -> None:
        if sim is None:
            return
        inside = None
        if p_est is not None and "lower" in sim:
            inside = sim["lower"] <= p_est <= sim["upper"]
        rows.append(
            {
                "quantity": what,
                "simulated (95% interval)": _fmt_est(sim),
                "published": "–"
                if p_est is None
                else (f"{p_est:.1%}" + (f" ± {p_se:.1%}" if p_se else "")),
                "published inside interval": "–" if inside is None else ("yes" if inside else "NO"),
                "_flag": inside is False,
            }
        )

    for arm in ARMS:
        p = pub["dfs_3y"].get(arm)
        add(f"3-year DFS, {arm}", summary["dfs_3y"].get(arm), p and p["estimate"], p and p["se"])
    for s in STRATA:
        for arm in ARMS:
            p = pub["dfs_3y_by_stratum"].get(s, {}).get(arm)
            add(
                f"3-year DFS, {s}, {arm}",
                summary["dfs_3y_by_stratum"].get(s, {}).get(arm),
                p and p["estimate"],
                p and p["se"],
            )
    for arm in ARMS:
        add(f"3-year OS, {arm}", summary["os_3y"].get(arm), None, None)
    for arm in ARMS:
        for ev, p in pub["ae_grade3plus"].get(arm, {}).items():
            sim = summary["ae_grade3plus"].get(arm, {}).get(ev)
            rows.append(
                {
                    "quantity": f"grade ≥ 3 {ev.replace('_', ' ')}, {arm}",
                    "simulated (95% interval)": "–" if sim is None else f"{sim:.1%}",
                    "published": f"{p['proportion']:.1%} ({p['events']}/{p['n']})",
                    "published inside interval": "–",
                    "_flag": False,
                }
            )
    return pd.DataFrame(rows)


def forest_rows(p: pd.DataFrame) -> list[figures.ForestRow]:
    """Stratified-Cox HR (blinatumomab vs chemotherapy) by subgroup, pooled replicates."""
    p = p.assign(
        age_group=np.where(p["age_years"] < 6, "1 to < 6 years", "6 to < 10 years"),
        eoi_mrd=np.select(
            [p["eoi_hts_indeterminate"], p["eoi_hts"] > 0, p["eoi_hts"] <= 0],
            ["HTS indeterminate", "HTS detectable", "HTS undetectable"],
            default="not done",
        ),
    )
    groups = [
        ("All randomized", None, None),
        ("Stratum", "stratum", list(STRATA)),
        ("Genetics", "genetics", ["favorable", "neutral", "unfavorable"]),
        ("Sex", "sex", ["F", "M"]),
        ("Age", "age_group", ["1 to < 6 years", "6 to < 10 years"]),
        (
            "End-of-induction MRD",
            "eoi_mrd",
            ["HTS undetectable", "HTS detectable", "HTS indeterminate"],
        ),
        ("CNS status", "cns_status", ["CNS1", "CNS2"]),
    ]
    rows: list[figures.ForestRow] = []
    for title, col, levels in groups:
        if col is None:
            rows.append(_hr_row(title, p))
            continue
        rows.append(figures.ForestRow(title, 0, 0, 0, 0, 0, header=True))
        for lv in levels or []:
            sub = p[p[col] == lv]
            if len(sub):
                rows.append(_hr_row(f"  {lv}", sub))
    return rows


def _hr_row(label: str, d: pd.DataFrame) -> figures.ForestRow:
    t = d["dfs_days"].to_numpy(float)
    e = d["dfs_event"].to_numpy(np.int64)
    x = (d["arm"] == "blinatumomab").to_numpy(float)
    ev = int(e.sum())
    nan = float("nan")
    if ev < 5 or x.min() == x.max():
        return figures.ForestRow(label, nan, nan, nan, len(d), ev)
    strata = d["replicate"].astype(str) + "/" + d["stratum"]
    fit = cox_ph(t, e, x, strata=strata.to_numpy())
    if not fit.converged or not np.isfinite(fit.hr_upper[0]):
        return figures.ForestRow(label, nan, nan, nan, len(d), ev)
    return figures.ForestRow(
        label, float(fit.hr[0]), float(fit.hr_lower[0]), float(fit.hr_upper[0]), len(d), ev
    )


def cif_figure(p: pd.DataFrame) -> Figure:
    """Cumulative incidence of relapse by site and arm (death/SMN competing)."""
    cif = cumulative_incidence(
        p["dfs_days"].to_numpy(float), p["dfs_cause"].to_numpy(np.int64), group=p["arm"].to_numpy()
    )
    curves = [
        figures.StepCurve(label=f"{c.group}: {CAUSES[c.cause]}", time=c.time, value=c.estimate)
        for c in cif.curves
        if c.cause in (1, 2, 3)
    ]
    top = max((float(c.value.max()) for c in curves if len(c.value)), default=0.05)
    return figures.step_plot(
        curves,
        title="Relapse by site (competing risks: death, second malignancy)",
        ylabel="Cumulative incidence",
        ylim=(0.0, min(1.0, top * 1.3 + 0.005)),
        start_value=0.0,
        xmax=5.0,
    )


def consort_boxes(consorts: Sequence[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """CONSORT flow of the mean trial (counts averaged over replicates)."""

    def mean(f: Any) -> float:
        return float(np.mean([f(c) for c in consorts]))

    rg = consorts[0]["by_risk_group"].keys()
    return [
        (
            "Screened children with B-ALL",
            [f"{mean(lambda c: c['screened']):,.0f} (mean per trial)"],
        ),
        ("Enrolled: NCI standard risk", [f"{mean(lambda c: c['enrolled']):,.0f}"]),
        (
            "Risk group at end of induction",
            [
                ", ".join(
                    f"{g} {mean(lambda c, g=g: c['by_risk_group'].get(g, 0)):,.0f}" for g in rg
                )
            ],
        ),
        (
            "Reached randomization",
            [
                f"{mean(lambda c: c['reached_randomization']):,.0f}; not randomized after the stop "
                f"{mean(lambda c: c['not_randomized_closed']):,.0f}"
            ],
        ),
        (
            "Blinatumomab + chemotherapy | Chemotherapy",
            [
                f"randomized {mean(lambda c: c['randomized'].get('blinatumomab', 0)):,.0f} | "
                f"randomized {mean(lambda c: c['randomized'].get('chemotherapy', 0)):,.0f}",
                f"lost {mean(lambda c: c['lost_to_follow_up'].get('blinatumomab', 0)):,.1f} | "
                f"lost {mean(lambda c: c['lost_to_follow_up'].get('chemotherapy', 0)):,.1f}; "
                f"crossed over {mean(lambda c: c['crossed_over']):,.1f}",
            ],
        ),
    ]


def assumptions_table(params: ParameterSet) -> pd.DataFrame:
    """Every parameter that is an assumption or calibrated, with its source text."""
    rows = [r for r in params.table() if r["provenance"] != "published"]
    return pd.DataFrame(
        [
            {
                "parameter": r["key"],
                "value": str(r["value"]),
                "unit": r["unit"],
                "provenance": r["provenance"],
                "source": r["source"],
            }
            for r in rows
        ]
    )


def write_report(
    result: RunResult,
    *,
    patients: pd.DataFrame,
    adtte: pd.DataFrame,
    consorts: Sequence[dict[str, Any]],
) -> None:
    """Write ``report.html`` beside the run's other outputs.

    ``patients`` and ``adtte`` are the pooled tables of the first replicates (at most
    ``REPORT_POOL`` of them: the figures are the model's expected curves, and memory must
    not grow with the number of replicates); ``consorts`` has every replicate's counts.
    """
    s = result.summary
    pts = patients
    n_rep = int(pts["replicate"].nunique())
    n_all = int(s["replicates"])
    pooled_note = "" if n_rep == n_all else f" (figures pool the first {n_rep} of {n_all} trials)"
    pub = s["published"]
    params = ParameterSet.load()
    prov = pd.Series([r["provenance"] for r in params.table()]).value_counts()

    overview = Section(
        "Overview",
        lead=f"{n_all} simulated AALL1731 trial{'s' if n_all > 1 else ''}; {s['interval']}"
        f"{pooled_note}.",
    ).kv(
        [
            ("calibration", result.calibration),
            (
                "randomized per trial (mean)",
                ", ".join(f"{k} {v:,}" for k, v in s["n_randomized"].items()),
            ),
            ("stratified log-rank p (median over trials)", f"{s['logrank_p_stratified']:.2g}"),
            ("trials with p < 0.05", f"{s['logrank_power']['p_below_0.05']:.0%}"),
            (
                "DFS hazard ratio, blinatumomab vs chemotherapy",
                f"{s['hazard_ratio_dfs']['estimate']:.2f} ({s['hazard_ratio_dfs']['lower']:.2f} to "
                f"{s['hazard_ratio_dfs']['upper']:.2f})",
            ),
            ("RMST difference to 3 years", f"{s['rmst_difference_days']['estimate']:.1f} days"),
            ("trials stopped early for benefit", f"{s['stopped_early_fraction']:.0%}"),
        ]
    )
    comp = Section(
        "Simulated versus published", lead="Published: Gupta et al., NEJM 2025 (AALL1731)."
    )
    comp.table(comparison_table(s), flag_column="_flag")

    dfs = Section(
        "Disease-free survival",
        lead="DFS from randomization; events are relapse, second malignancy or death.",
    )
    dfs.figure(
        figures.step_plot(
            km_curves(pts, n_rep, time="dfs_days", event="dfs_event"),
            title="DFS by arm, all randomized",
            ylabel="Disease-free survival",
            ylim=(0.75, 1.0),
            xmax=5.0,
            xlabel="Years since randomization",
            published=_published_points(pub["dfs_3y"]),
        ),
        "Pooled Kaplan-Meier estimate over all simulated trials; band: 95% predictive interval of "
        "a single trial's curve; diamonds: published 3-year DFS ± 1.96 SE; numbers at risk "
        "per trial.",
    )
    for st in STRATA:
        sub = pts[pts["stratum"] == st]
        if sub.empty:
            continue
        dfs.figure(
            figures.step_plot(
                km_curves(sub, n_rep, time="dfs_days", event="dfs_event"),
                title=f"DFS by arm, {st}",
                ylabel="Disease-free survival",
                ylim=(0.7, 1.0),
                xmax=5.0,
                xlabel="Years since randomization",
                published=_published_points(pub["dfs_3y_by_stratum"].get(st)),
            ),
            f"{st}: pooled Kaplan-Meier with 95% predictive band and the published 3-year DFS.",
        )
    os_sec = Section("Overall survival")
    os_data = adtte[adtte["PARAMCD"] == "OS"].reset_index(drop=True)
    os_data = os_data.rename(columns={"REPLICATE": "replicate"})
    os_data = os_data.assign(
        arm=os_data["ARM"], os_days=os_data["AVAL"], os_event=1 - os_data["CNSR"]
    )
    os_sec.figure(
        figures.step_plot(
            km_curves(os_data, n_rep, time="os_days", event="os_event"),
            title="Overall survival by arm",
            ylabel="Overall survival",
            ylim=(0.85, 1.0),
            xmax=5.0,
            xlabel="Years since randomization",
        ),
        "Pooled Kaplan-Meier estimate of overall survival (deaths after relapse follow the "
        "published post-relapse survival by timing and site).",
    )
    rel = Section("Relapse by site", lead="Where the benefit of blinatumomab comes from.")
    rel.figure(cif_figure(pts), "Aalen-Johansen cumulative incidence, pooled over trials.")
    ci = s["relapse_cumulative_incidence_3y"]
    rel.table(
        pd.DataFrame(
            [
                {
                    "arm": a,
                    **{k: f"{v:.2%}" for k, v in ci.get(a, {}).items()},
                    "CD19-negative share of relapses": (
                        f"{s['cd19_negative_share_of_relapses'].get(a, float('nan')):.0%}"
                    ),
                }
                for a in ARMS
            ]
        ),
        "3-year cumulative incidence of relapse by site",
    )
    forest = Section("Treatment effect by subgroup")
    forest.figure(
        figures.forest_plot(forest_rows(pts), title="DFS hazard ratio by subgroup"),
        "Cox model stratified by trial and stratum on the pooled simulated trials: the model's "
        "expected effect (intervals narrow with the number of trials, not a single trial's).",
    )
    consort = Section("CONSORT flow")
    consort.figure(
        figures.consort_diagram(consort_boxes(consorts), title="Patient flow (mean per trial)"),
        "Screening, risk assignment and randomization in the simulated trials.",
    )
    mrd = Section(
        "MRD at each time point", lead="Randomized children; MRD as a fraction of marrow cells."
    )
    mrd.figure(
        figures.histogram_log10(
            {
                "day 8 blood (flow)": pts["day8_pb_flow"],
                "end of induction (flow)": pts["eoi_flow"],
                "end of induction (HTS)": pts["eoi_hts"],
                "end of consolidation (flow)": pts["eoc_flow"],
            },
            title="Simulated MRD readouts",
            xlabel="MRD (fraction)",
            thresholds={"flow 0.01%": 1e-4, "EOC 0.1%": 1e-3, "HTS 1e-6": 1e-6},
        ),
        "Distributions of the simulated assay readouts; undetectable values are counted in "
        "the legend.",
    )
    protocol = load_protocol(s["run"]["config"]["protocol"] or "aall1731")
    prot = Section("Protocol timelines", lead=f"Protocol: {protocol.name}.")
    prot.figure(
        figures.timeline_plot(
            {
                f"{a.name} ({a.stratum})": [
                    (ph.name, ph.kind, ph.start_day, ph.end_day) for ph in a.phases
                ]
                for a in protocol.arms.values()
            },
            title="Treatment phases from diagnosis",
        ),
        "Phases of every arm; blinatumomab blocks in arms B and D.",
    )
    ae = Section("Adverse events", lead="Grade ≥ 3, after randomization, per randomized child.")
    ae_rows = []
    for arm in ARMS:
        for ev, v in s["ae_grade3plus"].get(arm, {}).items():
            p = pub["ae_grade3plus"].get(arm, {}).get(ev)
            ae_rows.append(
                {
                    "arm": arm,
                    "event": ev.replace("_", " "),
                    "simulated": f"{v:.1%}",
                    "published": "–"
                    if p is None
                    else f"{p['proportion']:.1%} ({p['events']}/{p['n']})",
                }
            )
    ae.table(pd.DataFrame(ae_rows))
    assum = Section(
        "Model assumptions and calibration",
        lead=f"{result.calibration}. Parameters: "
        + ", ".join(f"{v} {k}" for k, v in prov.items())
        + ".",
    )
    assum.text(
        "The model (docs/model.md): leukemia clones (chemo-sensitive CD19+, chemo-resistant "
        "CD19+, CD19-negative) in marrow and CNS with closed-form log-linear kinetics per phase, "
        "chance extinction, blinatumomab one-compartment PK with an Emax kill of CD19+ cells, MRD "
        "assays as sampling measurements, per-phase toxicity hazards and published survival "
        "after relapse. The trial engine adds accrual, stratified permuted blocks, loss to "
        "follow-up, interim looks with O'Brien-Fleming-like alpha spending and the crossover "
        "after an early stop."
    )
    assum.table(assumptions_table(params), "Parameters that are assumptions or calibrated")
    html = render(
        "AALL1731 in silico: chemotherapy with or without blinatumomab",
        [overview, comp, dfs, os_sec, rel, forest, consort, mrd, prot, ae, assum],
        subtitle=f"blinasim replication of COG AALL1731 — {n_all} simulated trials, seed "
        f"{s['run']['config']['seed']}",
    )
    atomic_write_bytes(result.out_dir / "report.html", html.encode("utf-8"))
