"""The arms of a protocol as the engine runs them: plans, the common start, who runs where.

:func:`model_plans` turns a protocol's arms into :class:`~blinasim.model.plan.ArmPlan`
(built once per protocol object), :func:`pre_randomization` picks the arm whose induction
and consolidation every child starts on, and :func:`arm_members` decides which children run
on which arm (randomized children on every arm of their stratum: common random numbers).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from blinasim.model.plan import ArmPlan, arm_plan, reference_intensities

_PLANS: dict[int, tuple[Any, dict[str, ArmPlan]]] = {}
"""Arm plans of the protocols simulated lately (id -> (protocol, plans)); a few entries."""


def model_plans(protocol: Any) -> dict[str, ArmPlan]:
    """The protocol's arm plans (by arm name), built once per protocol object.

    Plans depend on the protocol only (not on the parameters); the CEA simulates one
    protocol hundreds of times (3 ms each to build). The entry holds the protocol itself,
    so its id cannot be reused while it is cached.
    """
    hit = _PLANS.get(id(protocol))
    if hit is not None and hit[0] is protocol:
        return dict(hit[1])
    plans = _build_plans(protocol)
    if len(_PLANS) >= 8:
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[id(protocol)] = (protocol, plans)
    return dict(plans)


def _build_plans(protocol: Any) -> dict[str, ArmPlan]:
    arms = [protocol.arm(n) for n in protocol.arm_names]
    controls = [a for a in arms if a.control] + [a for a in arms if not a.control]
    ref = reference_intensities(controls)
    return {a.name: arm_plan(a, ref) for a in arms}


def pre_randomization(plans: dict[str, ArmPlan]) -> ArmPlan:
    """The reference arm for the common start (the first control arm with a consolidation)."""
    cands = [
        p for p in plans.values() if p.control and not math.isnan(p.phase_end("consolidation"))
    ]
    if not cands:
        cands = list(plans.values())
    return cands[0]


OFF_STUDY = "off-study"


def proxy_arm(plans: dict[str, ArmPlan]) -> str:
    """Arm of the children taken off study.

    The protocol's ``off-study`` arm (a high-risk stand-in), else the SR-High control arm.
    """
    own = [p for p in plans.values() if p.stratum == OFF_STUDY]
    high = [p for p in plans.values() if p.stratum == "SR-High" and p.control]
    ctrl = [p for p in plans.values() if p.control]
    return (own or high or ctrl or list(plans.values()))[0].name


def arm_members(
    plans: dict[str, ArmPlan],
    stratum: Any,
    group: Any,
    randomized: NDArray[np.bool_],
    forced: str | None,
) -> dict[str, NDArray[np.intp]]:
    """Which children (row indices) run on which arm.

    Randomized children run on every arm of their stratum (or only on the forced arm); other
    children on study run once, on their stratum's first control arm (or its only arm).
    Children off study (induction failure, SR-High with EOC MRD >= 0.1%, ...) are simulated on
    the protocol's off-study arm (else the SR-High control arm) as a stand-in for further
    therapy, under the key ``""``
    (reported with ``arm`` missing); a forced arm leaves them out.
    """
    out: dict[str, NDArray[np.intp]] = {}
    on_study = np.asarray(group != OFF_STUDY, dtype=bool)
    for name, p in plans.items():
        arms = [q for q in plans.values() if q.stratum == p.stratum]
        default = ([q for q in arms if q.control] or arms)[0].name
        in_stratum = on_study & np.asarray(stratum == p.stratum, dtype=bool)
        if forced is not None:
            if name != forced:
                continue
            # its stratum's randomized children, or those on it without randomization (e.g.
            # SR-Average with undetectable HTS MRD on arm A)
            mask = in_stratum & (randomized | math.isnan(p.randomization_day) | (name == default))
        else:
            mask = in_stratum & (randomized | (name == default))
        idx = np.flatnonzero(mask)
        if idx.size:
            out[name] = idx
    if forced is None and (~on_study).any():
        out[""] = np.flatnonzero(~on_study)
    return out


__all__ = ["OFF_STUDY", "arm_members", "model_plans", "pre_randomization", "proxy_arm"]
