"""The HTML report of a ``blinasim run`` (AALL1731 in silico), from its results folder only.

Reads ``summary.json`` (every replicate's estimates, the published figures with their roles,
the run's configuration), ``trials.parquet`` (decision, data cut and CONSORT counts of every
trial), ``parameters.parquet`` (the posterior draw each replicate ran), ``looks.parquet`` and,
for the figures, the rows of the first :data:`POOL` replicates of ``patients.parquet`` and
``adtte.parquet`` (only the columns drawn: memory does not grow with the replicates).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blinasim.config import ParameterSet
from blinasim.errors import BlinasimError
from blinasim.protocol import load_protocol
from blinasim.reports import curves, diagrams, figures, run_tables, tables
from blinasim.reports.folder import ResultsFolder
from blinasim.reports.html import Section, render
from blinasim.reports.late_effects import LATE_COLUMNS, late_effects_table
from blinasim.reports.occupancy import DEAD, occupancy, occupancy_figure
from blinasim.reports.run_tables import ARMS, CAUSES, STRATA
from blinasim.units import DAYS_PER_YEAR

# The figures pool the patients of at most this many replicates (the first ones): they are
# the model's expected curves (50 trials are ~72,000 randomized children); summary.json
# uses every replicate.
POOL = 50
PATIENT_COLS = (
    "replicate", "arm", "stratum", "age_years", "sex", "genetics", "cns_status",
    "day8_pb_flow", "eoi_flow", "eoi_hts", "eoi_hts_indeterminate", "eoc_flow",
    "dfs_days", "dfs_event", "dfs_cause",
    "hsct_day", "cart_day", "relapse2_day", "lifetime_death_day", "life_years",
    *LATE_COLUMNS,
)  # fmt: skip
ADTTE_COLS = ("REPLICATE", "PARAMCD", "ARM", "AVAL", "CNSR")
XMAX_YEARS = 5.0


def _parameters(
    folder: ResultsFolder, cfg: dict[str, Any], inputs: dict[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    """The parameter table of the run, and a note when it is not exactly the one that ran.

    The folder's ``parameter_table.json`` (the validated set the run used) when it has one;
    otherwise the shipped ``parameters.yaml``, checked against the run's input digest.
    """
    if folder.has("parameter_table.json"):
        doc = folder.json("parameter_table.json")
        return (doc if isinstance(doc, list) else []), ""
    try:
        table = ParameterSet.load().table()
    except (BlinasimError, OSError) as exc:
        return [], f"The parameter file could not be read ({exc}): no parameter table."
    if cfg.get("params"):
        return table, (
            f"The run used {Path(str(cfg['params'])).name} over parameters.yaml; this folder "
            "does not record it, so the table shows parameters.yaml."
        )
    digest = hashlib.sha256(
        json.dumps(table, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    if inputs.get("parameters") and inputs["parameters"] != digest:
        return table, (
            "parameters.yaml has changed since this run: sources, units and point values "
            "below are today's; the posterior values that ran are in the table above."
        )
    return table, ""


def _survival_figure(
    data: pd.DataFrame, *, title: str, ylabel: str, time: str, event: str, pub: Any
) -> tuple[Any, str]:
    cs = curves.km_curves(
        data, group="arm", time=time, event=event, order=ARMS, replicate="replicate",
        band="predictive",
    )  # fmt: skip
    floor = curves.survival_floor(cs, xmax_days=XMAX_YEARS * DAYS_PER_YEAR)
    marks = {
        arm: (3 * DAYS_PER_YEAR, p["estimate"], p["se"])
        for arm, p in (pub or {}).items()
        if p and not tables.is_missing(p.get("estimate")) and p.get("se")
    }
    fig = figures.step_plot(
        cs,
        title=title,
        ylabel=ylabel,
        ylim=(floor, 1.0),
        xmax=XMAX_YEARS,
        xlabel="Years since randomization",
        published=marks,
    )
    cut = f" The y axis starts at {floor:.0%} (marked //)." if floor > 0 else ""
    return fig, cut


def _protocol_section(protocol_name: str) -> Section:
    try:
        protocol = load_protocol(protocol_name)
    except (BlinasimError, OSError) as exc:
        return Section("Protocol timelines").text(f"The protocol could not be loaded: {exc}")
    blina = [
        a.name for a in protocol.arms.values() if any(ph.kind == "blinatumomab" for ph in a.phases)
    ]
    arms_text = (
        "no arm has a blinatumomab phase"
        if not blina
        else "blinatumomab phases in arm"
        + ("s " if len(blina) > 1 else " ")
        + (", ".join(blina[:-1]) + " and " + blina[-1] if len(blina) > 1 else blina[0])
    )
    sec = Section("Protocol timelines", lead=f"Protocol: {protocol.name}.")
    sec.figure(
        diagrams.timeline_plot(
            {
                f"{a.name} ({a.stratum})": [
                    (ph.name, ph.kind, ph.start_day, ph.end_day) for ph in a.phases
                ]
                for a in protocol.arms.values()
            },
            title="Treatment phases from diagnosis",
        ),
        f"Phases of every arm of {protocol.name}; {arms_text}.",
    )
    return sec


def render_run(folder: ResultsFolder) -> str:
    """The run report's HTML, from the run's results folder."""
    s = folder.json("summary.json")
    run = s["run"]
    cfg = run["config"]
    trials = folder.table("trials")
    order = [int(r) for r in trials["replicate"]]
    pool = order[:POOL]
    pts = folder.table("patients", PATIENT_COLS, replicates=pool)
    adtte = folder.table("adtte", ADTTE_COLS, replicates=pool, replicate_column="REPLICATE")
    draws = folder.table("parameters") if folder.has("parameters.parquet") else None
    looks = folder.table("looks", ["replicate", "name"]) if folder.has("looks.parquet") else None
    n_all = int(s["replicates"])
    n_rep = len(pool)
    pooled = "" if n_rep == n_all else f" (figures pool the first {n_rep} of {n_all} trials)"
    pub = s["published"]
    design = str(folder.manifest.get("design", {}).get("design") or cfg.get("trial"))
    hr = s["hazard_ratio_dfs"]

    overview = Section(
        "Overview",
        lead=f"{n_all} simulated trial{'s' if n_all > 1 else ''} of design {design}; "
        f"{s['interval']}{pooled}.",
    ).kv(
        [
            ("parameters", run["calibration"]),
            ("seed", cfg["seed"]),
            (
                "randomized per trial (mean)",
                ", ".join(f"{k} {v:,.0f}" for k, v in s["n_randomized"].items()),
            ),
            ("stratified log-rank p (median over trials)", f"{s['logrank_p_stratified']:.2g}"),
            ("trials with p < 0.05", f"{s['logrank_power']['p_below_0.05']:.0%}"),
            ("DFS hazard ratio, blinatumomab vs chemotherapy", tables.hazard_ratio(hr)),
            ("RMST difference to 3 years", f"{s['rmst_difference_days']['estimate']:.1f} days"),
            ("trials stopped early for benefit", f"{s['stopped_early_fraction']:.0%}"),
        ]
    )
    overview.table(run_tables.trials_table(trials), "How the simulated trials ended")
    comp = Section(
        "Simulated versus published",
        lead="Published: Gupta et al., NEJM 2025 (AALL1731). " + tables.SE_NOTE
        + " " + tables.ROLE_NOTE + " OS at 3 years was not published.",
    )  # fmt: skip
    comp.table(run_tables.comparison_table(s), flag_column="_flag")

    dfs = Section(
        "Disease-free survival",
        lead="DFS from randomization; events are relapse, second malignancy or death.",
    )
    band = (
        "band: 95% predictive interval of a single trial's curve"
        if n_rep > 1
        else "band: 95% confidence interval (one trial)"
    )
    fig, cut = _survival_figure(
        pts, title="DFS by arm, all randomized", ylabel="Disease-free survival",
        time="dfs_days", event="dfs_event", pub=pub.get("dfs_3y"),
    )  # fmt: skip
    dfs.figure(
        fig,
        f"Pooled Kaplan-Meier estimate over the simulated trials; {band}; diamonds: "
        f"published 3-year DFS ± 1.96 SE; numbers at risk per trial.{cut}",
    )
    for st in STRATA:
        sub = pts[pts["stratum"] == st]
        if sub.empty:
            continue
        fig, cut = _survival_figure(
            sub, title=f"DFS by arm, {st}", ylabel="Disease-free survival",
            time="dfs_days", event="dfs_event", pub=pub.get("dfs_3y_by_stratum", {}).get(st),
        )  # fmt: skip
        dfs.figure(fig, f"{st}: pooled Kaplan-Meier, {band}, published 3-year DFS.{cut}")

    os_sec = Section("Overall survival")
    od = adtte[adtte["PARAMCD"] == "OS"]
    od = pd.DataFrame(
        {
            "replicate": od["REPLICATE"].to_numpy(),
            "arm": od["ARM"].astype(str).to_numpy(),
            "os_days": od["AVAL"].to_numpy(float),
            "os_event": 1 - od["CNSR"].to_numpy(np.int64),
        }
    )
    fig, cut = _survival_figure(
        od, title="Overall survival by arm", ylabel="Overall survival",
        time="os_days", event="os_event", pub=None,
    )  # fmt: skip
    os_sec.figure(
        fig,
        f"Pooled Kaplan-Meier estimate of overall survival; {band} (deaths after relapse "
        f"follow the published post-relapse survival by timing and site).{cut}",
    )

    rel = Section("Relapse by site", lead="Where the difference between the arms comes from.")
    names = {k: tables.label(v) for k, v in CAUSES.items() if k in (1, 2, 3)}
    cif = curves.cif_curves(pts, group="arm", time="dfs_days", cause="dfs_cause", names=names)
    rel.figure(
        figures.step_plot(
            cif,
            title="Relapse by site (competing risks: death, second malignancy)",
            ylabel="Cumulative incidence",
            ylim=(0.0, curves.incidence_ceiling(cif)),
            start_value=0.0,
            xmax=XMAX_YEARS,
            xlabel="Years since randomization",
        ),
        "Aalen-Johansen cumulative incidence, pooled over trials.",
    )
    rel.table(run_tables.relapse_table(s), "3-year cumulative incidence of relapse by site")
    life = _lifetime_section(s, pts)

    forest = Section("Treatment effect by subgroup")
    forest.figure(
        figures.forest_plot(
            run_tables.forest_rows(pts), title="DFS hazard ratio by subgroup", trials=n_rep
        ),
        "Cox model stratified by trial and stratum on the pooled simulated trials: the model's "
        "expected effect (intervals narrow with the number of trials, not a single trial's); "
        f"n and events are per trial (mean over {n_rep}).",
    )
    consort = Section("CONSORT flow")
    consort.figure(
        diagrams.consort_diagram(
            run_tables.consort_boxes(trials), title="Patient flow (mean per trial)"
        ),
        f"Screening, risk assignment and randomization, mean over all {n_all} simulated trials.",
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
    prot = _protocol_section(str(cfg.get("protocol") or design))
    ae = Section("Adverse events", lead="Grade ≥ 3, after randomization, per randomized child.")
    ae.table(run_tables.ae_table(s))
    ae.text(tables.ROLE_NOTE)
    assum = _parameters_section(folder, run, draws, design, looks)
    html = render(
        "AALL1731 in silico: chemotherapy with or without blinatumomab",
        [overview, comp, dfs, os_sec, rel, life, forest, consort, mrd, prot, ae, assum],
        subtitle=f"blinasim replication of COG AALL1731 — {n_all} simulated trials, seed "
        f"{cfg['seed']}",
    )
    return html


def _lifetime_section(s: dict[str, Any], pts: pd.DataFrame) -> Section:
    """HSCT, CAR-T, OS and life expectancy from the children's model histories to age 100."""
    sec = Section(
        "After relapse and over a lifetime",
        lead="Randomized children's model histories from diagnosis (not censored): the salvage "
        "pathway after a first relapse (reinduction, blinatumomab or chemotherapy "
        "consolidation, allogeneic HSCT, CAR-T, second relapse), then the US 2014 life table "
        "with survivors' late-mortality ratios, to age 100. A model, not medical advice.",
    )
    if "life_years" not in pts.columns:
        sec.text("This run's folder has no lifetime histories (made by an earlier version).")
        return sec
    sec.table(run_tables.lifetime_table(s), "Per arm; 95% interval over replicates")
    sec.figure(
        figures.step_plot(
            run_tables.lifetime_curves(pts, "lifetime_death_day", survival=True),
            title="Survival from diagnosis to age 100",
            ylabel="Alive",
            xlabel="Years since diagnosis",
        ),
        "Share of children alive, pooled over trials.",
    )
    tx = run_tables.lifetime_curves(pts, "hsct_day")
    sec.figure(
        figures.step_plot(
            tx,
            title="Allogeneic stem-cell transplant",
            ylabel="Cumulative incidence",
            xlabel="Years since diagnosis",
            ylim=(0.0, curves.incidence_ceiling(tx)),
            start_value=0.0,
            xmax=XMAX_YEARS * 2,
        ),
        "Share of children transplanted (death competes), pooled over trials.",
    )
    grid = np.linspace(0.0, 2 * XMAX_YEARS, 121)
    states = {"hsct_day": "after HSCT", "relapse2_day": "after second relapse",
              "cart_day": "after CAR-T"}  # fmt: skip
    panels = {
        a: occupancy(
            {
                lab: pts.loc[pts["arm"] == a, col].to_numpy(dtype=float)
                for col, lab in states.items()
            },
            pts.loc[pts["arm"] == a, "lifetime_death_day"].to_numpy(dtype=float),
            grid * DAYS_PER_YEAR,
            start="alive, no transplant",
        )
        for a in ARMS
        if (pts["arm"] == a).any()
    }
    # zoom on the top of the stack: most children stay alive and untransplanted
    low = min((float(v["alive, no transplant"][-1]) for v in panels.values()), default=1.0)
    ymin = max(0.0, float(np.floor(10 * low)) / 10 - 0.1)
    sec.figure(
        occupancy_figure(
            panels,
            grid,
            title="State",
            xlabel="Years since diagnosis",
            order=["alive, no transplant", *states.values(), DEAD],
            ymin=ymin,
        ),
        "Event history: the share of randomized children in each state of their model "
        "history (latest event: HSCT, second relapse, CAR-T; or dead), pooled over trials.",
    )
    late = late_effects_table(pts, ARMS)
    if not late.empty:
        sec.table(
            late,
            "Late effects of therapy (model; share of children, mean and 95% of trials; "
            "docs/after_relapse.md, Late effects)",
        )
    return sec


def _parameters_section(
    folder: ResultsFolder,
    run: dict[str, Any],
    draws: pd.DataFrame | None,
    design: str,
    looks: pd.DataFrame | None,
) -> Section:
    table, note = _parameters(folder, run["config"], run.get("inputs", {}))
    units = {r["key"]: r["unit"] or "" for r in table}
    prov = pd.Series([r["provenance"] for r in table]).value_counts()
    drawn = [
        c for c in (draws.columns if draws is not None else []) if c not in ("replicate", "draw")
    ]
    sec = Section(
        "Parameters that ran",
        lead=f"{run['calibration']}. Parameters: "
        + ", ".join(f"{v} {k}" for k, v in prov.items())
        + ".",
    )
    monitoring = design_text(folder, looks, design)
    sec.text(
        "The model (docs/model.md): leukemia clones (chemo-sensitive CD19+, chemo-resistant "
        "CD19+, CD19-negative) in marrow and CNS with closed-form log-linear kinetics per phase, "
        "chance extinction, blinatumomab one-compartment PK with an Emax kill of CD19+ cells, MRD "
        "assays as sampling measurements, per-phase toxicity hazards and published survival "
        "after relapse. The trial engine adds accrual, stratified permuted blocks, loss to "
        f"follow-up, interim looks with {monitoring} and the crossover after an early stop."
    )
    if draws is not None and drawn:
        n_draws = int(draws["draw"].nunique())
        sec.table(
            run_tables.drawn_table(draws, units),
            f"Posterior parameters: the values the {len(draws)} replicates ran with "
            f"({n_draws} distinct posterior draws)",
        )
    if note:
        sec.text(note)
    if table:
        sec.table(
            run_tables.assumptions_table(table, set(drawn)),
            "Parameters that are assumptions or calibrated",
            wrap=True,
        )
    return sec


def design_text(folder: ResultsFolder, looks: pd.DataFrame | None, design: str) -> str:
    """The monitoring plan in words, from the design the folder records."""
    spec = folder.manifest.get("design_spec")
    if spec is None and folder.has("design.json"):
        spec = folder.json("design.json")
    return run_tables.design_text(spec if isinstance(spec, dict) else None, looks, design)


__all__ = ["ADTTE_COLS", "PATIENT_COLS", "POOL", "render_run"]
