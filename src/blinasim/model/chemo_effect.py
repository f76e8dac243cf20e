"""Drug-specific chemotherapy effect: an Emax per drug class, with dose caps.

A phase's systemic kill rate at sensitivity 1 is

    kill = kill_<kind> * sum_c share_<kind>_<c> * E_c(x_c) / E_c(1),   E_c(x) = x / (x + x50_c)

with ``x_c`` the phase's average daily amount of class ``c`` (per m², ``max_dose`` caps
applied for the child) relative to the reference phase of the same kind (AALL1731's, on
which ``kill_<kind>`` was calibrated). The shares of a kind sum to 1 over the classes of its
reference phase, so a reference phase keeps its calibrated kill exactly, and the Emax
saturates: no dose of class ``c`` can raise its part more than ``1 + x50_c`` fold. A class
the reference phase of this kind lacks (pegaspargase added to interim maintenance, oral
mercaptopurine in an interim maintenance) counts with its share in the reference phase whose
daily amount of that class is nearest on a log scale, ``k'``: it adds ``kill_<kind> *
share_<k'>_<c> * E_c(x') / E_c(1)``, ``x'`` relative to that phase (the class adds the same
fraction of this phase's reference kill as it carries there). Phase kinds without a calibrated kill
(blinatumomab blocks, rest) carry no chemotherapy kill: the dexamethasone premedication of a
blinatumomab block does not count.

Drugs map to classes below; amounts within a class are converted to the class's reference
drug by the potency parameters of the ``chemo`` section (prednisone to dexamethasone,
Erwinia asparaginase to pegaspargase, thioguanine to mercaptopurine, daunorubicin to
doxorubicin). Intrathecal doses are not systemic (they act through ``it_log_kill_per_dose``);
leucovorin and blinatumomab have no chemotherapy kill.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from blinasim.errors import ParameterError
from blinasim.model.leukemia import ChemoParams
from blinasim.protocol.doses import capped_dose

FloatArray = NDArray[np.float64]

KILL_KINDS: tuple[str, ...] = (
    "induction",
    "consolidation",
    "interim_maintenance",
    "delayed_intensification",
    "maintenance",
)
"""Phase kinds with a calibrated reference kill rate (in this order for ties)."""

CLASSES: tuple[str, ...] = (
    "mtx",
    "thiopurine",
    "steroid",
    "vinca",
    "asparaginase",
    "anthracycline",
    "alkylator",
    "cytarabine",
)

DRUG_CLASS: Mapping[str, str] = {
    "methotrexate": "mtx",
    "mercaptopurine": "thiopurine",
    "thioguanine": "thiopurine",
    "dexamethasone": "steroid",
    "prednisone": "steroid",
    "prednisolone": "steroid",
    "hydrocortisone": "steroid",
    "vincristine": "vinca",
    "pegaspargase": "asparaginase",
    "erwinia_asparaginase": "asparaginase",
    "doxorubicin": "anthracycline",
    "daunorubicin": "anthracycline",
    "cyclophosphamide": "alkylator",
    "cytarabine": "cytarabine",
}
"""Drug class of every drug with a chemotherapy kill (leucovorin and blinatumomab: none)."""

IT_ROUTE = "IT"

AmountKey = tuple[str, str]
"""(drug, basis): basis ``mg/m2`` or ``IU/m2`` (amount per m² of body surface)."""


@dataclass(frozen=True)
class SystemicDose:
    """One systemic administration line of a phase, as the kill needs it."""

    drug: str
    dose: float
    unit: str
    max_dose: float | None
    per_day: float
    """Administrations per day of the phase (count over the phase / its length)."""


def _basis(unit: str) -> str:
    return "IU/m2" if unit.startswith("IU") else "mg/m2"


def per_m2(dose: FloatArray, unit: str, bsa_m2: FloatArray, weight_kg: FloatArray) -> FloatArray:
    """A dose in ``unit`` as an amount per m² (``mg/m2`` or ``IU/m2``) for the child."""
    base = unit.removesuffix("/day")
    if base in ("mg/m2", "IU/m2"):
        return dose
    if base == "g/m2":
        return dose * 1000.0
    if base == "mg":
        return dose / bsa_m2
    if base == "mg/kg":
        return dose * weight_kg / bsa_m2
    raise ValueError(f"no chemotherapy amount for unit {unit}")


def daily_amounts(
    doses: Sequence[SystemicDose], bsa_m2: ArrayLike, weight_kg: ArrayLike
) -> dict[AmountKey, FloatArray]:
    """Average daily amount per (drug, basis), ``max_dose`` caps applied for each child."""
    bsa = np.asarray(bsa_m2, dtype=np.float64)
    wt = np.asarray(weight_kg, dtype=np.float64)
    out: dict[AmountKey, FloatArray] = {}
    for d in doses:
        if d.drug not in DRUG_CLASS:
            continue
        capped = capped_dose(d.dose, d.unit, d.max_dose, bsa_m2=bsa, weight_kg=wt)
        amount = per_m2(capped, d.unit, bsa, wt) * d.per_day
        if not np.all(np.isfinite(amount)):
            raise ValueError(f"non-finite dose intensity of {d.drug}")
        key = (d.drug, _basis(d.unit))
        out[key] = out.get(key, np.zeros_like(amount)) + amount
    return out


def potency(drug: str, basis: str, cp: ChemoParams) -> float:
    """Amount of the class's reference drug equivalent to one unit of ``drug``."""
    if drug in ("prednisone", "prednisolone"):
        return cp.dexamethasone_per_mg_prednisone
    if drug == "hydrocortisone":
        return cp.dexamethasone_per_mg_hydrocortisone
    if drug == "erwinia_asparaginase":
        if basis == "IU/m2":
            return cp.pegaspargase_iu_per_erwinia_iu
        return cp.pegaspargase_iu_per_erwinia_mg
    if drug == "thioguanine":
        return cp.mercaptopurine_per_mg_thioguanine
    if drug == "daunorubicin":
        return cp.doxorubicin_per_mg_daunorubicin
    return 1.0


def class_amounts(
    amounts: Mapping[AmountKey, FloatArray | float], cp: ChemoParams
) -> dict[str, FloatArray]:
    """Daily amounts per drug class, in the class's reference drug."""
    out: dict[str, FloatArray] = {}
    for (drug, basis), v in amounts.items():
        c = DRUG_CLASS[drug]
        add = np.asarray(v, dtype=np.float64) * potency(drug, basis, cp)
        out[c] = out.get(c, np.zeros_like(add)) + add
    return out


def share(cp: ChemoParams, kind: str, cls: str) -> float:
    """``share_<kind>_<cls>`` of the chemo section (0 if the parameter does not exist)."""
    return float(getattr(cp, f"share_{kind}_{cls}", 0.0))


def x50(cp: ChemoParams, cls: str) -> float:
    """``x50_<cls>``: the class's half-saturating intensity, in reference multiples."""
    return float(getattr(cp, f"x50_{cls}"))


def emax_ratio(x: ArrayLike, x50_value: float) -> FloatArray:
    """``E(x) / E(1)`` with ``E(x) = x / (x + x50)``: 0 at 0, 1 at 1, below ``1 + x50``."""
    xa = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    return np.asarray(xa * (1.0 + x50_value) / (xa + x50_value), dtype=np.float64)


def check_shares(cp: ChemoParams, reference: Mapping[str, Mapping[str, float]]) -> None:
    """Each kind's shares cover exactly the classes of its reference phase and sum to 1."""
    for kind in KILL_KINDS:
        if kind not in reference:
            continue
        present = {c for c, v in reference[kind].items() if v > 0}
        named = {c for c in CLASSES if hasattr(cp, f"share_{kind}_{c}")}
        missing = sorted(present - named)
        if missing:
            raise ParameterError(
                f"a share for every drug class of the reference {kind} phase",
                field=f"chemo.share_{kind}_{missing[0]}",
                got="missing",
            )
        total = sum(share(cp, kind, c) for c in present)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ParameterError(
                f"shares of the {kind} drug classes {sorted(present)} summing to 1",
                field=f"chemo.share_{kind}_*",
                got=round(total, 6),
            )


def _nearest_kind(cls: str, amount: float, reference: Mapping[str, Mapping[str, float]]) -> str:
    """The reference kind whose daily amount of ``cls`` is nearest to ``amount`` (log scale)."""
    best, dist = "", math.inf
    for kind in KILL_KINDS:
        r = reference.get(kind, {}).get(cls, 0.0)
        if r <= 0:
            continue
        d = abs(math.log(max(amount, 1e-300) / r))
        if d < dist - 1e-12:
            best, dist = kind, d
    return best


def kill_rate(
    kind: str,
    amounts: Mapping[str, FloatArray],
    reference: Mapping[str, Mapping[str, float]],
    cp: ChemoParams,
) -> FloatArray:
    """Systemic kill per day at sensitivity 1 (one value per child of ``amounts``).

    ``amounts``: class -> daily amount (this phase); ``reference``: kind -> class -> daily
    amount of the reference phases (the reference child's).
    """
    shape = np.broadcast(*[np.asarray(v) for v in amounts.values()]).shape if amounts else ()
    k = cp.kill_for_kind(kind)
    if k == 0.0:
        return np.zeros(shape)
    own = reference.get(kind)
    if not own:
        return np.full(shape, k)
    total = np.zeros(shape)
    for c, r in own.items():
        if r > 0:
            x = np.asarray(amounts.get(c, 0.0)) / r
            total = total + k * share(cp, kind, c) * emax_ratio(x, x50(cp, c))
    for c, v in amounts.items():
        va = np.asarray(v, dtype=np.float64)
        if own.get(c, 0.0) > 0 or not np.any(va > 0):
            continue
        k2 = _nearest_kind(c, float(np.mean(va)), reference)
        if not k2:
            raise ValueError(f"no reference phase gives drug class {c}: no kill rate for it")
        x = va / reference[k2][c]
        total = total + k * share(cp, k2, c) * emax_ratio(x, x50(cp, c))
    return np.asarray(total, dtype=np.float64)
