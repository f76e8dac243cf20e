"""Calibration targets: the published numbers of :mod:`blinasim.targets`, re-exported.

The schema, the roles (``fitted``, ``held_out``, ``derived``, ``closed_form``, ``input``) and
the look-ups by fields live in :mod:`blinasim.targets`, below the model and calibration
layers, so that the model's validation table, the calibration and the run summaries read
the same file (``data/targets/aall1731.yaml``). Which targets a calibration fits is their
``role`` (:meth:`blinasim.calibrate.config.CalibrationConfig.load_targets`).

:func:`published_for_run` gives a simulated trial's summary the published figures it is shown
beside (3-year DFS per arm and stratum, grade >= 3 adverse events per arm and event, number
randomized per arm), each with its target id and role.
"""

from __future__ import annotations

from typing import Any

from blinasim.targets import (
    ROLES,
    Count,
    Role,
    SdN,
    SummarySpec,
    Target,
    TargetFileSpec,
    TargetSet,
    TargetSpec,
    default_targets_path,
    load_targets,
    published,
    shipped_targets,
)

ROLE_LABELS: dict[str, str] = {
    "fitted": "fitted",
    "held_out": "held out (validation)",
    "derived": "derived from fitted targets",
    "closed_form": "set a parameter (closed form)",
    "input": "model input",
}
"""How a table names each role; only ``held_out`` is ever called a validation."""


def role_label(role: str) -> str:
    """The table label of a target role (:data:`ROLE_LABELS`)."""
    return ROLE_LABELS[role]


def _entry(t: Target) -> dict[str, Any]:
    return {
        "id": t.id,
        "estimate": t.estimate,
        "se": t.se,
        "role": t.role,
        "provenance": t.provenance,
    }


def published_for_run(targets: TargetSet | None = None, study: str = "AALL1731") -> dict[str, Any]:
    """The published figures a simulated trial's summary sits beside, each with its role.

    JSON-ready: ``dfs_3y[arm]`` and ``dfs_3y_by_stratum[stratum][arm]`` ({id, estimate, se,
    role, provenance}); ``ae_grade3plus[arm][event]`` (strata pooled: {proportion, events,
    n, role, ids}); ``n_randomized[arm]`` ({id, n, role}); ``roles`` and ``sources`` by id.
    """
    ts = targets if targets is not None else shipped_targets()
    out: dict[str, Any] = {
        "dfs_3y": {},
        "dfs_3y_by_stratum": {},
        "ae_grade3plus": {},
        "n_randomized": {},
        "roles": {},
        "sources": {},
    }
    used: list[Target] = []
    for t in ts.find("dfs", study=study, time_years=3.0):
        if t.arm is None or t.stratum is None:
            continue
        if t.stratum == "all":
            out["dfs_3y"][t.arm] = _entry(t)
        else:
            out["dfs_3y_by_stratum"].setdefault(t.stratum, {})[t.arm] = _entry(t)
        used.append(t)
    pooled: dict[tuple[str, str], list[Target]] = {}
    for t in ts.find("adverse_event", study=study):
        if t.arm is not None and t.event is not None and t.kind == "binomial":
            pooled.setdefault((t.arm, t.event), []).append(t)
            used.append(t)
    for (arm, event), group in pooled.items():
        events = sum(t.events for t in group)
        n = sum(t.n for t in group)
        roles = {t.role for t in group}
        out["ae_grade3plus"].setdefault(arm, {})[event] = {
            "proportion": events / n,
            "events": events,
            "n": n,
            "role": roles.pop() if len(roles) == 1 else "mixed",
            "ids": [t.id for t in group],
        }
    for t in ts.find("n_randomized", study=study):
        if t.arm is not None:
            out["n_randomized"][t.arm] = {"id": t.id, "n": round(t.estimate), "role": t.role}
            used.append(t)
    for t in used:
        out["roles"][t.id] = t.role
        out["sources"][t.id] = t.source
    return out


__all__ = [
    "ROLES",
    "ROLE_LABELS",
    "Count",
    "Role",
    "SdN",
    "SummarySpec",
    "Target",
    "TargetFileSpec",
    "TargetSet",
    "TargetSpec",
    "default_targets_path",
    "load_targets",
    "published",
    "published_for_run",
    "role_label",
    "shipped_targets",
]
