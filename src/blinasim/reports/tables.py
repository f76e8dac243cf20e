"""Table pieces shared by every report: readable labels, numbers, published figures, roles.

One comparer of model and published numbers (:func:`published_cell`, :func:`inside`) and
one way to write an estimate with its interval, a p-value or a hazard ratio, so that the
run, analysis, compare and calibration reports read alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# relapse sites, causes and table columns as a reader says them
LABELS = {
    "marrow": "marrow",
    "cns_isolated": "isolated CNS",
    "cns": "CNS",
    "combined": "combined marrow and CNS",
    "testicular": "testicular",
    "other": "other extramedullary",
    "cytokine_release_syndrome": "cytokine release syndrome",
    "febrile_neutropenia": "febrile neutropenia",
    "sepsis": "sepsis",
    "neurotoxicity": "neurotoxicity",
    "held_out": "held out",
    "closed_form": "closed form",
}

ROLE_NOTE = (
    "Role of each published number in building the model: fitted (the calibration used it, "
    "so agreement is expected), held out (not used: a validation), derived (computed from "
    "fitted numbers), closed form (a parameter was computed from it), input (taken as given)."
)

SE_NOTE = "Published values are estimate (SE), the standard error as published."


def label(code: object) -> str:
    """A code (``cns_isolated``) as words (``isolated CNS``); unknown codes de-underscored."""
    s = str(code)
    return LABELS.get(s, s.replace("_", " "))


def is_missing(v: object) -> bool:
    """None or NaN."""
    return v is None or (isinstance(v, float) and math.isnan(v))


def pct(v: object, digits: int = 1) -> str:
    """``0.879`` -> ``87.9%``; missing -> ``–``."""
    if is_missing(v):
        return "–"
    return f"{float(v):.{digits}%}"  # type: ignore[arg-type]


def estimate_interval(d: Mapping[str, Any] | None, digits: int = 1) -> str:
    """``{estimate, lower, upper}`` as ``87.9% (85.1% to 90.2%)``."""
    if not d or is_missing(d.get("estimate")):
        return "–"
    lo, hi = d.get("lower"), d.get("upper")
    if is_missing(lo) or is_missing(hi):
        return pct(d["estimate"], digits)
    return f"{pct(d['estimate'], digits)} ({pct(lo, digits)} to {pct(hi, digits)})"


def published_cell(p: Mapping[str, Any] | None) -> str:
    """A published proportion: ``87.9% (SE 1.0%)``, ``12.3% (45/366)``, or ``not published``."""
    if not p:
        return "not published"
    if "proportion" in p:
        return f"{pct(p['proportion'])} ({p['events']}/{p['n']})"
    est = p.get("estimate")
    if is_missing(est):
        return "not published"
    se = p.get("se")
    return pct(est) + ("" if is_missing(se) or not se else f" (SE {pct(se)})")


def role_cell(p: Mapping[str, Any] | None) -> str:
    """The target's role (``fitted``, ``held out``, ...); ``–`` when not published."""
    if not p:
        return "–"
    role = p.get("role")
    return "not recorded" if role is None else label(role)


def inside(sim: Mapping[str, Any] | None, p: Mapping[str, Any] | None) -> bool | None:
    """Whether the published estimate lies in the simulated interval (None: not comparable)."""
    if not sim or not p:
        return None
    est = p.get("estimate", p.get("proportion"))
    lo, hi = sim.get("lower"), sim.get("upper")
    if is_missing(est) or is_missing(lo) or is_missing(hi):
        return None
    return bool(lo <= est <= hi)


def p_value(p: object) -> str:
    """``< 0.001``, ``0.034`` or ``–``."""
    if is_missing(p):
        return "–"
    v = float(p)  # type: ignore[arg-type]
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def hazard_ratio(d: Mapping[str, Any] | None, digits: int = 2) -> str:
    """``0.41 (95% CI 0.30 to 0.57)``, or why there is none."""
    if not d or is_missing(d.get("estimate")):
        note = (d or {}).get("not_estimable") or (d or {}).get("note")
        return f"not estimable: {note}" if note else "not estimable"
    lo, hi = d.get("lower"), d.get("upper")
    est = f"{d['estimate']:.{digits}f}"
    if is_missing(lo) or is_missing(hi):
        return est
    return f"{est} (95% CI {lo:.{digits}f} to {hi:.{digits}f})"


__all__ = [
    "LABELS",
    "ROLE_NOTE",
    "SE_NOTE",
    "estimate_interval",
    "hazard_ratio",
    "inside",
    "is_missing",
    "label",
    "p_value",
    "pct",
    "published_cell",
    "role_cell",
]
