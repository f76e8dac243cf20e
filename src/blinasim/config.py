"""Model parameters as data with provenance: loading and validating ``parameters.yaml``.

The file is a tree of sections. A *leaf* is a mapping with at least ``value``, ``unit`` and
``source`` (a citation, or a text starting with ``assumption`` or ``calibrated``), and
optionally ``prior`` (the uncertainty distribution used by calibration and by
probabilistic runs) and ``note``. Any other mapping is a section. Unknown keys in a leaf
are errors, never ignored.

Consumers read a section into a frozen dataclass with :meth:`ParameterSet.section`, which
insists that the file and the dataclass have exactly the same keys.
"""

from __future__ import annotations

import dataclasses
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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NormalPrior(_Frozen):
    """Normal(mean, sd), optionally truncated to [lower, upper]."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(gt=0)
    lower: float = -math.inf
    upper: float = math.inf


class LogNormalPrior(_Frozen):
    """log X ~ Normal(log(median), sd_log)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sd_log: float = Field(gt=0)


class UniformPrior(_Frozen):
    """Uniform(lower, upper)."""

    dist: Literal["uniform"]
    lower: float
    upper: float

    @model_validator(mode="after")
    def _ordered(self) -> UniformPrior:
        if not self.lower < self.upper:
            raise ValueError("lower must be < upper")
        return self


class LogUniformPrior(_Frozen):
    """log X ~ Uniform(log lower, log upper)."""

    dist: Literal["loguniform"]
    lower: float = Field(gt=0)
    upper: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LogUniformPrior:
        if not self.lower < self.upper:
            raise ValueError("lower must be < upper")
        return self


class BetaPrior(_Frozen):
    """Beta(a, b) on [0, 1]."""

    dist: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)


Prior = Annotated[
    NormalPrior | LogNormalPrior | UniformPrior | LogUniformPrior | BetaPrior,
    Field(discriminator="dist"),
]


class Parameter(_Frozen):
    """One model parameter: value, unit, provenance and uncertainty."""

    value: LeafValue
    unit: str = Field(min_length=1)
    source: str = Field(min_length=3)
    prior: Prior | None = None
    note: str | None = None

    @property
    def provenance(self) -> Literal["published", "assumption", "calibrated"]:
        """Where the value comes from: a citation, an assumption, or a calibration."""
        s = self.source.strip().lower()
        if s.startswith("assumption"):
            return "assumption"
        if s.startswith("calibrated"):
            return "calibrated"
        return "published"


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
                "a mapping with value, unit and source", file=file, field=path, got=child
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
    def load(cls, path: str | Path | None = None) -> ParameterSet:
        """Load and validate a parameter file (default: the one shipped with the package)."""
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
        return cls(params=out, origin=str(p))

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
        self, overrides: Mapping[str, LeafValue], *, source: str = "calibrated"
    ) -> ParameterSet:
        """A copy with some values replaced; an unknown key is an error."""
        new = dict(self.params)
        for key, val in overrides.items():
            old = self[key]
            new[key] = old.model_copy(update={"value": val, "source": source})
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
