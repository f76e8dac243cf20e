"""AALL1731 risk stratification from covariates and MRD readouts (pure, vectorized).

Two steps, as in the trial (Gupta et al., NEJM 2025; ASH 2024 plenary abstract; the rules,
each with its source, are in the ``risk_groups`` section of ``parameters.yaml`` and in
``docs/model_v2_risk.md``):

* **EOI** (:func:`assign_eoi`), end of induction: genetics (and the subtype, for the double
  trisomy 4+10 threshold), CNS status, day-8 blood flow MRD, EOI marrow flow MRD and EOI HTS
  MRD give the stratum (SR-Favorable, SR-Average, SR-High) or take the child off study
  (induction failure, missing EOI MRD). The EOI thresholds depend on the genotype: flow MRD
  for SR-High (0.1% with double trisomy 4+10, 0.01% otherwise) and HTS MRD (below 0.01% for
  SR-Favorable with favorable genetics; any detectable level randomizes an SR-Average
  child). SR-Favorable children are assigned chemotherapy (arm FAV). SR-Average is everyone
  else: with EOI HTS MRD detectable or indeterminate they wait for randomization (arm A vs
  B), with undetectable HTS MRD they are assigned arm A without randomization. SR-High
  children wait for the end of consolidation.
* **EOC** (:func:`assign_eoc`), end of consolidation, when both strata are randomized:
  waiting SR-Average children are randomized; SR-High children are randomized (arm C vs D)
  if EOC flow MRD < 0.1%, else they leave the study.

:func:`assign_risk_group` runs both. MRD readouts are fractions (``1e-4`` = 0.01%), ``NaN``
when not done; HTS has an ``indeterminate`` flag. Sex plays no part: AALL1731 assigned risk
and therapy (2 years from interim maintenance I) alike for girls and boys. Children with
Down syndrome are refused (:class:`~blinasim.errors.InputError`): AALL1731 treated them in
its own DS cohorts, which blinasim does not model (the virtual cohort screens them out). The
first matching rule (in :data:`REASONS` order) decides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from blinasim.cohort.sample import SUBTYPES
from blinasim.config import ParameterSet
from blinasim.errors import InputError, ParameterError

GROUPS = ("SR-Favorable", "SR-Average", "SR-High", "off-study")
"""Values of ``stratum`` and ``group``."""

STATUSES = ("assigned", "randomized", "pending-EOC", "off-study")
"""Values of ``status``: assigned (on an arm without randomization: SR-Favorable, and
SR-Average with undetectable HTS MRD), randomized, waiting for randomization at the end of
consolidation (SR-Average with detectable or indeterminate HTS MRD; SR-High, subject to the
EOC readout), off study."""

REASONS = (
    "EOI flow MRD missing",
    "induction failure",
    "unfavorable genetics",
    "EOI flow MRD >= 0.1%, double trisomy 4+10",
    "EOI flow MRD >= 0.01%",
    "CNS2, neutral genetics",
    "favorable genetics, day-8 blood MRD < 1%, EOI MRD < 0.01%",
    "SR-Average, EOI HTS MRD indeterminate",
    "SR-Average, EOI HTS MRD detectable",
    "SR-Average, EOI HTS MRD undetectable",
    "EOC flow MRD missing",
    "EOC MRD >= 0.1%",
)
"""Reasons, in rule order (EOI rules, then EOC rules)."""

_HTS_CALLS = ("detectable", "indeterminate", "undetectable")

_STRATUM_FIELDS = (
    "unfavorable_genetics_stratum",
    "eoi_flow_positive_stratum",
    "cns2_neutral_stratum",
)
_FLAG_FIELDS = (
    "favorable_requires_cns1",
    "hts_indeterminate_randomized",
    "hts_negative_sr_average_randomized",
    "hts_missing_is_indeterminate",
)
_FRACTION_FIELDS = (
    "eoi_flow_mrd_positive_at",
    "eoi_flow_mrd_high_at_dt4_10",
    "eoi_hts_mrd_positive_at",
    "eoi_hts_mrd_favorable_max",
    "eoc_flow_mrd_max_for_randomization",
    "induction_failure_eoi_flow_mrd",
    "day8_pb_mrd_max_for_favorable",
)


@dataclasses.dataclass(frozen=True)
class RiskRules:
    """The ``risk_groups`` section of ``parameters.yaml`` (see the module docstring)."""

    eoi_flow_mrd_positive_at: float
    eoi_flow_mrd_high_at_dt4_10: float
    eoi_hts_mrd_positive_at: float
    eoi_hts_mrd_favorable_max: float
    eoc_flow_mrd_max_for_randomization: float
    induction_failure_eoi_flow_mrd: float
    day8_pb_mrd_max_for_favorable: float
    unfavorable_genetics_stratum: str
    eoi_flow_positive_stratum: str
    cns2_neutral_stratum: str
    favorable_requires_cns1: bool
    hts_indeterminate_randomized: bool
    hts_negative_sr_average_randomized: bool
    hts_missing_is_indeterminate: bool
    sr_average_randomized_at: str

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> RiskRules:
        """Read and check the ``risk_groups`` section (default: the shipped file)."""
        ps = ParameterSet.given(params)
        rules = ps.section("risk_groups", cls)

        def bad(name: str, expected: str) -> ParameterError:
            return ParameterError(
                expected, file=ps.origin, field=f"risk_groups.{name}", got=getattr(rules, name)
            )

        for name in _STRATUM_FIELDS:
            if getattr(rules, name) not in GROUPS:
                raise bad(name, f"one of {list(GROUPS)}")
        for name in _FRACTION_FIELDS:
            v = getattr(rules, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 < v <= 1.0:
                raise bad(name, "a fraction in (0, 1]")
        for name in _FLAG_FIELDS:
            if not isinstance(getattr(rules, name), bool):
                raise bad(name, "true or false")
        if rules.sr_average_randomized_at not in ("EOI", "EOC"):
            raise bad("sr_average_randomized_at", "EOI or EOC")
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
    if isinstance(getattr(x, "dtype", None), pd.CategoricalDtype):
        # a categorical column (the cohort's): check the categories in use, not every row
        codes = np.asarray(x.cat.codes)
        used = np.unique(codes)
        cats = np.asarray(x.cat.categories, dtype=object)
        if used.size and used[0] >= 0 and all(c in allowed for c in cats[used]):
            return a
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

    ``covariates`` needs ``genetics`` (favorable/neutral/unfavorable), ``genetic_subtype``
    (one of :data:`~blinasim.cohort.SUBTYPES`), ``cns_status`` (CNS1/CNS2) and
    ``down_syndrome`` (bool, all false): a cohort table from
    :func:`blinasim.cohort.sample_cohort` works as is.
    """
    r = rules if rules is not None else RiskRules.load()
    ds_raw = _column(covariates, "down_syndrome")
    n = len(np.asarray(ds_raw))
    genetics = _strings(
        "genetics", _column(covariates, "genetics"), n, ("favorable", "neutral", "unfavorable")
    )
    subtype = _strings("genetic_subtype", _column(covariates, "genetic_subtype"), n, SUBTYPES)
    cns = _strings("cns_status", _column(covariates, "cns_status"), n, ("CNS1", "CNS2"))
    if _bools("down_syndrome", ds_raw, n).any():
        raise InputError(
            "children without Down syndrome (AALL1731 treated children with Down syndrome in "
            "its own DS cohorts, which blinasim does not model)",
            field="down_syndrome",
            got=True,
        )
    flow = _floats("eoi_flow_mrd", eoi_flow_mrd, n)
    hts = _floats("eoi_hts_mrd", eoi_hts_mrd, n)
    hts_ind = _bools("eoi_hts_indeterminate", eoi_hts_indeterminate, n)
    day8 = _floats("day8_pb_mrd", day8_pb_mrd, n)
    if r.hts_missing_is_indeterminate:
        hts_ind = hts_ind | np.isnan(hts)

    fav = genetics == "favorable"
    neutral = genetics == "neutral"
    dt = subtype == "DT4_10"
    cns1 = cns == "CNS1"
    flow_neg = flow < r.eoi_flow_mrd_positive_at
    day8_ok = ~(day8 >= r.day8_pb_mrd_max_for_favorable)  # not done (NaN) does not exclude
    g = GROUPS.index
    # (condition, stratum, reason) in rule order; the first match decides
    rules_table: list[tuple[NDArray[np.bool_], str, str]] = [
        (np.isnan(flow), "off-study", "EOI flow MRD missing"),
        (flow >= r.induction_failure_eoi_flow_mrd, "off-study", "induction failure"),
        (genetics == "unfavorable", r.unfavorable_genetics_stratum, "unfavorable genetics"),
        (
            dt & (flow >= r.eoi_flow_mrd_high_at_dt4_10),
            r.eoi_flow_positive_stratum,
            "EOI flow MRD >= 0.1%, double trisomy 4+10",
        ),
        (~dt & ~flow_neg, r.eoi_flow_positive_stratum, "EOI flow MRD >= 0.01%"),
        (~cns1 & neutral, r.cns2_neutral_stratum, "CNS2, neutral genetics"),
        (
            fav
            & day8_ok
            & flow_neg
            & ~(hts >= r.eoi_hts_mrd_favorable_max)  # not done / indeterminate: flow decides
            & (cns1 | (not r.favorable_requires_cns1)),
            "SR-Favorable",
            "favorable genetics, day-8 blood MRD < 1%, EOI MRD < 0.01%",
        ),
        (hts_ind, "SR-Average", "SR-Average, EOI HTS MRD indeterminate"),
        (hts >= r.eoi_hts_mrd_positive_at, "SR-Average", "SR-Average, EOI HTS MRD detectable"),
        (np.ones(n, dtype=bool), "SR-Average", "SR-Average, EOI HTS MRD undetectable"),
    ]
    group = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, -1, dtype=np.int64)
    for cond, stratum, why in rules_table:
        take = cond & (group < 0)
        group[take] = g(stratum)
        reason[take] = REASONS.index(why)
    # SR-Average children are randomized unless their EOI HTS MRD is undetectable (or
    # indeterminate, if the rules say so); the others get arm A without randomization
    hts_is = {k: reason == REASONS.index(f"SR-Average, EOI HTS MRD {k}") for k in _HTS_CALLS}
    to_randomize = (
        hts_is["detectable"]
        | (hts_is["indeterminate"] & r.hts_indeterminate_randomized)
        | (hts_is["undetectable"] & r.hts_negative_sr_average_randomized)
    )
    now = STATUSES.index("randomized" if r.sr_average_randomized_at == "EOI" else "pending-EOC")
    status = np.select(
        [group == g("off-study"), group == g("SR-High"), to_randomize],
        [STATUSES.index("off-study"), STATUSES.index("pending-EOC"), now],
        default=STATUSES.index("assigned"),
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
    """End of consolidation: the waiting children are randomized (or leave the study).

    SR-Average children waiting for randomization are randomized (no EOC criterion); SR-High
    children are randomized if EOC flow MRD < 0.1%, and leave the study otherwise (or when
    the readout is missing). Children not waiting (assigned, already randomized, off study)
    are unchanged; their EOC readout is ignored.
    """
    r = rules if rules is not None else RiskRules.load()
    if eoi.step != "EOI":
        raise InputError("an EOI assignment (assign_eoi)", field="eoi", got=eoi.step)
    n = len(eoi)
    eoc = _floats("eoc_flow_mrd", eoc_flow_mrd, n)
    pending = np.asarray(eoi.status == "pending-EOC")
    high = pending & np.asarray(eoi.stratum == "SR-High")
    missing = high & np.isnan(eoc)
    too_high = high & ~missing & (eoc >= r.eoc_flow_mrd_max_for_randomization)
    off = missing | too_high
    ok = pending & ~off
    group = np.asarray(eoi.group.codes, dtype=np.int64).copy()
    status = np.asarray(eoi.status.codes, dtype=np.int64).copy()
    reason = np.asarray(eoi.reason.codes, dtype=np.int64).copy()
    group[off] = GROUPS.index("off-study")
    status[off] = STATUSES.index("off-study")
    status[ok] = STATUSES.index("randomized")
    reason[missing] = REASONS.index("EOC flow MRD missing")
    reason[too_high] = REASONS.index("EOC MRD >= 0.1%")
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
