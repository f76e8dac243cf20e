"""The HTML report of ``blinasim cea``, from its results folder only.

Reads ``summary.json`` (PSA summaries), ``psa.parquet`` (every iteration), ``base.parquet``,
``tornado.parquet`` and ``profile.parquet`` (the base case), ``inputs_table.json`` (the
setting's inputs with their sources) and ``manifest.json``. Sections: the result, the
cost-effectiveness plane, the acceptability curve, the one-way sensitivity analysis, costs
by category and over time, the model's outcomes, the inputs with their sources, methods and
limitations, and the CHEERS 2022 items with where the report covers each (or that it does
not).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from blinasim.economics.evaluate import CATEGORIES
from blinasim.reports import cea_figures
from blinasim.reports.folder import ResultsFolder
from blinasim.reports.html import Block, Section, render

ARMS = ("chemotherapy", "blinatumomab")

# CHEERS 2022 (Husereau et al., Value Health 2022;25:3-9): item, topic, where in this report
CHEERS: tuple[tuple[str, str, str], ...] = (
    ("1", "Title", "report title (the analysis is a cost-utility analysis)"),
    ("2", "Abstract", "Result (the headline figures); not a structured abstract"),
    ("3", "Background and objectives", "Question"),
    ("4", "Health economic analysis plan", "not reported (no pre-specified analysis plan)"),
    ("5", "Study population", "Question; Model outcomes (who receives blinatumomab)"),
    ("6", "Setting and location", "Question (the setting file: country, payer)"),
    ("7", "Comparators", "Question"),
    ("8", "Perspective", "Question (as the setting's description states it)"),
    ("9", "Time horizon", "Methods (lifetime, to age 100)"),
    ("10", "Discount rate", "Result; Methods"),
    ("11", "Selection of outcomes", "Methods (QALYs, life-years)"),
    ("12", "Measurement of outcomes", "Methods (the simulated children's event histories)"),
    ("13", "Valuation of outcomes", "Inputs and sources (utilities)"),
    ("14", "Measurement and valuation of resources and costs", "Inputs and sources"),
    ("15", "Currency, price date, and conversion", "Result; Inputs and sources (price index)"),
    ("16", "Rationale and description of model", "Methods"),
    ("17", "Analytics and assumptions", "Methods; Limitations"),
    ("18", "Characterising heterogeneity", "not reported (no subgroup analysis)"),
    ("19", "Characterising distributional effects", "not reported"),
    ("20", "Characterising uncertainty", "Methods (PSA, one-way analysis, EVPI)"),
    ("21", "Approach to engagement with patients and others affected", "not reported (none)"),
    ("22", "Study parameters", "Inputs and sources; Methods (posterior of model parameters)"),
    ("23", "Summary of main results", "Result; Costs"),
    ("24", "Effect of uncertainty", "Cost-effectiveness plane; Acceptability; Sensitivity"),
    ("25", "Effect of engagement with patients and others affected", "not reported (none)"),
    ("26", "Study findings, limitations, generalisability", "Limitations"),
    ("27", "Source of funding", "not reported (research software, no funding statement)"),
    ("28", "Conflicts of interest", "not reported"),
)


def _money(x: Any, currency: str) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{currency} {float(x):,.0f}"


def _iv(d: Mapping[str, Any] | None, fmt: str = "{:,.0f}") -> str:
    if not d or d.get("estimate") is None:
        return "–"
    est = fmt.format(d["estimate"])
    if d.get("lower") is None or d.get("upper") is None:
        return est
    return f"{est} ({fmt.format(d['lower'])} to {fmt.format(d['upper'])})"


def icer_text(s: Mapping[str, Any]) -> str:
    """The ICER as a sentence: value with its 95% interval, or the dominance statement."""
    ic = s["icer"]
    cur = s["currency"]
    if ic.get("value") is None:
        return str(ic.get("statement", "–"))
    txt = f"{cur} {ic['value']:,.0f} per QALY"
    if ic.get("quadrant") == "south-west":
        txt = f"{cur} {ic['value']:,.0f} saved per QALY lost"
    if ic.get("lower") is not None:
        txt += f" (95% interval {ic['lower']:,.0f} to {ic['upper']:,.0f})"
    else:
        txt += (
            f" (no ratio interval: {ic.get('share_in_quadrant', 0):.0%} of iterations in the "
            "mean's quadrant; see the NMB)"
        )
    return txt


def _headline(s: Mapping[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("blinasim.reports") / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    cur = s["currency"]
    lam = s["threshold"]
    p = s["prob_cost_effective"].get(str(float(lam)))
    pt = s.get("price_threshold") or {}
    cards = [
        {"label": "ICER", "value": icer_text(s), "note": f"quadrant: {s['icer'].get('quadrant')}"},
        {
            "label": "incremental costs per child",
            "value": _money(s["incremental_costs"]["estimate"], cur),
            "note": "95% interval " + _iv(s["incremental_costs"]).partition("(")[2].rstrip(")"),
        },
        {
            "label": "incremental QALYs per child",
            "value": f"{s['incremental_qalys']['estimate']:.3f}",
            "note": "95% interval "
            + _iv(s["incremental_qalys"], "{:.3f}").partition("(")[2].rstrip(")"),
        },
        {
            "label": "net monetary benefit per child",
            "value": _money(s["nmb"]["estimate"], cur),
            "note": f"at {cur} {lam:,.0f} per QALY; 95% interval "
            + _iv(s["nmb"]).partition("(")[2].rstrip(")"),
        },
        {
            "label": "probability cost-effective",
            "value": "–" if p is None else f"{p:.0%}",
            "note": f"at {cur} {lam:,.0f} per QALY",
        },
        {
            "label": "price threshold per vial",
            "value": _money(pt.get("estimate"), cur),
            "note": f"list price {_money(pt.get('vial_price'), cur)}" if pt else "",
        },
        {
            "label": "EVPI per child",
            "value": _money(s["evpi"]["per_child"], cur),
            "note": f"at {cur} {lam:,.0f} per QALY",
        },
    ]
    return env.get_template("cea_headline.html.j2").render(cards=cards)


def _arm_table(s: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    per = s["per_arm"]
    for key, label, fmt in (
        ("costs", "costs", "{:,.0f}"),
        ("costs_undiscounted", "costs, undiscounted", "{:,.0f}"),
        ("life_years", "life-years", "{:.2f}"),
        ("life_years_undiscounted", "life-years, undiscounted", "{:.2f}"),
        ("qalys", "QALYs", "{:.2f}"),
        ("qalys_undiscounted", "QALYs, undiscounted", "{:.2f}"),
    ):
        row = {"per child": label}
        for arm in ARMS:
            row[arm] = _iv(per.get(arm, {}).get(key), fmt)
        inc = s.get(f"incremental_{key}") or (
            s["incremental_costs"] if key == "costs" else s["incremental_qalys"]
        )
        row["increment"] = _iv(inc, fmt)
        rows.append(row)
    return pd.DataFrame(rows)


def _outcomes_table(s: Mapping[str, Any]) -> pd.DataFrame:
    mo = s.get("model_outcomes", {})
    rows = []
    for key, label in (
        ("children", "children per iteration"),
        ("on_blinatumomab", "children on a blinatumomab arm"),
        ("relapse", "first relapse (share)"),
        ("hsct", "allogeneic HSCT (share)"),
        ("cart", "CAR-T (share)"),
        ("death_by_age_30", "dead by age 30 (share)"),
    ):
        row: dict[str, Any] = {"mean over PSA iterations": label}
        for arm in ARMS:
            v = mo.get(arm, {}).get(key)
            row[arm] = "–" if v is None else (f"{v:,.0f}" if v >= 1 or v == 0 else f"{v:.1%}")
        rows.append(row)
    return pd.DataFrame(rows)


def _inputs_frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for it in items:
        dist = it["distribution"]
        if it.get("se") is not None:
            dist += f" (se {it['se']:.4g})"
        rows.append(
            {
                "input": it["input"],
                "value": f"{it['value']:,.6g}",
                "unit": it["unit"] + (f" ({it['year']})" if it.get("year") else ""),
                "PSA": dist,
                "source": it["source"],
            }
        )
    return pd.DataFrame(rows)


def render_cea(folder: ResultsFolder) -> str:
    """The CEA report's HTML, from its results folder."""
    s = folder.json("summary.json")
    psa = folder.table("psa")
    torn = folder.table("tornado")
    profile = folder.table("profile")
    inputs = folder.json("inputs_table.json")
    cur = s["currency"]
    lam = float(s["threshold"])
    dr = s["discount_rate"]
    wide = {c: psa.pivot(index="iteration", columns="arm", values=c) for c in ("costs", "qalys")}
    dc = (wide["costs"]["blinatumomab"] - wide["costs"]["chemotherapy"]).to_numpy(dtype=float)
    dq = (wide["qalys"]["blinatumomab"] - wide["qalys"]["chemotherapy"]).to_numpy(dtype=float)
    origin = s.get("origin", "diagnosis")
    question = Section(
        "Question",
        lead="Is adding two cycles of blinatumomab to chemotherapy, as in AALL1731, worth "
        "its cost for children with NCI standard-risk B-ALL?",
    ).kv(
        [
            ("setting", f"{s['setting']['name']}: {s['setting']['description']}"),
            (
                "comparators",
                "chemotherapy (AALL1731 arms A / C) versus chemotherapy + "
                "blinatumomab (arms B / D), the same virtual children on both",
            ),
            (
                "population",
                "every AALL1731-eligible child from diagnosis; blinatumomab goes to those "
                "the trial randomized, the others get the same therapy on both arms"
                if origin == "diagnosis"
                else "the children AALL1731 randomized who reached randomization, from then",
            ),
            ("virtual children at diagnosis per iteration (each on both arms)", f"{s['n']:,}"),
            ("PSA iterations", f"{s['psa']:,}"),
            ("model parameters", s.get("calibration", "–")),
            ("currency, price year", f"{cur}, {s['price_year']}"),
            (
                "discounting",
                f"costs {dr['costs']:.1%}, effects {dr['effects']:.1%} per year "
                f"({dr.get('mode', 'continuous')})",
            ),
            ("willingness to pay", f"{cur} {lam:,.0f} per QALY"),
        ]
    )
    result = Section(
        "Result",
        lead="Means over the PSA iterations with 2.5%-97.5% percentiles; per child.",
    )
    result.blocks.append(Block(kind="table", html=_headline(s)))
    result.table(_arm_table(s), "Costs, life-years and QALYs per child")
    pce = ", ".join(f"{float(k):,.0f}: {v:.0%}" for k, v in s["prob_cost_effective"].items())
    result.text(f"Probability that blinatumomab is cost-effective, by threshold: {pce}.")
    plane = Section("Cost-effectiveness plane").figure(
        cea_figures.ce_plane(dq, dc, threshold=lam, currency=cur),
        "Each point is one PSA iteration (a posterior draw of the model's parameters and a "
        "draw of costs and utilities); points below the dashed line are cost-effective at "
        "the threshold.",
    )
    accept = Section("Acceptability").figure(
        cea_figures.ceac(
            s["ceac"]["threshold"], s["ceac"]["probability"], threshold=lam, currency=cur
        ),
        "Share of PSA iterations in which each strategy has the higher net monetary benefit.",
    )
    sens = Section(
        "Sensitivity",
        lead="One input at a time at its low and high value (its stated range, else the "
        "2.5% and 97.5% quantiles of its PSA distribution), on the base case.",
    )
    if len(torn):
        sens.figure(cea_figures.tornado(torn, currency=cur), "Widest swing first.")
        shown = torn.head(15).assign(
            low=torn["low"].map(lambda x: f"{x:,.4g}"),
            high=torn["high"].map(lambda x: f"{x:,.4g}"),
            nmb_low=torn["nmb_low"].map(lambda x: f"{x:,.0f}"),
            nmb_high=torn["nmb_high"].map(lambda x: f"{x:,.0f}"),
        )[["input", "low", "high", "nmb_low", "nmb_high"]]
        sens.table(shown, f"Incremental NMB ({cur}) at each bound")
    else:
        sens.text("No input of the setting has a range or a distribution.")
    means = {
        str(arm): {c: float(g[f"cost_{c}"].mean()) for c in CATEGORIES}
        for arm, g in psa.groupby("arm", sort=False)
    }
    costs = Section("Costs").figure(
        cea_figures.costs_by_category(
            means, currency=cur, title="Mean discounted cost per child by category"
        ),
        "Means over the PSA iterations.",
    )
    costs.figure(
        cea_figures.costs_over_time(profile, currency=cur),
        "Base case (point values); cumulative, undiscounted, from the origin.",
    )
    outcomes = Section("Model outcomes").table(_outcomes_table(s))
    inputs_sec = Section(
        "Inputs and sources", lead="Every input of the setting file, as stated in it."
    ).table(_inputs_frame(inputs), wrap=True)
    methods = Section("Methods").text(
        "Each PSA iteration takes one draw of the calibrated posterior of the model's "
        "parameters, simulates the same virtual children on both strategies (common random "
        "numbers) through first-line therapy, relapse, salvage (reinduction, consolidation, "
        "HSCT, CAR-T) and survivorship to age 100 on the national life table with survivors' "
        "excess mortality, draws every cost and utility from its distribution in the setting "
        "(gamma for costs, beta for utilities unless stated), and prices each child's events "
        "exactly in continuous time (no cycles): costs at event days and per day of each "
        "phase, utilities over each spell, adverse-event disutilities over their durations, "
        "discounted in closed form. Blinatumomab is priced from each child's body surface "
        "area, the daily cap, bags and vials. ICER with dominance, net monetary benefit, "
        "acceptability, the expected value of perfect information and the vial price at "
        "which the ICER equals the threshold summarize the PSA."
    )
    limits = Section("Limitations").text(
        "The children and their outcomes are simulations of a model calibrated to published "
        "AALL1731 results; lifetime outcomes beyond the trial's follow-up are extrapolated "
        "through the model's relapse pathway and late-mortality ratios. Costs and utilities "
        "are those of the setting file; values marked as assumptions there are not "
        "published figures. The population, the comparators and blinatumomab's use after "
        "relapse follow AALL1731 and the model's salvage policy, which may differ from "
        "practice."
    )
    cheers = Section(
        "CHEERS 2022",
        lead="Husereau D, et al. Consolidated Health Economic Evaluation Reporting Standards "
        "2022 (CHEERS 2022) statement. Value Health 2022;25:3-9.",
    ).table(pd.DataFrame(CHEERS, columns=["item", "topic", "where in this report"]), wrap=True)
    return render(
        f"Cost-effectiveness of frontline blinatumomab ({s['setting']['name']})",
        [
            question,
            result,
            plane,
            accept,
            sens,
            costs,
            outcomes,
            inputs_sec,
            methods,
            limits,
            cheers,
        ],
        subtitle=f"blinasim cea aall1731 --setting {s['setting']['name']}: {s['psa']:,} PSA "
        f"iterations x {s['n']:,} children, origin {origin}, seed {s['seed']}",
    )


__all__ = ["CHEERS", "icer_text", "render_cea"]
