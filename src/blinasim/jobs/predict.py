"""``blinasim predict``: one child's outcomes with each AALL1731 option, from virtual twins.

Not a regression: children are simulated with the child's known covariates (unknown ones
drawn from the cohort model), run through the common start of therapy and the MRD assays,
and kept when their simulated readouts match the child's observed ones
(:func:`blinasim.jobs.predict_twins.match`); the kept twins then run on every option open to
them in AALL1731 with common random numbers, over posterior draws of the calibrated model
(:mod:`blinasim.jobs.predict_summary` for the estimates and 95% intervals). The method, the
matching rule and what the model does not know: ``docs/decision_aid.md``.

A research model, not medical advice.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from blinasim._version import __version__
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.jobs import predict_results as results
from blinasim.jobs.predict_screen import (
    KERNEL_THREADS,
    MIN_TWINS_REPORTED,
    WIDTHS_LOG10,
    check_same_readouts,
    inputs,
    kernel_threads,
    rarest_readout,
    screen,
)
from blinasim.jobs.predict_twins import Facts, Observed, simulate_draw
from blinasim.model.engine import DEFAULT_HORIZON_DAYS

GENETICS = ("favorable", "neutral", "unfavorable")
SEXES = ("female", "male")
MRD_FIELDS = ("day8_mrd", "eoi_flow", "eoi_hts", "eoc_flow")
MATCHED = ("day8_pb_flow", "eoi_flow", "eoi_hts", "eoc_flow")
TRIAL = "COG AALL1731 (NCT03914625; Gupta et al., N Engl J Med 2025;392:875-891)"


def _number(name: str, value: object, lo: float, hi: float, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(what, field=name, got=value)
    v = float(value)
    if not (math.isfinite(v) and lo <= v <= hi):
        raise InputError(what, field=name, got=value)
    return v


@dataclass(frozen=True)
class ChildFacts:
    """What is known about the child at the decision (None: unknown).

    ``wbc_k_per_ul``: initial white-cell count in 10^3/µL; MRD values are fractions (1e-4 =
    0.01%); ``eoi_hts`` may be ``"indeterminate"``. Construction validates every field and
    raises :class:`~blinasim.errors.InputError` naming the field and what was expected.
    """

    age_years: float | None = None
    sex: str | None = None
    wbc_k_per_ul: float | None = None
    cns: int | None = None
    genetics: str | None = None
    down_syndrome: bool | None = None
    day8_mrd: float | None = None
    eoi_flow: float | None = None
    eoi_hts: float | str | None = None
    eoc_flow: float | None = None

    def __post_init__(self) -> None:
        _number("age_years", self.age_years, 0.0, 25.0, "an age in years from 0 to 25")
        _number("wbc_k_per_ul", self.wbc_k_per_ul, 0.0, 5000.0, "a WBC in 10^3/µL, 0 to 5000")
        if self.sex is not None and self.sex not in SEXES:
            raise InputError("female or male", field="sex", got=self.sex)
        if self.cns is not None and (isinstance(self.cns, bool) or self.cns not in (1, 2)):
            raise InputError(
                "CNS status 1 or 2 (CNS3 children were not eligible for AALL1731)",
                field="cns",
                got=self.cns,
            )
        if self.genetics is not None and self.genetics not in GENETICS:
            raise InputError(
                "favorable, neutral or unfavorable", field="genetics", got=self.genetics
            )
        if self.down_syndrome is not None and not isinstance(self.down_syndrome, bool | np.bool_):
            raise InputError("true or false", field="down_syndrome", got=self.down_syndrome)
        for name in MRD_FIELDS:
            v = getattr(self, name)
            if name == "eoi_hts" and v == "indeterminate":
                continue
            extra = ' or "indeterminate"' if name == "eoi_hts" else ""
            _number(name, v, 0.0, 1.0, f"an MRD fraction from 0 to 1 (1e-4 = 0.01%){extra}")

    @property
    def unknown(self) -> tuple[str, ...]:
        """The fields left unknown (integrated over by the prediction)."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is None)

    def scope_problems(self) -> tuple[str, ...]:
        """Why the child is outside what the model covers (empty: inside)."""
        return tuple(msg for _, msg in self._scope())

    def _scope(self) -> list[tuple[str, str]]:
        out = []
        if self.age_years is not None and not 1.0 <= self.age_years < 10.0:
            out.append(
                (
                    "age_years",
                    f"age {self.age_years:g} years is outside NCI standard risk "
                    "(1 to under 10 years)",
                )
            )
        if self.wbc_k_per_ul is not None and self.wbc_k_per_ul >= 50.0:
            out.append(
                (
                    "wbc_k_per_ul",
                    f"WBC {self.wbc_k_per_ul:g} x10^3/µL is outside NCI standard risk (under 50)",
                )
            )
        if self.down_syndrome:
            out.append(
                (
                    "down_syndrome",
                    "children with Down syndrome were treated in AALL1731's own cohorts, "
                    "which the model does not cover",
                )
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """The facts as given (None: unknown)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Prediction:
    """One child's prediction (:meth:`to_dict` is the JSON of ``blinasim predict --json``)."""

    facts: ChildFacts
    risk_group: str
    risk_group_shares: dict[str, float]
    eligible_options: tuple[str, ...]
    unknown: tuple[str, ...]
    options: dict[str, results.OptionResult]
    comparison: results.Comparison | None
    curves: dict[str, dict[str, list[float]]]
    matching: dict[str, Any]
    notes: tuple[str, ...]
    limitations: tuple[str, ...]
    model_version: str
    posterior: str
    seed: int
    disclaimer: str = DISCLAIMER
    elapsed_seconds: float = field(default=math.nan, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (keys stable; new keys may be added)."""
        return {
            "risk_group": self.risk_group,
            "risk_group_shares": {k: round(v, 4) for k, v in self.risk_group_shares.items()},
            "eligible_options": list(self.eligible_options),
            "unknown": list(self.unknown),
            "facts": self.facts.as_dict(),
            "options": {k: v.to_dict() for k, v in self.options.items()},
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "curves": self.curves,
            "matching": self.matching,
            "notes": list(self.notes),
            "limitations": list(self.limitations),
            "source": {
                "trial": TRIAL,
                "model_version": self.model_version,
                "posterior": self.posterior,
            },
            "model_version": self.model_version,
            "seed": self.seed,
            "disclaimer": self.disclaimer,
        }


LIMITATIONS = (
    "Genetics enter only as three groups (favorable, neutral, unfavorable); a named lesion "
    "beyond them (e.g. IKZF1 deletion) is not modelled.",
    "Only NCI standard-risk children (1 to under 10 years, WBC under 50 x10^3/µL) without "
    "Down syndrome, CNS3 disease, testicular disease or BCR::ABL1, as in AALL1731.",
    "Sex and WBC do not change the leukemia in the model: sex enters only through body size "
    "and life expectancy, WBC only through eligibility.",
    "Chemotherapy doses follow the COG standard-risk backbone; several phase contents are "
    "assumptions (docs/model.md).",
    "Outcomes are for children alive and in remission when the options are chosen (after "
    "consolidation, where AALL1731 randomized).",
)


def _model_facts(facts: ChildFacts) -> tuple[Facts, Observed]:
    sim = Facts(
        age_years=facts.age_years,
        male=None if facts.sex is None else facts.sex == "male",
        cns2=None if facts.cns is None else facts.cns == 2,
        genetics=facts.genetics,
    )
    obs = Observed(
        day8_pb_flow=facts.day8_mrd,
        eoi_flow=facts.eoi_flow,
        eoi_hts=facts.eoi_hts,
        eoc_flow=facts.eoc_flow,
    )
    return sim, obs


def predict(
    facts: ChildFacts,
    *,
    seed: int = 20241207,
    draws: int = 20,
    candidates: int = 3000,
    min_twins: int = 1000,
    max_twins_per_draw: int = 400,
    posterior: str | None = None,
) -> Prediction:
    """Predict one child's outcomes with each AALL1731 option open to them.

    ``draws`` posterior draws (chosen reproducibly from ``seed``) x ``candidates`` simulated
    children each are screened on the common start of therapy; the matching window widens
    (:data:`WIDTHS_LOG10`) until ``min_twins`` candidates match (for rare readouts, up to
    :data:`MAX_ROUNDS` rounds of candidates are screened with the bands alone); the first
    ``max_twins_per_draw`` matches of each draw then run on the whole protocol (each draw
    weighted by its number of matches). ``posterior``: a posterior CSV (None: the shipped
    one). Children outside NCI standard risk are refused
    (:class:`~blinasim.errors.InputError`). The same seed gives the same numbers. A research
    model, not medical advice.
    """
    t0 = time.perf_counter()
    if not isinstance(facts, ChildFacts):
        raise InputError("a ChildFacts record", field="facts", got=type(facts).__name__)
    for name, v, lo in (("seed", seed, 0), ("draws", draws, 1), ("candidates", candidates, 100)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InputError(f"an integer >= {lo}", field=name, got=v)
    scope = facts._scope()
    if scope:
        raise InputError(
            "a child with NCI standard-risk B-ALL as in AALL1731, the only children the model "
            "covers (" + "; ".join(msg for _, msg in scope) + ")",
            field=scope[0][0],
        )
    inp = inputs(posterior)
    post = inp.posterior
    idx = post.indices(n=draws, seed=seed)
    sim, obs = _model_facts(facts)
    sets = [
        inp.base.with_values(post.values(int(i)), source=f"calibrated: {post.name}, draw {i}")
        for i in idx
    ]
    with kernel_threads(KERNEL_THREADS):
        scr = screen(sim, obs, sets, inp, seed=seed, candidates=candidates, min_twins=min_twins)
        male_share = 0.5 if sim.male is None else float(sim.male)
        twins = []
        for j, (part, ps, sc, m) in enumerate(
            zip(scr.parts, sets, scr.readouts, scr.found, strict=True)
        ):
            keep = np.flatnonzero(m)[:max_twins_per_draw]
            tw = simulate_draw(
                part.iloc[keep],
                inp.protocol,
                ps,
                draw=int(idx[j]),
                seed=seed,
                male_share=male_share,
                horizon_days=DEFAULT_HORIZON_DAYS,
            )
            check_same_readouts(sc, keep, tw)
            twins.append(dataclasses.replace(tw, readouts=sc.take(keep)))
    masks = [t.event_free for t in twins]
    n_matched = sum(int(m.sum()) for m in masks)
    if n_matched < MIN_TWINS_REPORTED:
        raise InputError(
            f"MRD readouts that at least {MIN_TWINS_REPORTED} simulated children show together "
            f"(only {n_matched} of {scr.n_candidates:,} did, even within the AALL1731 bands "
            "alone; the rarest in the model: "
            f"{rarest_readout(obs, scr, inp.rules)}): the model cannot predict for them",
            field="MRD readouts",
        )
    summary = results.summarize(twins, masks, [float(m.sum()) for m in scr.found])
    known = any(getattr(obs, k) is not None for k in MATCHED)
    width = scr.width_log10
    matching = {
        "rule": (
            "same AALL1731 band of each known MRD readout (below detection, each risk-rule "
            "cut point) and, for a detected value, within the log10 window; alive and in "
            "remission at the decision day"
        ),
        "window_log10": None if math.isinf(width) else width,
        "widened": known and (width != WIDTHS_LOG10[0] or scr.rounds > 1),
        "without_day8": scr.without_day8,
        "twins": n_matched,
        "candidates": scr.n_candidates,
        "screened_matches": scr.n_matched,
        "screening_rounds": scr.rounds,
        "posterior_draws": draws,
        "min_twins": min_twins,
    }
    notes = list(summary.notes)
    if matching["widened"]:
        notes.append(
            "Few simulated children matched the MRD readouts closely: the matching window was "
            "widened to "
            + ("the AALL1731 bands alone" if math.isinf(width) else f"±{width:g} log10")
            + (f", over {scr.rounds} rounds of simulated children." if scr.rounds > 1 else ".")
        )
    if scr.without_day8:
        notes.append(
            "Too few simulated children showed this day-8 blood MRD together with the other "
            "results, so day-8 was left out of the matching (with these genetics it does not "
            "change the risk group)."
        )
    if n_matched < min_twins:
        notes.append(
            f"Only {n_matched} simulated children matched: the numbers are less certain "
            "than their intervals say."
        )
    for name, what in (("age_years", "age"), ("wbc_k_per_ul", "WBC")):
        if getattr(facts, name) is None:
            notes.append(f"{what.capitalize()} unknown: assumed within NCI standard risk.")
    if facts.down_syndrome is None:
        notes.append("Down syndrome unknown: assumed absent (the model does not cover it).")
    return Prediction(
        facts=facts,
        risk_group=summary.risk_group,
        risk_group_shares=summary.risk_group_shares,
        eligible_options=summary.eligible_options,
        unknown=facts.unknown,
        options=summary.options,
        comparison=summary.comparison,
        curves=summary.curves,
        matching=matching,
        notes=tuple(notes),
        limitations=LIMITATIONS,
        model_version=f"blinasim {__version__}",
        posterior=f"{post.name} ({post.origin.rsplit('/', 1)[-1]})",
        seed=seed,
        elapsed_seconds=time.perf_counter() - t0,
    )


__all__ = ["ChildFacts", "Prediction", "predict"]
