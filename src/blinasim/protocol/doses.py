"""Dose plausibility bounds and ``max_dose`` caps.

``data/dose_bounds.yaml`` gives, per drug, the highest plausible dose in each unit (and
route, where it matters) with its source. The protocol loader refuses a dose above its
bound, a dose in a unit with no bound, and any non-finite dose: a typo such as vincristine
1e6 mg/m² must not reach the model. :func:`capped_dose` applies a ``max_dose`` cap (given
in the unit without ``/m2`` or ``/kg``) to a dose for a child of a given size; the model's
arm-level dose intensities use :func:`reference_child` (the caps are per administration,
the intensity is one number per phase).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import ArrayLike, NDArray

from blinasim.errors import ProtocolError
from blinasim.protocol.schema import DRUG_ROUTES, ROUTES, UNITS


@dataclass(frozen=True)
class DoseBound:
    """The highest plausible dose of ``drug`` in ``unit`` (by ``route``, or any route)."""

    drug: str
    unit: str
    route: str | None
    max: float
    source: str

    def describe(self) -> str:
        """E.g. ``<= 2 mg/m2 (vincristine sulfate injection, US package label: ...)``."""
        route = f" {self.route}" if self.route else ""
        return f"<= {self.max:g} {self.unit}{route} ({self.source})"


@dataclass(frozen=True)
class ReferenceChild:
    """The child at which ``max_dose`` caps enter arm-level dose intensities."""

    bsa_m2: float
    weight_kg: float
    source: str


@dataclass(frozen=True)
class DoseBounds:
    """Every bound of ``dose_bounds.yaml`` and its reference child."""

    bounds: Mapping[str, tuple[DoseBound, ...]]
    reference_child: ReferenceChild
    origin: str

    def find(self, drug: str, unit: str, route: str) -> DoseBound | None:
        """The bound of ``drug`` in ``unit`` by ``route`` (a route-specific one first)."""
        cands = [b for b in self.bounds.get(drug, ()) if b.unit == unit]
        for b in cands:
            if b.route == route:
                return b
        for b in cands:
            if b.route is None:
                return b
        return None

    def known(self, drug: str) -> list[str]:
        """``unit`` or ``unit route`` of each bound of ``drug``."""
        return [b.unit + (f" {b.route}" if b.route else "") for b in self.bounds.get(drug, ())]


def dose_bounds_path() -> Path:
    """Path of the ``dose_bounds.yaml`` shipped with the package."""
    return Path(str(resources.files("blinasim") / "data" / "dose_bounds.yaml"))


def _positive(value: object, file: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError("a positive finite number", file=file, field=field, got=value)
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ProtocolError("a positive finite number", file=file, field=field, got=value)
    return v


def _text(value: object, file: str, field: str) -> str:
    if not isinstance(value, str) or len(value.strip()) < 3:
        raise ProtocolError("a citation or 'assumption: why'", file=file, field=field, got=value)
    return value


def parse_dose_bounds(doc: object, origin: str) -> DoseBounds:
    """Validate a parsed ``dose_bounds.yaml`` document."""
    if not isinstance(doc, Mapping) or set(doc) != {"reference_child", "drugs"}:
        raise ProtocolError(
            "a mapping with exactly 'reference_child' and 'drugs'", file=origin, field="<top>"
        )
    rc = doc["reference_child"]
    if not isinstance(rc, Mapping) or set(rc) != {"bsa_m2", "weight_kg", "source"}:
        raise ProtocolError(
            "a mapping with bsa_m2, weight_kg and source", file=origin, field="reference_child"
        )
    child = ReferenceChild(
        bsa_m2=_positive(rc["bsa_m2"], origin, "reference_child.bsa_m2"),
        weight_kg=_positive(rc["weight_kg"], origin, "reference_child.weight_kg"),
        source=_text(rc["source"], origin, "reference_child.source"),
    )
    drugs = doc["drugs"]
    if not isinstance(drugs, Mapping):
        raise ProtocolError("a mapping drug -> list of bounds", file=origin, field="drugs")
    out: dict[str, tuple[DoseBound, ...]] = {}
    for drug, entries in drugs.items():
        if drug not in DRUG_ROUTES:
            raise ProtocolError(
                f"a known drug (one of {sorted(DRUG_ROUTES)})", file=origin, field="drugs", got=drug
            )
        if not isinstance(entries, list) or not entries:
            raise ProtocolError("a non-empty list of bounds", file=origin, field=f"drugs.{drug}")
        items: list[DoseBound] = []
        for i, e in enumerate(entries):
            field = f"drugs.{drug}[{i}]"
            if not isinstance(e, Mapping) or not {"unit", "max", "source"} <= set(e):
                raise ProtocolError("a mapping with unit, max and source", file=origin, field=field)
            extra = sorted(set(e) - {"unit", "route", "max", "source"})
            if extra:
                raise ProtocolError("no unknown field", file=origin, field=f"{field}.{extra[0]}")
            if e["unit"] not in UNITS:
                raise ProtocolError(
                    f"one of {list(UNITS)}", file=origin, field=f"{field}.unit", got=e["unit"]
                )
            route = e.get("route")
            if route is not None and route not in ROUTES:
                raise ProtocolError(
                    f"one of {list(ROUTES)}", file=origin, field=f"{field}.route", got=route
                )
            items.append(
                DoseBound(
                    drug=str(drug),
                    unit=str(e["unit"]),
                    route=route,
                    max=_positive(e["max"], origin, f"{field}.max"),
                    source=_text(e["source"], origin, f"{field}.source"),
                )
            )
        out[str(drug)] = tuple(items)
    return DoseBounds(bounds=out, reference_child=child, origin=origin)


@functools.lru_cache(maxsize=4)
def load_dose_bounds(path: str | None = None) -> DoseBounds:
    """The dose bounds (default: the shipped file), validated; cached per path."""
    p = Path(path) if path is not None else dose_bounds_path()
    try:
        doc: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError("a readable YAML file", file=p, got=str(exc)) from None
    except yaml.YAMLError:
        raise ProtocolError("valid YAML", file=p, field="document") from None
    return parse_dose_bounds(doc, str(p))


def reference_child() -> ReferenceChild:
    """The reference child of the shipped ``dose_bounds.yaml``."""
    return load_dose_bounds().reference_child


def check_dose(
    value: float,
    *,
    drug: str,
    unit: str,
    route: str,
    arm: str,
    phase: str,
    file: str,
    field: str,
) -> None:
    """Refuse a non-finite dose, a dose above its bound, or a unit with no bound."""
    where = f"arm {arm}, phase {phase}: {drug} {route}"
    if not math.isfinite(value) or value < 0:
        raise ProtocolError(
            f"{where}: a finite dose >= 0 in {unit}", file=file, field=field, got=value
        )
    bounds = load_dose_bounds()
    b = bounds.find(drug, unit, route)
    if b is None:
        raise ProtocolError(
            f"{where}: a unit with a plausibility bound in dose_bounds.yaml "
            f"(one of {bounds.known(drug)})",
            file=file,
            field=field,
            got=f"{value:g} {unit}",
        )
    if value > b.max:
        raise ProtocolError(
            f"{where}: a dose {b.describe()}", file=file, field=field, got=f"{value:g} {unit}"
        )


def capped_dose(
    dose: float | ArrayLike,
    unit: str,
    max_dose: float | None,
    *,
    bsa_m2: float | ArrayLike,
    weight_kg: float | ArrayLike,
) -> NDArray[np.float64]:
    """``dose`` (in ``unit``) after a ``max_dose`` cap for a child of ``bsa_m2`` / ``weight_kg``.

    ``max_dose`` is in the unit without ``/m2`` or ``/kg`` (vincristine 1.5 mg/m², max 2 mg:
    a 1.6 m² child gets 2 mg = 1.25 mg/m²). The result stays in ``unit``.
    """
    d = np.asarray(dose, dtype=np.float64)
    if max_dose is None:
        return np.array(d, dtype=np.float64)
    if "/m2" in unit:
        per = np.asarray(bsa_m2, dtype=np.float64)
    elif "/kg" in unit:
        per = np.asarray(weight_kg, dtype=np.float64)
    else:
        per = np.ones_like(d)
    out: NDArray[np.float64] = np.minimum(d, max_dose / per)
    return out


__all__ = [
    "DoseBound",
    "DoseBounds",
    "ReferenceChild",
    "capped_dose",
    "check_dose",
    "dose_bounds_path",
    "load_dose_bounds",
    "reference_child",
]
