"""What the pages show, built from a prediction's JSON and from a scenario's result.

Plain words first ("an extra N out of 100"), then the table with 95% intervals, the
curves and the icon arrays; every block says which trial and model version its numbers
come from. Strings built here are plain text: the templates escape them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from blinasim.web.charts import IconGroup, Series, curves_svg, icon_array_svg
from blinasim.web.explorer import YEARS, ScenarioResult
from blinasim.web.forms import HORIZONS, label_of

OPTION_LABELS = {
    "chemotherapy": "Chemotherapy alone",
    "blinatumomab": "Chemotherapy with blinatumomab",
}
MEASURE_LABELS = {
    "dfs": "Alive and free of leukemia",
    "os": "Alive",
    "relapse": "Leukemia came back (relapse)",
    "hsct": "Needed a stem-cell transplant",
}
TOXICITY_LABELS = {
    "febrile_neutropenia": "Fever with low white cells (febrile neutropenia)",
    "sepsis": "Blood infection (sepsis)",
    "cytokine_release_syndrome": "Cytokine release syndrome",
    "neurotoxicity": "Nervous-system side effects (neurotoxicity)",
}
ICON_GROUPS = (
    ("alive_disease_free", "g-free", "alive and free of leukemia"),
    ("alive_after_relapse", "g-after", "alive after the leukemia came back"),
    ("died_of_leukemia", "g-leukemia", "died of leukemia"),
    ("died_of_treatment", "g-treatment", "died of treatment complications"),
    ("died_of_other_causes", "g-other", "died of other causes"),
)
RISK_WORDS = {
    "SR-Favorable": "standard risk, favorable",
    "SR-Average": "standard risk, average",
    "SR-High": "standard risk, high",
    "off-study": "would leave AALL1731 (high-risk therapy)",
    "uncertain": "not yet certain: it depends on results not entered",
}


def pct(x: float) -> str:
    """A share as a whole percentage."""
    return f"{round(100 * x):.0f}%"


def with_interval(iv: Mapping[str, float]) -> str:
    """``93% (90% to 95%)``."""
    return f"{pct(iv['estimate'])} ({pct(iv['lower'])} to {pct(iv['upper'])})"


def _points(x: float) -> str:
    """A difference of shares as signed whole children out of 100 (never ``-0``)."""
    n = round(100 * x)
    return f"{n:+d}" if n else "0"


def _points1(x: float) -> str:
    """A difference of shares in percentage points, one decimal (never ``-0.0``)."""
    v = round(100 * x, 1)
    return f"{v:+.1f}" if v else "0.0"


def _signed(n: int) -> str:
    if n > 0:
        return f"{n} more"
    if n < 0:
        return f"{-n} fewer"
    return "no difference"


def extra_words(iv: Mapping[str, float], what: str) -> str:
    """``an extra 3 out of 100 children would be <what> (95% interval: 1 more to 6 more)``."""
    n = round(100 * iv["estimate"])
    lo, hi = round(100 * iv["lower"]), round(100 * iv["upper"])
    if n >= 1:
        head = f"an extra {n} out of 100 children would be {what}"
    elif n <= -1:
        head = f"{-n} fewer out of 100 children would be {what}"
    else:
        head = f"about the same number would be {what} (less than 1 in 100 apart)"
    return f"{head} (95% interval: from {_signed(lo)} to {_signed(hi)} out of 100)"


def icon_groups(counts: Mapping[str, int]) -> list[IconGroup]:
    """The icon array's groups, in :data:`ICON_GROUPS` order."""
    return [IconGroup(int(counts.get(k, 0)), css, text) for k, css, text in ICON_GROUPS]


def with_extra(groups: list[IconGroup], difference: float) -> list[IconGroup]:
    """Split off, NHS PREDICT style, the children free of leukemia because of blinatumomab.

    ``difference`` is the paired DFS difference (blinatumomab minus chemotherapy, same
    children): its whole number out of 100, if positive, is drawn in a lighter colour
    among the blinatumomab option's disease-free children. The total stays 100.
    """
    free = groups[0]
    extra = max(0, min(round(100 * difference), free.count))
    if extra == 0:
        return groups
    return [
        IconGroup(
            free.count - extra, free.css, "alive and free of leukemia with chemotherapy alone too"
        ),
        IconGroup(extra, "g-extra", "extra alive and free of leukemia because of blinatumomab"),
        *groups[1:],
    ]


def _shown(name: str, value: Any) -> str:
    """A fact as the form asks for it (MRD as a percentage)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in ("day8_mrd", "eoi_flow", "eoi_hts", "eoc_flow") and isinstance(value, float):
        return f"{100 * value:g}%"
    if name == "cns":
        return f"CNS{value}"
    return str(value)


def _series(curves: Mapping[str, Any], key: str) -> list[Series]:
    out = []
    for opt, c in curves.items():
        out.append(
            Series(
                label=OPTION_LABELS.get(opt, opt),
                css=opt if opt in OPTION_LABELS else "chemotherapy",
                years=c["years"],
                values=c[key],
                lower=c.get(f"{key}_lower"),
                upper=c.get(f"{key}_upper"),
                dashed=opt == "chemotherapy",
            )
        )
    return out


def build_view(d: Mapping[str, Any], horizon: str) -> dict[str, Any]:
    """Everything ``aid.html`` shows, from ``Prediction.to_dict()``."""
    src = d.get("source", {})
    posterior = src.get("posterior", "shipped posterior")
    source = (
        f"Source: model {d['model_version']} ({posterior}), calibrated to "
        f"{src.get('trial', 'COG AALL1731')}. A simulation, not medical advice."
    )
    options = [o for o in ("chemotherapy", "blinatumomab") if o in d["options"]]
    comparison = d.get("comparison")
    per_h: list[dict[str, Any]] = []
    for h in HORIZONS:
        sentences = []
        for o in options:
            iv = d["options"][o]["dfs"][h]
            sentences.append(
                f"{OPTION_LABELS[o]}: about {round(100 * iv['estimate'])} out of 100 children "
                f"like yours would be alive and free of leukemia {h} years after diagnosis "
                f"(95% interval: {round(100 * iv['lower'])} to {round(100 * iv['upper'])})."
            )
        if comparison is not None:
            sentences.append(
                "With blinatumomab added, "
                + extra_words(comparison["dfs"][h], f"alive and free of leukemia at {h} years")
                + ", and "
                + extra_words(comparison["os"][h], f"alive at {h} years")
                + "."
            )
        arrays = []
        for o in options:
            groups = icon_groups(d["options"][o]["icons"][h])
            if o == "blinatumomab" and comparison is not None:
                groups = with_extra(groups, comparison["dfs"][h]["estimate"])
            arrays.append(
                {
                    "option": o,
                    "label": OPTION_LABELS[o],
                    "svg": icon_array_svg(
                        groups,
                        title=f"{OPTION_LABELS[o]}: 100 children like yours at {h} years",
                    ),
                    "legend": [(g.css, g.count, g.label) for g in groups],
                }
            )
        per_h.append({"h": h, "sentences": sentences, "arrays": arrays})
    rows = []
    for o in options:
        for m, label in MEASURE_LABELS.items():
            rows.append(
                {
                    "option": OPTION_LABELS[o],
                    "measure": label,
                    "cells": [with_interval(d["options"][o][m][h]) for h in HORIZONS],
                }
            )
    diff_rows = []
    if comparison is not None:
        for m in ("dfs", "os"):
            diff_rows.append(
                {
                    "measure": MEASURE_LABELS[m],
                    "cells": [
                        f"{_points(comparison[m][h]['estimate'])} "
                        f"({_points(comparison[m][h]['lower'])} to "
                        f"{_points(comparison[m][h]['upper'])})"
                        for h in HORIZONS
                    ],
                }
            )
    tox = [
        {
            "event": label,
            "cells": [
                with_interval(d["options"][o]["toxicities_grade3plus"][k])
                if k in d["options"][o].get("toxicities_grade3plus", {})
                else "–"
                for o in options
            ],
        }
        for k, label in TOXICITY_LABELS.items()
    ]
    curves = d.get("curves", {})
    charts: list[tuple[str, Markup]] = []
    if curves:
        for key, title in (("dfs", "Alive and free of leukemia"), ("os", "Alive")):
            charts.append(
                (
                    title,
                    curves_svg(
                        _series(curves, key),
                        title=f"{title}, children like yours, over 10 years (shaded: 95% interval)",
                        y_label="out of 100 children",
                    ),
                )
            )
    facts = d.get("facts", {})
    return {
        "risk_group": d["risk_group"],
        "risk_words": RISK_WORDS.get(d["risk_group"], d["risk_group"]),
        "risk_shares": [
            (RISK_WORDS.get(k, k), pct(v)) for k, v in d.get("risk_group_shares", {}).items()
        ],
        "options": [OPTION_LABELS[o] for o in options],
        "blinatumomab_open": "blinatumomab" in options,
        "per_horizon": per_h,
        "selected": horizon,
        "rows": rows,
        "differences": diff_rows,
        "toxicities": tox,
        "charts": charts,
        "notes": list(d.get("notes", [])),
        "limitations": list(d.get("limitations", [])),
        "unknown": [label_of(u) for u in d.get("unknown", [])],
        "given": [(label_of(k), _shown(k, v)) for k, v in facts.items() if v is not None],
        "source": source,
        "twins": d.get("matching", {}).get("twins"),
        "disclaimer": d["disclaimer"],
    }


def scenario_view(r: ScenarioResult | None) -> dict[str, Any] | None:
    """What ``job.html`` shows of a finished scenario (None while it runs)."""
    if r is None:
        return None
    years = [f"{y:g}" for y in YEARS]
    names = {
        "chemotherapy": "Chemotherapy alone",
        "aall1731": "AALL1731: 2 cycles at 15 µg/m²/day",
        "variant": f"This scenario: {r.scenario.describe()}",
    }
    rows = [
        {
            "label": names[k],
            "cells": [
                f"{pct(iv.estimate)} ({pct(iv.lower)} to {pct(iv.upper)})"
                for iv in (r.dfs[k][y] for y in YEARS)
            ],
        }
        for k in names
    ]

    def diff(ivs: Mapping[float, Any]) -> list[str]:
        return [
            f"{_points1(iv.estimate)} ({_points1(iv.lower)} to {_points1(iv.upper)})"
            for iv in (ivs[y] for y in YEARS)
        ]

    d5 = r.vs_chemotherapy[YEARS[-1]]
    return {
        "years": years,
        "rows": rows,
        "differences": [
            {"label": "this scenario minus chemotherapy alone", "cells": diff(r.vs_chemotherapy)},
            {"label": "this scenario minus AALL1731's schedule", "cells": diff(r.vs_aall1731)},
        ],
        "summary": (
            f"Among {r.scenario.stratum} children, compared with chemotherapy alone, "
            + extra_words(
                {"estimate": d5.estimate, "lower": d5.lower, "upper": d5.upper},
                f"alive and free of leukemia {YEARS[-1]:g} years after randomization",
            )
            + "."
        ),
        "source": (
            f"Source: blinasim model {r.model_version}, posterior {r.posterior} "
            f"({r.draws} draws x {r.n_children:,} virtual children), calibrated to "
            "COG AALL1731 (Gupta et al., NEJM 2025). A simulation, not medical advice."
        ),
    }
