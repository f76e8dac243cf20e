"""Salvage protocols as data (``data/salvage/*.yaml``) and the kill rate of each block.

A block's systemic kill at chemotherapy sensitivity 1 is the drug-class Emax of
:mod:`blinasim.model.chemo_effect` relative to AALL1731's reference phase of the file's
``kill_kind`` (the same function the first-line phases use): the block's average daily amount
of each class (per m², over the block's days) against the reference phase's. Salvage drugs
the first-line model has no class for are converted by potency parameters of the
``after_relapse`` section: mitoxantrone and idarubicin to doxorubicin (anthracycline),
ifosfamide to cyclophosphamide (alkylator); etoposide has no class and adds no kill (an
assumption the fitted ``salvage_sensitivity_factor`` absorbs). A research model, not medical
advice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml

from blinasim.model import chemo_effect as ce
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.leukemia import ChemoParams
from blinasim.model.plan import calibration_reference

PROTOCOLS = ("ukall_r3", "intreall_hr")
"""Shipped salvage protocols (``data/salvage/NAME.yaml``)."""

NO_CLASS = ("etoposide",)
"""Salvage drugs without a drug class: no kill is counted for them."""


@dataclass(frozen=True)
class Dose:
    """One drug line of a block."""

    drug: str
    dose: float
    unit: str
    days: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class Block:
    """A salvage chemotherapy block: its length and drugs."""

    name: str
    days: float
    doses: tuple[Dose, ...]


@dataclass(frozen=True)
class BlinaBlock:
    """A blinatumomab block: continuous infusion then rest."""

    dose: float
    unit: str
    infusion_days: float
    block_days: float


@dataclass(frozen=True)
class SalvageProtocol:
    """A salvage protocol file."""

    name: str
    kill_kind: str
    blocks: dict[str, Block]
    blinatumomab: BlinaBlock


def _days(spec: Any) -> tuple[int, ...]:
    out: list[int] = []
    for part in str(spec).split(","):
        a, _, b = part.strip().partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def load_salvage(name: str) -> SalvageProtocol:
    """A shipped salvage protocol (:data:`PROTOCOLS`)."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown salvage protocol {name!r}: one of {PROTOCOLS}")
    path = resources.files("blinasim") / "data" / "salvage" / f"{name}.yaml"
    doc: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    blocks = {}
    for bname, b in doc["blocks"].items():
        doses = tuple(
            Dose(
                drug=str(d["drug"]),
                dose=float(d["dose"]),
                unit=str(d["unit"]),
                days=_days(d["days"]),
                source=str(d["source"]),
            )
            for d in b["drugs"]
        )
        for d in doses:
            if max(d.days) > float(b["days"]) or min(d.days) < 1:
                raise ValueError(f"salvage {name}.{bname}.{d.drug}: days outside the block")
        blocks[str(bname)] = Block(name=str(bname), days=float(b["days"]), doses=doses)
    bl = doc["blinatumomab"]
    return SalvageProtocol(
        name=name,
        kill_kind=str(doc["kill_kind"]),
        blocks=blocks,
        blinatumomab=BlinaBlock(
            dose=float(bl["dose"]),
            unit=str(bl["unit"]),
            infusion_days=float(bl["infusion_days"]),
            block_days=float(bl["block_days"]),
        ),
    )


def _per_m2(d: Dose) -> float:
    base = d.unit.removesuffix("/day")
    scale = {"mg/m2": 1.0, "IU/m2": 1.0, "g/m2": 1000.0}.get(base)
    if scale is None:
        raise ValueError(f"salvage dose of {d.drug}: unit {d.unit} is not per m²")
    return d.dose * scale


def class_amounts(block: Block, cp: ChemoParams, ap: AfterRelapseParams) -> dict[str, float]:
    """Average daily amount of each drug class over the block (reference drug, per m²)."""
    out: dict[str, float] = {}
    extra = {
        "mitoxantrone": ("anthracycline", ap.doxorubicin_per_mg_mitoxantrone),
        "idarubicin": ("anthracycline", ap.doxorubicin_per_mg_idarubicin),
        "ifosfamide": ("alkylator", ap.cyclophosphamide_per_mg_ifosfamide),
    }
    for d in block.doses:
        if d.drug in NO_CLASS:
            continue
        total = _per_m2(d) * len(d.days) / block.days
        if d.drug in extra:
            cls, pot = extra[d.drug]
        elif d.drug in ce.DRUG_CLASS:
            cls = ce.DRUG_CLASS[d.drug]
            pot = ce.potency(d.drug, "IU/m2" if d.unit.startswith("IU") else "mg/m2", cp)
        else:
            raise ValueError(f"salvage drug {d.drug}: no drug class")
        out[cls] = out.get(cls, 0.0) + total * pot
    return out


def _reference(cp: ChemoParams) -> dict[str, dict[str, float]]:
    return {
        kind: {c: float(v) for c, v in ce.class_amounts(amounts, cp).items()}
        for kind, amounts in calibration_reference().items()
    }


def block_kill(
    protocol: SalvageProtocol, block: str, cp: ChemoParams, ap: AfterRelapseParams
) -> float:
    """Systemic kill per day at sensitivity 1 of one block (drug-class Emax)."""
    b = protocol.blocks[block]
    amounts = {k: np.asarray(v) for k, v in class_amounts(b, cp, ap).items() if v > 0}
    return float(ce.kill_rate(protocol.kill_kind, amounts, _reference(cp), cp))


_KILLS: dict[tuple[str, int, int], tuple[ChemoParams, AfterRelapseParams, dict[str, float]]] = {}
"""Block kills per (protocol, chemo section, after-relapse section) object: the engine runs
the pathway once per arm with the same sections."""


def block_kills(
    proto: SalvageProtocol, cp: ChemoParams, ap: AfterRelapseParams
) -> dict[str, float]:
    """:func:`block_kill` of every block of ``proto`` (memo keyed by the sections' identity)."""
    key = (proto.name, id(cp), id(ap))
    hit = _KILLS.get(key)
    if hit is not None and hit[0] is cp and hit[1] is ap:
        return hit[2]
    kills = {b: block_kill(proto, b, cp, ap) for b in proto.blocks}
    if len(_KILLS) >= 16:
        _KILLS.clear()
    _KILLS[key] = (cp, ap, kills)  # the references keep the ids from being reused
    return kills
