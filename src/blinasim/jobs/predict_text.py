"""Plain-language text of a prediction (what ``blinasim predict`` prints without --json)."""

from __future__ import annotations

from blinasim.jobs.predict import TRIAL, Prediction
from blinasim.jobs.predict_results import HORIZONS_YEARS

FACT_WORDS = {
    "age_years": "age",
    "sex": "sex",
    "wbc_k_per_ul": "white-cell count at diagnosis",
    "cns": "CNS status",
    "genetics": "genetics",
    "down_syndrome": "Down syndrome",
    "day8_mrd": "day-8 blood MRD",
    "eoi_flow": "end-of-induction flow MRD",
    "eoi_hts": "end-of-induction HTS MRD",
    "eoc_flow": "end-of-consolidation flow MRD",
}
OPTION_WORDS = {"chemotherapy": "chemotherapy alone", "blinatumomab": "blinatumomab added"}
ICON_WORDS = {
    "alive_disease_free": "alive and free of leukemia",
    "alive_after_relapse": "alive after a relapse (or a second cancer)",
    "died_of_leukemia": "died of leukemia",
    "died_of_treatment": "died of complications of treatment",
    "died_of_other_causes": "died of other causes",
}
TOX_WORDS = {
    "febrile_neutropenia": "fever with low blood counts (febrile neutropenia)",
    "sepsis": "sepsis",
    "cytokine_release_syndrome": "cytokine release syndrome",
    "neurotoxicity": "neurological side effects",
}


def _n(x: float) -> int:
    return round(100 * x)


def _range(lo: float, hi: float) -> str:
    return f"{_n(lo)} to {_n(hi)}"


def headline(pred: Prediction, years: int = 5) -> str:
    """The sentence comparing the options at ``years`` (out of 100 children)."""
    chemo = pred.options.get("chemotherapy")
    blina = pred.options.get("blinatumomab")
    if chemo is None:
        return "No option could be simulated for this child."
    cmp = pred.comparison
    if blina is None or cmp is None:
        c = chemo.icons[years]["alive_disease_free"]
        return (
            f"Out of 100 children like yours, about {c} are alive and free of leukemia "
            f"{years} years after diagnosis with chemotherapy alone."
        )
    # both options on the same children: those to whom blinatumomab was open
    c = _n(cmp.dfs_by_option["chemotherapy"][years].estimate)
    b = _n(cmp.dfs_by_option["blinatumomab"][years].estimate)
    d = cmp.dfs[years]
    who = "children like yours"
    if blina.eligible_share < 0.995:
        who = "children like yours to whom blinatumomab was open in the trial"
    return (
        f"Out of 100 {who}, about {c} are alive and free of leukemia {years} years after "
        f"diagnosis with chemotherapy alone, and about {b} with blinatumomab added: "
        f"{_describe_extra(b - c)} (95% interval {round(100 * d.lower):+d} to "
        f"{round(100 * d.upper):+d})."
    )


def _describe_extra(k: int) -> str:
    if k > 0:
        return f"an extra {k} out of 100"
    if k < 0:
        return f"{-k} fewer out of 100"
    return "no difference out of 100"


def render(pred: Prediction) -> str:
    """The whole plain-language text."""
    lines: list[str] = []
    group = pred.risk_group
    if group == "uncertain":
        parts = ", ".join(f"{k} {v:.0%}" for k, v in pred.risk_group_shares.items())
        lines.append(f"Risk group in AALL1731: not certain from what is known ({parts}).")
    else:
        lines.append(f"Risk group in AALL1731: {group}.")
    opts = " or ".join(OPTION_WORDS[o] for o in pred.eligible_options)
    blina = pred.options.get("blinatumomab")
    if blina is not None and blina.eligible_share < 0.995:
        opts = (
            f"chemotherapy alone; blinatumomab added for about {blina.eligible_share:.0%} of "
            "them (those AALL1731 randomized)"
        )
    lines.append(f"Options open to children like yours in the trial: {opts}.")
    lines.append("")
    lines.append(headline(pred, 5))
    lines.append("")
    for opt, res in pred.options.items():
        lines.append(f"With {OPTION_WORDS[opt]} ({res.twins:,} simulated children):")
        for h in HORIZONS_YEARS:
            dfs, os_ = res.measures["dfs"][h], res.measures["os"][h]
            lines.append(
                f"  {h:>2} years: {_n(dfs.estimate)} out of 100 alive and free of leukemia "
                f"({_range(dfs.lower, dfs.upper)}); {_n(os_.estimate)} alive "
                f"({_range(os_.lower, os_.upper)})"
            )
        icons = res.icons[10]
        lines.append(
            "  after 10 years, out of 100: "
            + "; ".join(f"{v} {ICON_WORDS[k]}" for k, v in icons.items() if v)
        )
        rel, hsct = res.measures["relapse"][10], res.measures["hsct"][10]
        m, c = res.measures["relapse_marrow"][10], res.measures["relapse_cns"][10]
        lines.append(
            f"  relapse by 10 years: {_n(rel.estimate)} out of 100 (in the marrow "
            f"{_n(m.estimate)}, in the brain and spinal fluid alone {_n(c.estimate)}); "
            f"a stem-cell transplant: {_n(hsct.estimate)} out of 100"
        )
        tox = "; ".join(f"{TOX_WORDS[k]} {_n(v.estimate)}" for k, v in res.toxicities.items())
        lines.append(f"  serious side effects after the decision, out of 100: {tox}")
        lines.append("")
    lines.append("Numbers in brackets are 95% intervals from the model's uncertainty.")
    if pred.unknown:
        words = ", ".join(FACT_WORDS[k] for k in pred.unknown)
        lines.append(
            f"Not known, so averaged over what is typical for children in the trial: {words}."
        )
    lines.extend(pred.notes)
    lines.append("")
    lines.append("What the model does not know:")
    lines.extend(f"  - {x}" for x in pred.limitations)
    lines.append("")
    lines.append(
        f"Source: simulations of {TRIAL}, {pred.model_version}, posterior {pred.posterior}; "
        f"{pred.matching['twins']:,} of {pred.matching['candidates']:,} simulated children "
        f"matched (seed {pred.seed})."
    )
    lines.append(
        "These numbers are about groups of children, not a forecast for your child: talk with "
        "your child's oncologist about what they mean and about the care plan."
    )
    lines.append(pred.disclaimer)
    return "\n".join(lines)
