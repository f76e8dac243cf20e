"""The schema of a parameter file: each section and the consumer that reads it.

:mod:`blinasim.config` loads parameter files and checks values, units, provenance and
sources, but knows no consumer (it sits below the model). This module names the consumer
dataclass of each section, so that unknown sections and keys are refused at any depth, and
builds every consumer of a user file so that a file it accepts is a file the model runs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from blinasim.cohort.risk import RiskRules
from blinasim.cohort.sample import CohortParams
from blinasim.config import (
    Known,
    LeafValue,
    Parameter,
    ParameterSet,
    check_known,
    check_range,
)
from blinasim.errors import BlinasimError, ParameterError
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse.late_effects import LateEffectsParams
from blinasim.model.engine import ModelParams
from blinasim.model.leukemia import BlinaParams, ChemoParams, LeukemiaParams
from blinasim.model.mrd import MRDParams
from blinasim.model.pk import PKParams
from blinasim.model.toxicity import ToxicityParams

PARAMETER_SECTIONS: dict[str, type] = {
    "cohort": CohortParams,
    "pk": PKParams,
    "leukemia": LeukemiaParams,
    "chemo": ChemoParams,
    "blinatumomab": BlinaParams,
    "mrd": MRDParams,
    "after_relapse": AfterRelapseParams,
    "late_effects": LateEffectsParams,
    "risk_groups": RiskRules,
    "toxicity": ToxicityParams,
}
"""Each section of a parameter file and the dataclass that reads it."""


@functools.cache
def known_parameters() -> Known:
    """The parameter names each section may hold: the fields of its consumer dataclass."""
    return {
        section: tuple(f.name for f in dataclasses.fields(cls))
        for section, cls in PARAMETER_SECTIONS.items()
    }


def check_consumers(ps: ParameterSet) -> None:
    """Build every consumer of ``ps`` (their own checks run); errors name ``ps.origin``."""
    try:
        ModelParams.from_parameters(ps)
        CohortParams.load(ps)
        RiskRules.load(ps)
    except BlinasimError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ParameterError(
            "parameter values the model accepts", file=ps.origin, got=str(exc)
        ) from None


def load_parameters(path: str | Path | None = None) -> ParameterSet:
    """A complete parameter file (default: the shipped one), unknown keys refused."""
    return ParameterSet.load(path, known=known_parameters())


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _check_type(key: str, value: object, ref: LeafValue, file: str) -> None:
    """``value`` must have the shape of the shipped value ``ref`` (same keys for a mapping)."""
    if _kind(value) != _kind(ref):
        raise ParameterError(_kind(ref), file=file, field=key, got=value)
    if isinstance(ref, dict):
        assert isinstance(value, dict)
        for k in value:
            if k not in ref:
                raise ParameterError(
                    f"a key of {key} (one of {sorted(ref, key=str)})",
                    file=file,
                    field=f"{key}.{k}",
                    got="unknown key",
                )
        missing = [k for k in ref if k not in value]
        if missing:
            raise ParameterError("this key to be present", file=file, field=f"{key}.{missing[0]}")
        for k, v in value.items():
            _check_type(f"{key}.{k}", v, ref[k], file)
    if isinstance(ref, list):
        assert isinstance(value, list)
        if ref and value:
            for i, v in enumerate(value):
                _check_type(f"{key}[{i}]", v, ref[0], file)


def load_parameter_file(path: str | Path) -> ParameterSet:
    """A user parameter file over the shipped parameters, validated fully.

    The file holds any subset of the parameters of ``parameters.yaml`` (the others keep
    their shipped values), grouped by section as there. A parameter is either a full leaf
    (``{value, unit, provenance, source}`` and optionally ``prior``, ``note``; ``unit`` must
    be the shipped unit) or a bare value (then the shipped unit and prior are kept, the
    provenance is ``assumption`` and the source reads ``assumption: set in FILE``).
    Refused, each with one :class:`ParameterError` line
    naming the file and the dotted path: a missing or unreadable file, bad YAML, an unknown
    section or key (at any depth), a value of the wrong type or shape, a non-finite number, a
    value outside its unit's range, or values the model's consumers reject.
    """
    p = Path(path)
    file = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        got = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ParameterError("a readable YAML file", file=p, got=got) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        raise ParameterError("valid YAML", file=p, field=where) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise ParameterError("valid YAML", file=p, field="document", got=str(exc)) from None
    if not isinstance(doc, Mapping) or not doc:
        raise ParameterError("a mapping of parameter sections", file=p, got=type(doc).__name__)
    known = known_parameters()
    shipped = ParameterSet.load(known=known)
    new: dict[str, Parameter] = {}
    for section, body in doc.items():
        if not isinstance(section, str):
            raise ParameterError("a section name", file=file, field="<top>", got=section)
        if section not in known:
            check_known(section, file, known)
        if not isinstance(body, Mapping) or not body:
            raise ParameterError(
                "a non-empty mapping of parameters", file=file, field=section, got=body
            )
        for name, node in body.items():
            key = f"{section}.{name}"
            if not isinstance(name, str):
                raise ParameterError("a parameter name", file=file, field=section, got=name)
            check_known(key, file, known)
            ref = shipped[key]
            if isinstance(node, Mapping) and "value" in node:
                try:
                    par = Parameter.model_validate(dict(node))
                except ValidationError as exc:
                    err = exc.errors()[0]
                    loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith("function"))
                    raise ParameterError(
                        err["msg"].lower(), file=file, field=f"{key}.{loc}" if loc else key
                    ) from None
                if par.unit != ref.unit:
                    raise ParameterError(
                        f"the unit of {key}, {ref.unit!r}",
                        file=file,
                        field=f"{key}.unit",
                        got=par.unit,
                    )
                value: object = node["value"]
            else:
                value = node
                par = ref.model_copy(
                    update={
                        "value": node,
                        "provenance": "assumption",
                        "source": f"assumption: set in {file}",
                    }
                )
            _check_type(key, value, ref.value, file)
            check_range(key, par.value, ref.unit, file)
            new[key] = par
    ps = ParameterSet(params={**shipped.params, **new}, origin=file)
    check_consumers(ps)
    return ps


__all__ = [
    "PARAMETER_SECTIONS",
    "check_consumers",
    "known_parameters",
    "load_parameter_file",
    "load_parameters",
]
