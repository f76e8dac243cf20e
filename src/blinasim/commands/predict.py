"""``blinasim predict``: one child's outcomes with each AALL1731 option (a decision aid).

A plain command (registered on the root app by :mod:`blinasim.cli`): parse the facts, call
:func:`blinasim.jobs.predict.predict`, print plain-language text or ``--json``. A flag left
out is an unknown fact. Bad values exit with status 2 and one line naming the flag.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from blinasim.errors import InputError
from blinasim.jobs.predict import ChildFacts
from blinasim.jobs.predict import predict as predict_child
from blinasim.jobs.predict_text import render

FLAGS = {
    "age_years": "--age",
    "sex": "--sex",
    "wbc_k_per_ul": "--wbc",
    "cns": "--cns",
    "genetics": "--genetics",
    "down_syndrome": "--down-syndrome",
    "day8_mrd": "--day8-mrd",
    "eoi_flow": "--eoi-flow",
    "eoi_hts": "--eoi-hts",
    "eoc_flow": "--eoc-flow",
    "seed": "--seed",
}


def _float(flag: str, text: str | None, expected: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(expected, field=flag, got=text) from None


def _fraction(flag: str, text: str | None) -> float | None:
    return _float(flag, text, "an MRD fraction from 0 to 1, e.g. 0.0001 (= 0.01%)")


def _hts(text: str | None) -> float | str | None:
    if text is not None and text.strip().lower() == "indeterminate":
        return "indeterminate"
    return _float(
        "--eoi-hts", text, "an MRD fraction from 0 to 1, e.g. 0.00001, or 'indeterminate'"
    )


def _facts(
    age: str | None,
    sex: str | None,
    wbc: str | None,
    cns: str | None,
    genetics: str | None,
    down_syndrome: bool,
    day8: str | None,
    eoi_flow: str | None,
    eoi_hts: str | None,
    eoc_flow: str | None,
) -> ChildFacts:
    cns_v: int | None = None
    if cns is not None:
        if cns.strip() not in ("1", "2"):
            raise InputError("1 or 2 (CNS3 was not eligible for AALL1731)", field="--cns", got=cns)
        cns_v = int(cns)
    try:
        return ChildFacts(
            age_years=_float("--age", age, "an age in years, e.g. 4.5"),
            sex=sex.strip().lower() if sex is not None else None,
            wbc_k_per_ul=_float("--wbc", wbc, "a white-cell count in 10^3/µL, e.g. 12"),
            cns=cns_v,
            genetics=genetics.strip().lower() if genetics is not None else None,
            down_syndrome=True if down_syndrome else None,
            day8_mrd=_fraction("--day8-mrd", day8),
            eoi_flow=_fraction("--eoi-flow", eoi_flow),
            eoi_hts=_hts(eoi_hts),
            eoc_flow=_fraction("--eoc-flow", eoc_flow),
        )
    except InputError as exc:
        raise _as_flag(exc) from None


def _as_flag(exc: InputError) -> InputError:
    flag = FLAGS.get(exc.field or "")
    if flag is None:
        return exc
    return InputError(exc.expected, field=flag, got=exc.got)


def predict(
    age: Annotated[str | None, typer.Option("--age", help="Age at diagnosis, years.")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="female or male.")] = None,
    wbc: Annotated[
        str | None, typer.Option("--wbc", help="White-cell count at diagnosis, 10^3/µL.")
    ] = None,
    cns: Annotated[str | None, typer.Option("--cns", help="CNS status: 1 or 2.")] = None,
    genetics: Annotated[
        str | None, typer.Option("--genetics", help="favorable, neutral or unfavorable.")
    ] = None,
    down_syndrome: Annotated[
        bool, typer.Option("--down-syndrome", help="The child has Down syndrome.")
    ] = False,
    day8: Annotated[
        str | None, typer.Option("--day8-mrd", help="Day-8 blood flow MRD, a fraction.")
    ] = None,
    eoi_flow: Annotated[
        str | None, typer.Option("--eoi-flow", help="End-of-induction marrow flow MRD.")
    ] = None,
    eoi_hts: Annotated[
        str | None,
        typer.Option("--eoi-hts", help="End-of-induction HTS MRD, a fraction or indeterminate."),
    ] = None,
    eoc_flow: Annotated[
        str | None, typer.Option("--eoc-flow", help="End-of-consolidation marrow flow MRD.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 20241207,
) -> None:
    """One child's outcomes with each AALL1731 option, from virtual twins (leave out unknowns).

    MRD values are fractions (0.0001 = 0.01%). A research model, not medical advice: talk
    with your child's oncologist.
    """
    facts = _facts(age, sex, wbc, cns, genetics, down_syndrome, day8, eoi_flow, eoi_hts, eoc_flow)
    try:
        result = predict_child(facts, seed=seed)
    except InputError as exc:
        raise _as_flag(exc) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(render(result))
