"""The decision aid's form: its fields in plain words, and their checks on the server.

Every field may be left empty (unknown). A value that cannot be read (not a number, not one
of the choices, too long) is refused here with a message naming the field in the form's
own words; the ranges the model accepts are checked by
:class:`blinasim.jobs.predict.ChildFacts`, whose :class:`~blinasim.errors.InputError` the
app shows the same way. MRD is entered as a percentage of cells, as laboratories report it,
and handed to the model as a fraction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

MAX_FIELD_CHARS = 64


@dataclass(frozen=True)
class Field:
    """One question of the form."""

    name: str
    label: str
    kind: Literal["number", "choice", "mrd", "hts"]
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    unit: str = ""


UNKNOWN = ("", "Not known")
MRD_HINT = (
    "As a percentage of cells, as on the laboratory report: 0.01 means 0.01% "
    "(1 leukemia cell in 10,000). Enter 0 when none were found."
)

FIELDS: tuple[Field, ...] = (
    Field("age_years", "Age at diagnosis", "number", "In years, e.g. 4.5.", unit="years"),
    Field("sex", "Sex", "choice", choices=(UNKNOWN, ("female", "Girl"), ("male", "Boy"))),
    Field(
        "wbc_k_per_ul",
        "White blood cell count at diagnosis",
        "number",
        "In thousands per microlitre (×10³/µL), e.g. 12.",
        unit="×10³/µL",
    ),
    Field(
        "cns",
        "Leukemia cells in the spinal fluid at diagnosis (CNS status)",
        "choice",
        choices=(
            UNKNOWN,
            ("1", "CNS1: none found"),
            ("2", "CNS2: a few found (fewer than 5 white cells per µL)"),
        ),
    ),
    Field(
        "genetics",
        "Genetics of the leukemia",
        "choice",
        "Favorable: ETV6::RUNX1 or double trisomy of chromosomes 4 and 10.",
        choices=(
            UNKNOWN,
            ("favorable", "Favorable"),
            ("neutral", "Neither favorable nor unfavorable"),
            ("unfavorable", "Unfavorable"),
        ),
    ),
    Field(
        "down_syndrome",
        "Down syndrome",
        "choice",
        choices=(UNKNOWN, ("no", "No"), ("yes", "Yes")),
    ),
    Field("day8_mrd", "Blood MRD on day 8 (flow cytometry)", "mrd", MRD_HINT, unit="%"),
    Field(
        "eoi_flow",
        "Marrow MRD at the end of induction (flow cytometry)",
        "mrd",
        MRD_HINT,
        unit="%",
    ),
    Field(
        "eoi_hts",
        "Marrow MRD at the end of induction (high-throughput sequencing, HTS)",
        "hts",
        MRD_HINT + " Or the word 'indeterminate' when the report says so.",
        unit="%",
    ),
    Field(
        "eoc_flow",
        "Marrow MRD at the end of consolidation (flow cytometry)",
        "mrd",
        MRD_HINT,
        unit="%",
    ),
)
BY_NAME = {f.name: f for f in FIELDS}
HORIZONS = ("3", "5", "10")


class FormError(ValueError):
    """A field that cannot be read: which field and what was expected (shown in the page)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def _number(f: Field, raw: str) -> float:
    try:
        x = float(raw.replace(",", ""))
    except ValueError:
        raise FormError(f.name, "expected a number") from None
    if not math.isfinite(x) or x < 0:
        raise FormError(f.name, "expected a number of 0 or more")
    return x


def _percent(f: Field, raw: str) -> float:
    x = _number(f, raw.rstrip("%").strip())
    if x > 100:
        raise FormError(f.name, "expected a percentage from 0 to 100")
    return x / 100.0


def parse_facts(form: Mapping[str, str]) -> dict[str, Any]:
    """The keyword arguments of ``ChildFacts`` that the form gives (empty: unknown).

    Raises :class:`FormError` on the first field that cannot be read.
    """
    extra = sorted(set(form) - set(BY_NAME) - {"horizon"})
    if extra:
        shown = extra[0] if len(extra[0]) <= 40 else extra[0][:37] + "..."
        raise FormError("", f"the form has a field this page does not know: {shown!r}")
    out: dict[str, Any] = {}
    for f in FIELDS:
        raw = form.get(f.name, "").strip()
        if len(raw) > MAX_FIELD_CHARS:
            raise FormError(f.name, f"expected at most {MAX_FIELD_CHARS} characters")
        if raw == "":
            out[f.name] = None
        elif f.kind == "number":
            out[f.name] = _number(f, raw)
        elif f.kind == "mrd":
            out[f.name] = _percent(f, raw)
        elif f.kind == "hts":
            out[f.name] = "indeterminate" if raw.lower() == "indeterminate" else _percent(f, raw)
        else:
            allowed = [v for v, _ in f.choices if v]
            if raw not in allowed:
                raise FormError(f.name, f"expected one of: {', '.join(allowed)}")
            if f.name == "down_syndrome":
                out[f.name] = raw == "yes"
            elif f.name == "cns":
                out[f.name] = int(raw)
            else:
                out[f.name] = raw
    return out


def parse_horizon(form: Mapping[str, str]) -> str:
    """The horizon shown first (3, 5 or 10 years; 5 when not given)."""
    raw = form.get("horizon", "").strip() or "5"
    if raw not in HORIZONS:
        raise FormError("horizon", "expected 3, 5 or 10 (years)")
    return raw


def label_of(name: str) -> str:
    """The form's words for a field name (the name itself when it is not a field)."""
    f = BY_NAME.get(name)
    return f.label if f is not None else name
