"""What-if validation of backbone intensity: published comparisons predicted, never fitted.

Three randomized comparisons of chemotherapy intensity that no model parameter was set
against are written as protocol variants of AALL1731 (``protocol/protocols/whatif/``) and
predicted by running the same virtual children on both variants (common random numbers):

* AALL0232: high-dose vs Capizzi methotrexate in interim maintenance I (Larsen, JCO 2016);
* CCG-1991: double vs single delayed intensification, and escalating IV vs oral
  methotrexate in interim maintenance (Matloub, Blood 2011);
* AALL0932: vincristine/dexamethasone pulses every 4 vs every 12 weeks (Angiolillo, JCO 2021).

The published effect is the difference in event-free proportion at the trial's time point
(experimental minus control), with the 95% CI of two independent arms from their published
SEs (``data/targets/backbone.yaml``, role ``held_out``). The predicted effect is the same
difference among the model's children nearest to the trial's population (stated per
comparison), from each child's landmark (the trial's randomization point). With a posterior,
each of ``draws`` parameter sets gives an effect and its Monte Carlo SE; the predicted 95%
interval is that of the mixture of their normal distributions (posterior and Monte Carlo
uncertainty), the point its mean. ``hit``: the predicted point lies inside the published
95% CI. :func:`run_whatif` is what ``blinasim validate`` calls. A research model, not
medical advice.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special

from blinasim.calibrate.ensemble import load_posterior
from blinasim.cohort import sample_cohort
from blinasim.config import ParameterSet
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.model.engine import simulate
from blinasim.model.leukemia import ChemoParams
from blinasim.model.plan import arm_plan, reference_intensities
from blinasim.protocol import load_protocol
from blinasim.protocol.loader import shipped_dir
from blinasim.targets import TargetSet, shipped_target_sets
from blinasim.units import DAYS_PER_YEAR

Z95 = 1.959963984540054


@dataclass(frozen=True)
class WhatIfSpec:
    """One published comparison and the protocol variant arms that predict it."""

    id: str
    description: str
    protocol: str
    """File stem in ``protocol/protocols/whatif/``."""
    control_arms: tuple[str, ...]
    experimental_arms: tuple[str, ...]
    """Paired with ``control_arms``: one pair per AALL1731 stratum simulated."""
    landmark_phase: str | None
    """Outcomes are counted from the start of this phase (None: diagnosis)."""
    years: float
    endpoint: Literal["efs", "dfs"]
    control_target: str
    experimental_target: str
    population: str
    """The model's children used, and how they differ from the trial's."""


COMPARISONS: tuple[WhatIfSpec, ...] = (
    WhatIfSpec(
        id="aall0232_hd_vs_capizzi_mtx",
        description="AALL0232: high-dose vs Capizzi methotrexate in interim maintenance I",
        protocol="aall0232_im1_methotrexate",
        control_arms=("C_MTX",),
        experimental_arms=("HD_MTX",),
        landmark_phase=None,
        years=5.0,
        endpoint="efs",
        control_target="aall0232_efs5_c_mtx",
        experimental_target="aall0232_efs5_hd_mtx",
        population=(
            "on-study SR-High children on the arm C backbone (the trial: NCI high-risk, "
            "1-30 years, outside the model's NCI standard-risk cohort); EFS from diagnosis"
        ),
    ),
    WhatIfSpec(
        id="ccg1991_double_vs_single_di",
        description="CCG-1991: double vs single delayed intensification",
        protocol="ccg1991_backbone",
        control_arms=("FAV_IV_1DI", "AVG_IV_1DI", "HIGH_IV_1DI"),
        experimental_arms=("FAV_IV_2DI", "AVG_IV_2DI", "HIGH_IV_2DI"),
        landmark_phase="consolidation",
        years=5.0,
        endpoint="efs",
        control_target="ccg1991_efs5_single_di",
        experimental_target="ccg1991_efs5_double_di",
        population=(
            "all on-study NCI standard-risk children (the trial: rapid early responders); "
            "IV methotrexate backbone; EFS from the end of induction"
        ),
    ),
    WhatIfSpec(
        id="ccg1991_iv_vs_oral_mtx",
        description="CCG-1991: escalating IV vs oral methotrexate in interim maintenance",
        protocol="ccg1991_backbone",
        control_arms=("FAV_PO_1DI", "AVG_PO_1DI", "HIGH_PO_1DI"),
        experimental_arms=("FAV_IV_1DI", "AVG_IV_1DI", "HIGH_IV_1DI"),
        landmark_phase="consolidation",
        years=5.0,
        endpoint="efs",
        control_target="ccg1991_efs5_po_mtx",
        experimental_target="ccg1991_efs5_iv_mtx",
        population=(
            "all on-study NCI standard-risk children (the trial: rapid early responders); "
            "single-DI backbone; EFS from the end of induction"
        ),
    ),
    WhatIfSpec(
        id="aall0932_pulses_q4_vs_q12",
        description="AALL0932: vincristine/dexamethasone pulses every 4 vs every 12 weeks",
        protocol="aall0932_pulses",
        control_arms=("FAV_Q12", "AVG_Q12"),
        experimental_arms=("FAV_Q4", "AVG_Q4"),
        landmark_phase="maintenance",
        years=5.0,
        endpoint="dfs",
        control_target="aall0932_dfs5_vcr_dex_q12",
        experimental_target="aall0932_dfs5_vcr_dex_q4",
        population=(
            "on-study SR-Favorable and SR-Average children (the trial: NCI standard-risk "
            "average risk); DFS from the start of maintenance"
        ),
    ),
)


@dataclass(frozen=True)
class Effect:
    """A difference in event-free proportion (experimental minus control) and its 95% interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class WhatIfResult:
    """One comparison: published vs predicted effect, and whether the prediction hits."""

    id: str
    description: str
    population: str
    endpoint: str
    years: float
    published: Effect
    """Published difference with the 95% CI of two independent arms."""
    predicted: Effect
    """Predicted difference (mean over parameter sets) with its 95% interval."""
    hit: bool
    """True when the predicted point lies inside the published 95% CI."""
    published_control: float
    published_experimental: float
    predicted_control: float
    predicted_experimental: float
    n_children: int
    """Children compared (event-free at the landmark), first parameter set."""


@dataclass(frozen=True)
class WhatIfReport:
    """Every comparison's result, how it was computed, and the disclaimer."""

    results: tuple[WhatIfResult, ...]
    n: int
    seed: int
    parameters: str
    draws: int
    disclaimer: str = DISCLAIMER

    @property
    def hits(self) -> int:
        """Number of comparisons whose prediction lies inside the published 95% CI."""
        return sum(r.hit for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON)."""
        return {**asdict(self), "hits": self.hits}


def is_hit(predicted: float, published: Effect) -> bool:
    """The predicted point lies inside the published 95% CI (bounds included)."""
    return bool(published.low <= predicted <= published.high)


def published_effect(targets: TargetSet, spec: WhatIfSpec) -> tuple[Effect, float, float]:
    """Experimental minus control from the two held-out targets, CI of independent arms."""
    c = targets.get(spec.control_target)
    e = targets.get(spec.experimental_target)
    for t in (c, e):
        if t.role != "held_out":
            raise InputError("a held-out target (never fitted)", field=t.id, got=t.role)
    d = e.estimate - c.estimate
    se = math.hypot(c.se, e.se)
    return Effect(d, d - Z95 * se, d + Z95 * se), c.estimate, e.estimate


def mixture_interval(means: Sequence[float], ses: Sequence[float]) -> Effect:
    """Mean and 2.5/97.5% quantiles of an equal mixture of normals N(mean_j, se_j²)."""
    m = np.asarray(means, dtype=np.float64)
    s = np.maximum(np.asarray(ses, dtype=np.float64), 1e-12)

    def cdf(x: float) -> float:
        return float(np.mean(special.ndtr((x - m) / s)))

    lo_b = float(np.min(m - 10 * s))
    hi_b = float(np.max(m + 10 * s))
    q = [optimize.brentq(lambda x, p=p: cdf(x) - p, lo_b, hi_b, xtol=1e-12) for p in (0.025, 0.975)]
    return Effect(float(m.mean()), float(q[0]), float(q[1]))


def whatif_protocol_path(name: str) -> Path:
    """Path of a shipped what-if protocol variant."""
    return shipped_dir() / "whatif" / f"{name}.yaml"


def _first_event_day(p: pd.DataFrame) -> Any:
    cols = ["relapse_day", "second_malignancy_day", "death_day"]
    return p[cols].astype(float).fillna(np.inf).min(axis=1)


def _paired_survival(
    spec: WhatIfSpec,
    cohort: pd.DataFrame,
    params: ParameterSet,
    seed: int,
    cache: dict[tuple[str, str], pd.Series],
) -> tuple[float, float, float, float, int]:
    """(effect, its Monte Carlo SE, control and experimental proportions, n) for one set."""
    proto = load_protocol(whatif_protocol_path(spec.protocol))

    def first(arm: str) -> pd.Series:
        key = (spec.protocol, arm)
        if key not in cache:
            out = simulate(cohort, proto, arm=arm, params=params, seed=seed)
            cache[key] = pd.Series(
                _first_event_day(out.patients).to_numpy(),
                index=out.patients["patient_id"].to_numpy(),
            )
        return cache[key]

    diffs: list[np.ndarray] = []
    ctrl: list[np.ndarray] = []
    for c_arm, e_arm in zip(spec.control_arms, spec.experimental_arms, strict=True):
        start = [
            proto.arm(a).phase(spec.landmark_phase).start_day if spec.landmark_phase else 0
            for a in (c_arm, e_arm)
        ]
        if start[0] != start[1]:
            raise ValueError(f"{spec.id}: arms {c_arm}, {e_arm} reach the landmark apart")
        fc, fe = first(c_arm), first(e_arm)
        if not fc.index.equals(fe.index):
            raise ValueError(f"{spec.id}: arms {c_arm} and {e_arm} ran different children")
        day = float(start[0])
        keep = (fc.to_numpy() > day) & (fe.to_numpy() > day)
        horizon = day + spec.years * DAYS_PER_YEAR
        sc = (fc.to_numpy()[keep] > horizon).astype(float)
        se_ = (fe.to_numpy()[keep] > horizon).astype(float)
        diffs.append(se_ - sc)
        ctrl.append(sc)
    d = np.concatenate(diffs)
    c = np.concatenate(ctrl)
    if d.size < 2:
        raise InputError("a cohort with children in the comparison's strata", got=d.size)
    mc_se = float(d.std(ddof=1) / math.sqrt(d.size))
    return float(d.mean()), mc_se, float(c.mean()), float(c.mean() + d.mean()), int(d.size)


def run_whatif(
    n: int = 20_000,
    *,
    seed: int = 1,
    params: ParameterSet | None = None,
    posterior: str | Path | None = None,
    draws: int = 0,
    comparisons: Sequence[str] | None = None,
) -> WhatIfReport:
    """Predict every what-if comparison on ``n`` virtual children (seed ``seed``).

    ``draws = 0``: the point parameters (``params``, default the shipped file); ``draws >
    0``: that many parameter sets of the posterior (``posterior``: a CSV or folder, None =
    the shipped one), chosen reproducibly from ``seed``. ``comparisons``: ids of
    :data:`COMPARISONS` (default all).
    """
    if n < 1 or draws < 0:
        raise InputError("n >= 1 and draws >= 0", field="n/draws", got=(n, draws))
    wanted = list(comparisons) if comparisons is not None else [c.id for c in COMPARISONS]
    known = {c.id: c for c in COMPARISONS}
    for cid in wanted:
        if cid not in known:
            raise InputError(f"one of {sorted(known)}", field="comparisons", got=cid)
    base = ParameterSet.given(params)
    if draws == 0:
        sets = [base]
        label = f"point values ({base.origin})"
    else:
        ens = load_posterior(posterior)
        sets = list(ens.parameter_sets(base, n=draws, seed=seed))
        label = f"posterior {ens.name}, {draws} draws"
    cohort = sample_cohort(n, seed=seed, params=base)
    targets = shipped_target_sets()["backbone"]
    per: dict[str, list[tuple[float, float, float, float, int]]] = {c: [] for c in wanted}
    for ps in sets:
        cache: dict[tuple[str, str], pd.Series] = {}
        for cid in wanted:
            per[cid].append(_paired_survival(known[cid], cohort, ps, seed, cache))
    results = []
    for cid in wanted:
        spec = known[cid]
        pub, pc, pe = published_effect(targets, spec)
        rows = per[cid]
        pred = mixture_interval([r[0] for r in rows], [r[1] for r in rows])
        results.append(
            WhatIfResult(
                id=cid,
                description=spec.description,
                population=spec.population,
                endpoint=spec.endpoint,
                years=spec.years,
                published=pub,
                predicted=pred,
                hit=is_hit(pred.estimate, pub),
                published_control=pc,
                published_experimental=pe,
                predicted_control=float(np.mean([r[2] for r in rows])),
                predicted_experimental=float(np.mean([r[3] for r in rows])),
                n_children=rows[0][4],
            )
        )
    return WhatIfReport(tuple(results), n=n, seed=seed, parameters=label, draws=draws)


def markdown_table(report: WhatIfReport) -> str:
    """The report as a Markdown table (percentage points)."""

    def pp(x: float) -> str:
        return f"{100 * x:+.1f}"

    lines = [
        "| comparison | endpoint | published arms (ctrl / exp) | published effect (95% CI) "
        "| predicted arms (ctrl / exp) | predicted effect (95% interval) | hit |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report.results:
        lines.append(
            f"| {r.description} | {r.years:g}-y {r.endpoint.upper()} "
            f"| {100 * r.published_control:.1f} / {100 * r.published_experimental:.1f} "
            f"| {pp(r.published.estimate)} ({pp(r.published.low)} to {pp(r.published.high)}) "
            f"| {100 * r.predicted_control:.1f} / {100 * r.predicted_experimental:.1f} "
            f"| {pp(r.predicted.estimate)} ({pp(r.predicted.low)} to {pp(r.predicted.high)}) "
            f"| {'hit' if r.hit else 'miss'} |"
        )
    lines.append("")
    lines.append(
        f"{report.hits} of {len(report.results)} inside the published 95% CI; "
        f"{report.n:,} children, seed {report.seed}, {report.parameters}. {report.disclaimer}"
    )
    return "\n".join(lines)


REVIEW_PROTOCOL = "aall1731_intensity_review"
REVIEW_ARMS = ("REF", "HD_MTX_IM", "NO_DI")


@dataclass(frozen=True)
class IntensityReview:
    """Issue 13's review point 3: relapse by 10 years under intensity variants of arm A."""

    relapse_10y: dict[str, float]
    """Per arm of ``aall1731_intensity_review``: share relapsed within 10 years."""
    im_kill: dict[str, float]
    """Per arm: interim maintenance I kill relative to the reference (reference child)."""
    n_children: int


def review_intensity(
    n: int = 20_000, *, seed: int = 1, params: ParameterSet | None = None
) -> IntensityReview:
    """10-year relapse of SR-Average children under intensity variants of arm A.

    Arm A, arm A with 5 g/m² methotrexate for each IM1 dose, arm A without delayed
    intensification: the same children on the three (common random numbers).
    """
    ps = ParameterSet.given(params)
    proto = load_protocol(whatif_protocol_path(REVIEW_PROTOCOL))
    cohort = sample_cohort(n, seed=seed, params=ps)
    cp = ChemoParams.load(ps)
    ref = reference_intensities()
    relapse: dict[str, float] = {}
    kill: dict[str, float] = {}
    size = 0
    for arm in REVIEW_ARMS:
        out = simulate(cohort, proto, arm=arm, params=ps, seed=seed)
        day = out.patients["relapse_day"].astype(float).to_numpy()
        relapse[arm] = float(np.mean(day <= 10 * DAYS_PER_YEAR))
        size = int(day.size)
        resolved: Any = proto.arm(arm)
        im = [p for p in arm_plan(resolved, ref).phases if p.name == "IM1"]
        kill[arm] = im[0].intensity(cp)
    return IntensityReview(relapse_10y=relapse, im_kill=kill, n_children=size)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m blinasim.jobs.whatif [--n N] [--seed S] [--draws D] [--review]``."""
    ap = argparse.ArgumentParser(prog="python -m blinasim.jobs.whatif")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--draws", type=int, default=0)
    ap.add_argument("--posterior", default=None)
    ap.add_argument("--review", action="store_true", help="issue 13 point 3 instead")
    a = ap.parse_args(argv)
    if a.review:
        rv = review_intensity(a.n, seed=a.seed)
        for arm in REVIEW_ARMS:
            print(
                f"{arm}: 10-y relapse {100 * rv.relapse_10y[arm]:.1f}%, "
                f"IM1 kill x{rv.im_kill[arm]:.2f} ({rv.n_children:,} SR-Average children)"
            )
        return 0
    report = run_whatif(a.n, seed=a.seed, draws=a.draws, posterior=a.posterior)
    print(markdown_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
