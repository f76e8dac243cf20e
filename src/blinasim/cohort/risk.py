"""AALL1731 risk stratification from covariates and MRD readouts (pure, vectorized).

Two steps, as in the trial:

* **EOI** (:func:`assign_eoi`), end of induction: genetics, CNS status, Down syndrome, day-8
  blood flow MRD, EOI marrow flow MRD and EOI HTS MRD give the stratum (SR-Favorable,
  SR-Average, SR-High) or take the child off study (induction failure, missing EOI MRD).
  SR-Average children are randomized here (arm A vs B); SR-Favorable children are assigned
  chemotherapy (arm FAV); SR-High children wait for the end of consolidation.
* **EOC** (:func:`assign_eoc`), end of consolidation: SR-High children are randomized
  (arm C vs D) if EOC flow MRD < 0.1%, else they leave the study.

:func:`assign_risk_group` runs both. MRD readouts are fractions (``1e-4`` = 0.01%), ``NaN``
when not done; HTS has an ``indeterminate`` flag. Every rule that is an assumption is a
named parameter of the ``risk_groups`` section of ``parameters.yaml``; the rules table is in
``docs/risk_groups.md``. The first matching rule (in that table's order) decides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from blinasim.config import ParameterSet
from blinasim.errors import InputError, ParameterError

GROUPS = ("SR-Favorable", "SR-Average", "SR-High", "off-study")
"""Values of ``stratum`` and ``group``."""

STATUSES = ("assigned", "randomized", "pending-EOC", "off-study")
"""Values of ``status``: assigned (SR-Favorable, not randomized), randomized, waiting for
the EOC readout (SR-High after EOI), off study."""

REASONS = (
    "EOI flow MRD missing",
    "induction failure",
    "unfavorable genetics",
    "EOI flow MRD >= 0.01%",
    "CNS2, neutral genetics",
    "CNS2, favorable genetics",
    "Down syndrome",
    "day-8 blood MRD >= 1%",
    "EOI HTS MRD indeterminate",
    "EOI HTS MRD detectable",
    "neutral genetics, CNS1, EOI MRD negative by flow and HTS",
    "favorable genetics, CNS1, EOI MRD negative by flow and HTS",
    "EOC flow MRD missing",
    "EOC MRD >= 0.1%",
)
"""Reasons, in rule order (EOI rules, then EOC rules)."""

_STRATUM_FIELDS = (
    "unfavorable_genetics_stratum",
    "eoi_flow_positive_stratum",
    "cns2_neutral_stratum",
    "cns2_favorable_stratum",
    "neutral_hts_negative_stratum",
    "hts_indeterminate_stratum",
    "down_syndrome_favorable_stratum",
)


@dataclasses.dataclass(frozen=True)
class RiskRules:
    """The ``risk_groups`` section of ``parameters.yaml`` (see the module docstring)."""

    eoi_flow_mrd_positive_at: float
    eoi_hts_mrd_positive_at: float
    eoc_flow_mrd_max_for_randomization: float
    induction_failure_eoi_flow_mrd: float
    day8_pb_mrd_max_for_favorable: float
    unfavorable_genetics_stratum: str
    eoi_flow_positive_stratum: str
    cns2_neutral_stratum: str
    cns2_favorable_stratum: str
    neutral_hts_negative_stratum: str
    hts_indeterminate_stratum: str
    hts_missing_is_indeterminate: bool
    down_syndrome_favorable_stratum: str

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> RiskRules:
        """Read and check the ``risk_groups`` section (default: the shipped file)."""
        ps = ParameterSet.given(params)
        rules = ps.section("risk_groups", cls)
        for name in _STRATUM_FIELDS:
            if getattr(rules, name) not in GROUPS:
                raise ParameterError(
                    f"one of {list(GROUPS)}",
                    file=ps.origin,
                    field=f"risk_groups.{name}",
                    got=getattr(rules, name),
                )
        for name in (
            "eoi_flow_mrd_positive_at",
            "eoi_hts_mrd_positive_at",
            "eoc_flow_mrd_max_for_randomization",
            "induction_failure_eoi_flow_mrd",
            "day8_pb_mrd_max_for_favorable",
        ):
            v = getattr(rules, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 < v <= 1.0:
                raise ParameterError(
                    "a fraction in (0, 1]", file=ps.origin, field=f"risk_groups.{name}", got=v
                )
        if not isinstance(rules.hts_missing_is_indeterminate, bool):
            raise ParameterError(
                "true or false",
                file=ps.origin,
                field="risk_groups.hts_missing_is_indeterminate",
                got=rules.hts_missing_is_indeterminate,
            )
        return rules


@dataclasses.dataclass(frozen=True)
class RiskAssignment:
    """Risk stratification of a cohort after a step (``"EOI"`` or ``"EOC"``).

    ``stratum``: the EOI stratum (``off-study`` if the child left at EOI). ``group``: the
    stratum while on study, ``off-study`` after leaving (e.g. SR-High with EOC MRD >= 0.1%).
    ``status``: one of :data:`STATUSES`. ``randomized``: True once randomized. ``reason``:
    the rule that decided (see :data:`REASONS`).
    """

    step: Literal["EOI", "EOC"]
    stratum: pd.Categorical[str]
    group: pd.Categorical[str]
    status: pd.Categorical[str]
    reason: pd.Categorical[str]
    randomized: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.randomized)

    def to_frame(self) -> pd.DataFrame:
        """One row per child: stratum, group, status, randomized, reason."""
        return pd.DataFrame(
            {
                "stratum": self.stratum,
                "group": self.group,
                "status": self.status,
                "randomized": self.randomized,
                "reason": self.reason,
            }
        )


def _cat(codes: NDArray[np.integer[Any]], cats: tuple[str, ...]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=pd.Index(cats))


def _floats(name: str, x: ArrayLike | None, n: int) -> NDArray[np.float64]:
    if x is None:
        return np.full(n, np.nan)
    a = np.asarray(x, dtype=np.float64)
    if a.shape == ():
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise InputError(f"an array of {n} MRD fractions", field=name, got=f"shape {a.shape}")
    if np.any(a[~np.isnan(a)] < 0) or np.any(a[~np.isnan(a)] > 1):
        raise InputError("MRD fractions in [0, 1] (NaN = not done)", field=name)
    return a


def _bools(name: str, x: ArrayLike | None, n: int) -> NDArray[np.bool_]:
    if x is None:
        return np.zeros(n, dtype=bool)
    a = np.asarray(x)
    if a.shape == ():
        a = np.full(n, bool(a))
    if a.shape != (n,):
        raise InputError(f"an array of {n} booleans", field=name, got=f"shape {a.shape}")
    return a.astype(bool)


def _strings(name: str, x: Any, n: int, allowed: tuple[str, ...]) -> NDArray[np.object_]:
    a = np.asarray(x, dtype=object)
    if a.shape != (n,):
        raise InputError(f"an array of {n} values", field=name, got=f"shape {a.shape}")
    bad = ~np.isin(a, np.array(allowed, dtype=object))
    if bad.any():
        raise InputError(f"values in {list(allowed)}", field=name, got=a[bad][0])
    return a


def _column(covariates: Mapping[str, Any] | pd.DataFrame, key: str) -> Any:
    try:
        return covariates[key]
    except KeyError:
        raise InputError(f"a covariate column {key!r}", field=key) from None


def assign_eoi(
    covariates: Mapping[str, Any] | pd.DataFrame,
    *,
    eoi_flow_mrd: ArrayLike,
    eoi_hts_mrd: ArrayLike | None = None,
    eoi_hts_indeterminate: ArrayLike | None = None,
    day8_pb_mrd: ArrayLike | None = None,
    rules: RiskRules | None = None,
) -> RiskAssignment:
    """Stratum at the end of induction.

    ``covariates`` needs ``genetics`` (favorable/neutral/unfavorable), ``cns_status``
    (CNS1/CNS2) and ``down_syndrome`` (bool): a cohort table from
    :func:`blinasim.cohort.sample_cohort` works as is.
    """
    r = rules if rules is not None else RiskRules.load()
    ds_raw = _column(covariates, "down_syndrome")
    n = len(np.asarray(ds_raw))
    genetics = _strings(
        "genetics", _column(covariates, "genetics"), n, ("favorable", "neutral", "unfavorable")
    )
    cns = _strings("cns_status", _column(covariates, "cns_status"), n, ("CNS1", "CNS2"))
    ds = _bools("down_syndrome", ds_raw, n)
    flow = _floats("eoi_flow_mrd", eoi_flow_mrd, n)
    hts = _floats("eoi_hts_mrd", eoi_hts_mrd, n)
    hts_ind = _bools("eoi_hts_indeterminate", eoi_hts_indeterminate, n)
    day8 = _floats("day8_pb_mrd", day8_pb_mrd, n)
    if r.hts_missing_is_indeterminate:
        hts_ind = hts_ind | np.isnan(hts)

    fav = genetics == "favorable"
    neutral = genetics == "neutral"
    flow_pos = flow >= r.eoi_flow_mrd_positive_at
    g = GROUPS.index
    # (condition, stratum, reason) in rule order; the first match decides
    rules_table: list[tuple[NDArray[np.bool_], str, str]] = [
        (np.isnan(flow), "off-study", "EOI flow MRD missing"),
        (flow >= r.induction_failure_eoi_flow_mrd, "off-study", "induction failure"),
        (genetics == "unfavorable", r.unfavorable_genetics_stratum, "unfavorable genetics"),
        (flow_pos, r.eoi_flow_positive_stratum, "EOI flow MRD >= 0.01%"),
        ((cns == "CNS2") & neutral, r.cns2_neutral_stratum, "CNS2, neutral genetics"),
        ((cns == "CNS2") & fav, r.cns2_favorable_stratum, "CNS2, favorable genetics"),
        (ds, r.down_syndrome_favorable_stratum, "Down syndrome"),
        (day8 >= r.day8_pb_mrd_max_for_favorable, "SR-Average", "day-8 blood MRD >= 1%"),
        (hts_ind, r.hts_indeterminate_stratum, "EOI HTS MRD indeterminate"),
        (hts >= r.eoi_hts_mrd_positive_at, "SR-Average", "EOI HTS MRD detectable"),
        (
            neutral,
            r.neutral_hts_negative_stratum,
            "neutral genetics, CNS1, EOI MRD negative by flow and HTS",
        ),
        (
            np.ones(n, dtype=bool),
            "SR-Favorable",
            "favorable genetics, CNS1, EOI MRD negative by flow and HTS",
        ),
    ]
    group = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, -1, dtype=np.int64)
    for cond, stratum, why in rules_table:
        take = cond & (group < 0)
        group[take] = g(stratum)
        reason[take] = REASONS.index(why)
    status = np.select(
        [group == g("off-study"), group == g("SR-Favorable"), group == g("SR-Average")],
        [STATUSES.index("off-study"), STATUSES.index("assigned"), STATUSES.index("randomized")],
        default=STATUSES.index("pending-EOC"),
    )
    return RiskAssignment(
        step="EOI",
        stratum=_cat(group, GROUPS),
        group=_cat(group, GROUPS),
        status=_cat(status, STATUSES),
        reason=_cat(reason, REASONS),
        randomized=status == STATUSES.index("randomized"),
    )


def assign_eoc(
    eoi: RiskAssignment, *, eoc_flow_mrd: ArrayLike, rules: RiskRules | None = None
) -> RiskAssignment:
    """After consolidation: SR-High children are randomized if EOC flow MRD < 0.1%.

    Children not waiting for EOC (SR-Favorable, SR-Average, off study) are unchanged;
    their EOC readout is ignored.
    """
    r = rules if rules is not None else RiskRules.load()
    if eoi.step != "EOI":
        raise InputError("an EOI assignment (assign_eoi)", field="eoi", got=eoi.step)
    n = len(eoi)
    eoc = _floats("eoc_flow_mrd", eoc_flow_mrd, n)
    pending = np.asarray(eoi.status == "pending-EOC")
    missing = pending & np.isnan(eoc)
    high = pending & ~missing & (eoc >= r.eoc_flow_mrd_max_for_randomization)
    ok = pending & ~missing & ~high
    group = np.asarray(eoi.group.codes, dtype=np.int64).copy()
    status = np.asarray(eoi.status.codes, dtype=np.int64).copy()
    reason = np.asarray(eoi.reason.codes, dtype=np.int64).copy()
    off = missing | high
    group[off] = GROUPS.index("off-study")
    status[off] = STATUSES.index("off-study")
    status[ok] = STATUSES.index("randomized")
    reason[missing] = REASONS.index("EOC flow MRD missing")
    reason[high] = REASONS.index("EOC MRD >= 0.1%")
    return RiskAssignment(
        step="EOC",
        stratum=eoi.stratum,
        group=_cat(group, GROUPS),
        status=_cat(status, STATUSES),
        reason=_cat(reason, REASONS),
        randomized=eoi.randomized | ok,
    )


def assign_risk_group(
    covariates: Mapping[str, Any] | pd.DataFrame,
    *,
    eoi_flow_mrd: ArrayLike,
    eoi_hts_mrd: ArrayLike | None = None,
    eoi_hts_indeterminate: ArrayLike | None = None,
    day8_pb_mrd: ArrayLike | None = None,
    eoc_flow_mrd: ArrayLike | None = None,
    rules: RiskRules | None = None,
) -> RiskAssignment:
    """EOI stratification, then the EOC step when ``eoc_flow_mrd`` is given."""
    r = rules if rules is not None else RiskRules.load()
    eoi = assign_eoi(
        covariates,
        eoi_flow_mrd=eoi_flow_mrd,
        eoi_hts_mrd=eoi_hts_mrd,
        eoi_hts_indeterminate=eoi_hts_indeterminate,
        day8_pb_mrd=day8_pb_mrd,
        rules=r,
    )
    if eoc_flow_mrd is None:
        return eoi
    return assign_eoc(eoi, eoc_flow_mrd=eoc_flow_mrd, rules=r)
