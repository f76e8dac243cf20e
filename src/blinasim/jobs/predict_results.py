"""Per-option results of a prediction from the matched twins of every posterior draw.

Chemotherapy: every matched twin, on the chemotherapy of its AALL1731 stratum (arm FAV,
A or C; a twin who would leave the study, on the high-risk stand-in arm). Blinatumomab:
the matched twins randomized in AALL1731 (SR-Average with detectable or indeterminate EOI
HTS MRD, SR-High with EOC flow MRD < 0.1%), on arm B or D. The comparison is paired on the
twins open to both (common random numbers). Times are from diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from blinasim.jobs.predict_summary import (
    Interval,
    curve_band,
    difference_interval,
    largest_remainder,
    share_interval,
)
from blinasim.jobs.predict_twins import AE_EVENTS, ICONS, OPTIONS, DrawTwins
from blinasim.model.after_relapse import SITES
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]

HORIZONS_YEARS = (3, 5, 10)
MEASURES = ("dfs", "os", "relapse", "relapse_marrow", "relapse_cns", "hsct")
"""``dfs``: alive without relapse or second cancer; ``os``: alive; ``relapse``: any first
relapse (``relapse_marrow``: marrow, alone or combined; ``relapse_cns``: isolated CNS);
``hsct``: an allogeneic transplant (after relapse)."""
MARROW, CNS, COMBINED = (SITES.index(s) for s in ("marrow", "cns", "combined"))
CURVE_MONTHS = 120
MIN_OPTION_TWINS = 30
"""Fewer eligible twins than this and the option is not reported."""


@dataclass(frozen=True)
class OptionResult:
    """One option's numbers: measures by horizon, toxicities, icon counts out of 100."""

    twins: int
    eligible_share: float
    measures: dict[str, dict[int, Interval]]
    toxicities: dict[str, Interval]
    icons: dict[int, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{dfs|os|relapse|hsct: {"3"|"5"|"10": {...}}, relapse_by_site, ...}``."""

        def by_h(m: str) -> dict[str, dict[str, float]]:
            return {str(h): iv.as_dict() for h, iv in self.measures[m].items()}

        return {
            "dfs": by_h("dfs"),
            "os": by_h("os"),
            "relapse": by_h("relapse"),
            "relapse_by_site": {"marrow": by_h("relapse_marrow"), "cns": by_h("relapse_cns")},
            "hsct": by_h("hsct"),
            "toxicities_grade3plus": {k: v.as_dict() for k, v in self.toxicities.items()},
            "icons": {str(h): dict(c) for h, c in self.icons.items()},
            "twins": self.twins,
            "eligible_share": round(self.eligible_share, 4),
        }


@dataclass(frozen=True)
class Comparison:
    """Blinatumomab minus chemotherapy, paired on the twins open to both."""

    twins: int
    dfs: dict[int, Interval]
    os: dict[int, Interval]
    dfs_by_option: dict[str, dict[int, Interval]]
    """DFS of each option on these same twins (differs from the option's own numbers only
    when blinatumomab was open to some of the children like this one)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (differences of shares: 0.05 = 5 more out of 100)."""
        return {
            "what": "blinatumomab minus chemotherapy, same simulated children",
            "twins": self.twins,
            "dfs": {str(h): iv.as_dict() for h, iv in self.dfs.items()},
            "os": {str(h): iv.as_dict() for h, iv in self.os.items()},
            "dfs_by_option": {
                o: {str(h): iv.as_dict() for h, iv in by.items()}
                for o, by in self.dfs_by_option.items()
            },
        }


@dataclass(frozen=True)
class Summary:
    """What :func:`summarize` finds."""

    risk_group: str
    risk_group_shares: dict[str, float]
    eligible_options: tuple[str, ...]
    options: dict[str, OptionResult]
    comparison: Comparison | None
    curves: dict[str, dict[str, list[float]]]
    notes: tuple[str, ...]


def _flags(o: dict[str, Any], m: str, t: float) -> NDArray[np.bool_]:
    if m == "dfs":
        return np.asarray(o["dfs_event_day"] > t)
    if m == "os":
        return np.asarray(o["death_day"] > t)
    if m == "hsct":
        return np.asarray(o["hsct_day"] <= t)
    rel = o["relapse_day"] <= t
    if m == "relapse_marrow":
        return np.asarray(rel & ((o["site"] == MARROW) | (o["site"] == COMBINED)))
    if m == "relapse_cns":
        return np.asarray(rel & (o["site"] == CNS))
    return np.asarray(rel)


def _icon_codes(o: dict[str, Any], t: float) -> NDArray[np.int8]:
    dead = o["death_day"] <= t
    code = np.where(o["dfs_event_day"] <= t, 1, 0).astype(np.int8)
    return np.where(dead, o["death_icon"], code).astype(np.int8)


def _select(o: dict[str, Any], rows: NDArray[np.intp]) -> dict[str, Any]:
    return {k: v[rows] for k, v in o.items()}


def _option(sets: list[dict[str, Any]], share: float, w: FloatArray) -> OptionResult:
    measures = {
        m: {
            h: share_interval([_flags(s, m, h * DAYS_PER_YEAR) for s in sets], w)
            for h in HORIZONS_YEARS
        }
        for m in MEASURES
    }
    tox = {e: share_interval([np.asarray(s[f"ae_{e}"]) for s in sets], w) for e in AE_EVENTS}
    icons: dict[int, dict[str, int]] = {}
    for h in HORIZONS_YEARS:
        # each draw's icon shares, averaged with the draws' weights
        counts = np.zeros(len(ICONS))
        for s, wd in zip(sets, w, strict=True):
            c = _icon_codes(s, h * DAYS_PER_YEAR)
            if c.size:
                counts += wd * np.bincount(c, minlength=len(ICONS)) / c.size
        icons[h] = largest_remainder({k: counts[i] for i, k in enumerate(ICONS)})
    return OptionResult(
        twins=sum(len(s["death_day"]) for s in sets),
        eligible_share=share,
        measures=measures,
        toxicities=tox,
        icons=icons,
    )


def _curves(sets: list[dict[str, Any]], w: FloatArray) -> dict[str, list[float]]:
    months = np.arange(CURVE_MONTHS + 1, dtype=np.float64)
    at = months / 12.0 * DAYS_PER_YEAR
    out: dict[str, list[float]] = {"years": [round(m / 12.0, 4) for m in months]}
    for key, col in (("dfs", "dfs_event_day"), ("os", "death_day")):
        est, lo, hi = curve_band([np.asarray(s[col]) for s in sets], at, w)
        out[key] = [round(float(x), 4) for x in est]
        out[f"{key}_lower"] = [round(float(x), 4) for x in lo]
        out[f"{key}_upper"] = [round(float(x), 4) for x in hi]
    return out


def summarize(
    twins: list[DrawTwins], masks: list[NDArray[np.bool_]], weights: list[float]
) -> Summary:
    """Options, comparison, risk group and curves of the matched twins.

    ``masks``: the twins kept in each draw; ``weights``: each draw's weight (its number of
    matched candidates: the likelihood of the child's readouts under the draw).
    """
    w = np.asarray(weights, dtype=np.float64)
    shares = _shares([t.stratum[m] for t, m in zip(twins, masks, strict=True)])
    top = next(iter(shares))
    risk_group = top if shares[top] >= 0.995 else "uncertain"
    after_eoc = _shares([t.risk_group[m] for t, m in zip(twins, masks, strict=True)])
    total = sum(int(m.sum()) for m in masks)
    notes: list[str] = []
    options: dict[str, OptionResult] = {}
    curves: dict[str, dict[str, list[float]]] = {}
    sets_by: dict[str, list[dict[str, Any]]] = {}
    for opt in OPTIONS:
        rows = [np.flatnonzero(m & t.eligible[opt]) for t, m in zip(twins, masks, strict=True)]
        n_opt = sum(r.size for r in rows)
        if n_opt < MIN_OPTION_TWINS:
            continue
        sets = [_select(t.outcomes[opt], r) for t, r in zip(twins, rows, strict=True)]
        sets_by[opt] = sets
        options[opt] = _option(sets, n_opt / total, w)
        curves[opt] = _curves(sets, w)
    comparison = None
    if OPTIONS[1] in options:
        both = [np.flatnonzero(m & t.randomized) for t, m in zip(twins, masks, strict=True)]

        def diff(col: str, h: int) -> Interval:
            vals = []
            for t, r in zip(twins, both, strict=True):
                b = t.outcomes[OPTIONS[1]][col][r] > h * DAYS_PER_YEAR
                c = t.outcomes[OPTIONS[0]][col][r] > h * DAYS_PER_YEAR
                vals.append(b.astype(np.float64) - c.astype(np.float64))
            return difference_interval(vals, w)

        def alone(opt: str, h: int) -> Interval:
            return share_interval(
                [
                    t.outcomes[opt]["dfs_event_day"][r] > h * DAYS_PER_YEAR
                    for t, r in zip(twins, both, strict=True)
                ],
                w,
            )

        comparison = Comparison(
            twins=sum(r.size for r in both),
            dfs={h: diff("dfs_event_day", h) for h in HORIZONS_YEARS},
            os={h: diff("death_day", h) for h in HORIZONS_YEARS},
            dfs_by_option={o: {h: alone(o, h) for h in HORIZONS_YEARS} for o in OPTIONS},
        )
        share = options[OPTIONS[1]].eligible_share
        if share < 0.995:
            notes.append(
                f"Blinatumomab was open in AALL1731 to about {share:.0%} of children like "
                "yours (those randomized: SR-Average with detectable or indeterminate "
                "end-of-induction HTS MRD, SR-High with end-of-consolidation MRD under 0.1%); "
                "its numbers and the comparison are for them."
            )
    notes.extend(_group_notes(shares, after_eoc, OPTIONS[1] in options))
    return Summary(
        risk_group=risk_group,
        risk_group_shares=shares,
        eligible_options=tuple(options),
        options=options,
        comparison=comparison,
        curves=curves,
        notes=tuple(notes),
    )


def _shares(groups: list[NDArray[np.object_]]) -> dict[str, float]:
    """Share of each group among the twins (largest first)."""
    g, c = np.unique(np.concatenate(groups).astype(str), return_counts=True)
    total = int(c.sum())
    order = np.argsort(-c, kind="stable")
    return {str(g[i]): int(c[i]) / total for i in order}


def _group_notes(shares: dict[str, float], after_eoc: dict[str, float], blina: bool) -> list[str]:
    out = []
    if shares.get("SR-Favorable", 0.0) > 0.0:
        out.append(
            "SR-Favorable children were not randomized to blinatumomab in AALL1731: "
            "chemotherapy only."
        )
    gone = after_eoc.get("off-study", 0.0)
    if gone > 0.0:
        out.append(
            f"About {gone:.0%} of children like yours would leave AALL1731 (end-of-induction "
            "MRD of 5% or more, or SR-High with end-of-consolidation MRD of 0.1% or more); "
            "their chemotherapy numbers come from a high-risk stand-in arm, not from the trial."
        )
    if shares.get("SR-Average", 0.0) > 0.0 and not blina:
        out.append(
            "SR-Average children with undetectable end-of-induction HTS MRD were assigned "
            "chemotherapy (arm A) without randomization in AALL1731."
        )
    return out
