"""Model parameters as data with provenance: loading and validating ``parameters.yaml``.

The file is a tree of sections. A *leaf* is a mapping with at least ``value``, ``unit``,
``provenance`` and ``source``, and optionally ``prior`` (the uncertainty distribution used
by calibration and by probabilistic runs) and ``note``. Any other mapping is a section.
Unknown keys in a leaf are errors, never ignored.

``provenance`` is a field, never read from the text of ``source`` (:func:`check_source`):
``published`` (``source`` is a citation, and must not read like an assumption), ``assumption``
(``source`` reads ``assumption: <why>``) or ``calibrated`` (``source`` reads ``calibrated:
<against what>``; the project labels a parameter ``calibrated`` only if it is a free
parameter of the shipped posterior or has a documented sensitivity analysis).

Consumers read a section into a frozen dataclass with :meth:`ParameterSet.section`, which
insists that the file and the dataclass have exactly the same keys. The known sections and
their keys are those of the consumers (:mod:`blinasim.model.parameters`, which passes them
in: this module knows no consumer): a file with an unknown
section, or an unknown key at any depth under a known section, is refused with the dotted
path, as is a non-finite number or a value outside its unit's range (a probability outside
[0, 1], a negative rate, ...).

:func:`blinasim.model.parameters.load_parameter_file` reads a *user* file: any subset of
the parameters (the others keep the shipped values), each either a full leaf (``value``,
``unit``, ``source``; the unit must be the shipped one) or a bare value; it checks keys,
types and ranges and then builds every consumer, so a file it accepts is a file the model
runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from blinasim.errors import InputError, ParameterError

T = TypeVar("T")

Scalar = float | int | bool | str
LeafValue = Scalar | list[Scalar] | dict[str, Scalar]
Provenance = Literal["published", "assumption", "calibrated"]
PROVENANCES: tuple[Provenance, ...] = ("published", "assumption", "calibrated")


def check_source(provenance: str, source: str) -> None:
    """The ``source`` text must agree with the ``provenance`` field (ValueError if not).

    ``assumption`` and ``calibrated`` sources read ``assumption: <why>`` / ``calibrated:
    <against what>`` (at least three characters of it); a ``published`` source (a
    citation) must not start with ``assum`` or ``calibrat``. Shared with parameter files.
    """
    text = " ".join(source.split())
    low = text.lower()
    if provenance == "published":
        if low.startswith(("assum", "calibrat")):
            raise ValueError(
                f"a published source is a citation; this one reads {text[:24]!r}: "
                "set provenance to assumption or calibrated"
            )
        return
    prefix = f"{provenance}:"
    article = "an" if provenance == "assumption" else "a"
    what = "why" if provenance == "assumption" else "against what"
    if not low.startswith(prefix):
        raise ValueError(f"{article} {provenance} source starts with '{prefix} <{what}>'")
    if len(text[len(prefix) :].strip()) < 3:
        raise ValueError(f"{article} {provenance} source must say {what} after '{prefix}'")


class FrozenModel(BaseModel):
    """A frozen schema record: unknown keys are refused (the base of every file schema)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NormalPrior(FrozenModel):
    """Normal(mean, sd), optionally truncated to [lower, upper]."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(gt=0)
    lower: float = -math.inf
    upper: float = math.inf


class LogNormalPrior(FrozenModel):
    """log X ~ Normal(log(median), sd_log)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sd_log: float = Field(gt=0)


class UniformPrior(FrozenModel):
    """Uniform(lower, upper)."""

    dist: Literal["uniform"]
    lower: float
    upper: float

    @model_validator(mode="after")
    def _ordered(self) -> UniformPrior:
        if not self.lower < self.upper:
            raise ValueError("lower must be < upper")
        return self


class LogUniformPrior(FrozenModel):
    """log X ~ Uniform(log lower, log upper)."""

    dist: Literal["loguniform"]
    lower: float = Field(gt=0)
    upper: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LogUniformPrior:
        if not self.lower < self.upper:
            raise ValueError("lower must be < upper")
        return self


class BetaPrior(FrozenModel):
    """Beta(a, b) on [0, 1]."""

    dist: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)


Prior = Annotated[
    NormalPrior | LogNormalPrior | UniformPrior | LogUniformPrior | BetaPrior,
    Field(discriminator="dist"),
]


class Parameter(FrozenModel):
    """One model parameter: value, unit, provenance (a field) and uncertainty."""

    value: LeafValue
    unit: str = Field(min_length=1)
    provenance: Provenance
    source: str = Field(min_length=3)
    prior: Prior | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _source_agrees(self) -> Parameter:
        check_source(self.provenance, self.source)
        return self


def default_parameters_path() -> Path:
    """Path of the ``parameters.yaml`` shipped with the package."""
    return Path(str(resources.files("blinasim") / "data" / "parameters.yaml"))


def _is_leaf(node: Mapping[str, Any]) -> bool:
    return "value" in node


def _walk(node: Mapping[str, Any], prefix: str, file: str, out: dict[str, Parameter]) -> None:
    for key, child in node.items():
        if not isinstance(key, str) or not key.replace("_", "").isalnum():
            raise ParameterError(
                "section and parameter names of letters, digits and '_'",
                file=file,
                field=prefix or "<top>",
                got=key,
            )
        path = f"{prefix}.{key}" if prefix else key
        if not isinstance(child, Mapping):
            raise ParameterError(
                "a mapping with value, unit, provenance and source",
                file=file,
                field=path,
                got=child,
            )
        if _is_leaf(child):
            try:
                out[path] = Parameter.model_validate(dict(child))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith("function"))
                raise ParameterError(
                    err["msg"].lower(), file=file, field=f"{path}.{loc}" if loc else path
                ) from None
        else:
            if not child:
                raise ParameterError("a non-empty section", file=file, field=path)
            _walk(child, path, file, out)


@dataclasses.dataclass(frozen=True)
class ParameterSet:
    """All model parameters, keyed by dotted path (``"pk.cl_adult_l_per_h"``)."""

    params: Mapping[str, Parameter]
    origin: str = "<memory>"

    @classmethod
    def load(cls, path: str | Path | None = None, *, known: Known | None = None) -> ParameterSet:
        """Load and validate a parameter file (default: the one shipped with the package).

        ``known`` (section -> parameter names, :func:`blinasim.model.parameters.known_parameters`)
        also refuses unknown sections and keys; without it each consumer still insists on its
        own section's exact keys when it reads it (:meth:`section`).
        """
        p = Path(path) if path is not None else default_parameters_path()
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ParameterError("a readable YAML file", file=p, got=exc.strerror) from None
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else "document"
            raise ParameterError("valid YAML", file=p, field=where) from None
        if not isinstance(doc, Mapping) or not doc:
            raise ParameterError("a mapping of parameter sections", file=p, got=type(doc).__name__)
        out: dict[str, Parameter] = {}
        _walk(doc, "", str(p), out)
        for key, par in out.items():
            if known is not None:
                check_known(key, str(p), known)
            check_range(key, par.value, par.unit, str(p))
        return cls(params=out, origin=str(p))

    @classmethod
    def given(cls, params: ParameterSet | None) -> ParameterSet:
        """``params``, or the shipped parameters when None (every consumer's default)."""
        return params if params is not None else cls.load()

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __contains__(self, key: object) -> bool:
        return key in self.params

    def __getitem__(self, key: str) -> Parameter:
        try:
            return self.params[key]
        except KeyError:
            raise ParameterError("a known parameter", file=self.origin, field=key) from None

    def value(self, key: str) -> Any:
        """The value of parameter ``key``."""
        return self[key].value

    def keys_under(self, section: str) -> list[str]:
        """Dotted keys of every parameter under ``section``."""
        pre = section + "."
        return [k for k in self.params if k.startswith(pre)]

    def with_values(
        self,
        overrides: Mapping[str, LeafValue],
        *,
        source: str = "calibrated: values given in code",
        provenance: Provenance | None = None,
    ) -> ParameterSet:
        """A copy with some values replaced; an unknown key is an error.

        ``provenance`` defaults to the ``<provenance>:`` that ``source`` must then start with
        (``"calibrated: posterior draw 3"``, ``"assumption: test"``); either way the pair is
        checked as in a file (:func:`check_source`).
        """
        if provenance is None:
            head = source.split(":", 1)[0].strip()
            if head not in ("assumption", "calibrated"):
                raise ValueError(
                    f"source {source!r}: start it with 'assumption:' or 'calibrated:', "
                    "or give provenance"
                )
            provenance = "assumption" if head == "assumption" else "calibrated"
        check_source(provenance, source)
        new = dict(self.params)
        for key, val in overrides.items():
            old = self[key]
            new[key] = old.model_copy(
                update={"value": val, "source": source, "provenance": provenance}
            )
        return ParameterSet(params=new, origin=self.origin)

    def section(self, section: str, cls: type[T]) -> T:
        """Build dataclass ``cls`` from the direct leaves of ``section``, keys matched exactly."""
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls!r} is not a dataclass")
        pre = section + "."
        have = {
            k[len(pre) :]: v.value
            for k, v in self.params.items()
            if k.startswith(pre) and "." not in k[len(pre) :]
        }
        want = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(want - have.keys())
        unknown = sorted(have.keys() - want)
        if missing:
            raise ParameterError(
                "this parameter to be present", file=self.origin, field=f"{section}.{missing[0]}"
            )
        if unknown:
            raise ParameterError(
                f"one of {sorted(want)}",
                file=self.origin,
                field=f"{section}.{unknown[0]}",
                got="unknown key",
            )
        return cls(**have)

    def table(self) -> list[dict[str, Any]]:
        """One row per parameter (for reports): key, value, unit, provenance, source."""
        return [
            {
                "key": k,
                "value": p.value,
                "unit": p.unit,
                "provenance": p.provenance,
                "source": p.source,
                "prior": p.prior.model_dump() if p.prior is not None else None,
            }
            for k, p in self.params.items()
        ]


Known = Mapping[str, tuple[str, ...]]
"""Section -> the parameter names it may hold (the fields of its consumer dataclass)."""


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_known(key: str, file: str, known: Known) -> None:
    """Refuse a dotted key that no consumer reads (unknown section, or key at any depth)."""
    parts = key.split(".")
    section = parts[0]
    if section not in known:
        raise ParameterError(
            f"a known section (one of {sorted(known)}){_suggest(section, sorted(known))}",
            file=file,
            field=section,
            got="unknown section",
        )
    if len(parts) == 1:
        raise ParameterError(
            f"a section of parameters, not a single parameter ({section})", file=file, field=key
        )
    name = parts[1]
    names = list(known[section])
    if name not in names:
        raise ParameterError(
            f"a parameter of {section} ({len(names)} known){_suggest(name, names)}",
            file=file,
            field=f"{section}.{name}",
            got="unknown key",
        )
    if len(parts) > 2:
        raise ParameterError(
            "a parameter (value, unit, provenance, source), not a section",
            file=file,
            field=f"{section}.{name}.{parts[2]}",
            got="unknown key",
        )


def _unit_range(unit: str) -> tuple[float, float] | None:
    """Allowed range of a numeric value from its unit (None: any finite number)."""
    u = unit.strip().lower()
    if u.startswith(("log", "1 ")) or u in ("1", "-"):
        return None
    if u.startswith("correlation"):
        return (-1.0, 1.0)
    if u.startswith(("probability", "fraction")):
        return (0.0, 1.0)
    return (0.0, math.inf)


def check_range(key: str, value: LeafValue, unit: str, file: str) -> None:
    """Refuse a non-finite number or one outside its unit's range."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_range(f"{key}.{k}", v, unit, file)
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            check_range(f"{key}[{i}]", v, unit, file)
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if not math.isfinite(value):
        raise ParameterError("a finite number", file=file, field=key, got=value)
    rng = _unit_range(unit)
    if rng is not None and not rng[0] <= value <= rng[1]:
        lo, hi = rng
        what = f"a number in [{lo:g}, {hi:g}]" if math.isfinite(hi) else f"a number >= {lo:g}"
        raise ParameterError(f"{what} ({unit})", file=file, field=key, got=value)


def load_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; errors name the file and the line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"a readable {what} file", file=p, got=exc.strerror) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        raise InputError(f"valid YAML ({what})", file=p, field=where) from None
    if not isinstance(doc, dict):
        raise InputError(f"a YAML mapping ({what})", file=p, got=type(doc).__name__)
    return doc
