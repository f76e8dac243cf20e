"""Screening for ``blinasim predict``: candidates, matching windows, rounds, inputs.

Per posterior draw, candidates are screened on the common start of therapy
(:func:`blinasim.jobs.predict_twins.screen_draw`); :func:`screen` tries the matching windows
of :data:`WIDTHS_LOG10` in turn, then further rounds of candidates with the AALL1731 bands
alone, then (only where it cannot change the risk group: genetics known and not favorable)
the bands without the day-8 blood readout, until enough candidates match.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.calibrate.ensemble import PosteriorEnsemble, load_posterior
from blinasim.cohort import RiskRules
from blinasim.config import ParameterSet
from blinasim.jobs.predict_twins import (
    DrawTwins,
    Facts,
    Observed,
    Readouts,
    Start,
    match,
    screen_draw,
    start_of,
    twin_covariates,
)
from blinasim.protocol import load_protocol

WIDTHS_LOG10 = (0.5, 1.0, math.inf)
"""Matching windows tried in turn (log10 units around each detected readout; ``inf``: the
AALL1731 band alone) until at least ``min_twins`` twins match."""
MAX_ROUNDS = 4
"""Rounds of candidates screened (after the first, with the bands alone) for rare readouts."""
MIN_TWINS_REPORTED = 100
"""Fewer matched twins than this and the prediction is refused."""
KERNEL_THREADS = 1
"""Threads of the numba kernels during a prediction: its batches are small (hundreds to a
few thousand children), where the thread pool costs more than it saves, and a second
request (the web app) keeps the other core (benchmarks/predict.py)."""


@dataclass(frozen=True)
class Inputs:
    """What every prediction reads: posterior, parameters, protocol, its start, the rules."""

    posterior: PosteriorEnsemble
    base: ParameterSet
    protocol: Any
    start: Start
    rules: RiskRules


@functools.lru_cache(maxsize=2)
def inputs(posterior: str | None) -> Inputs:
    """The posterior, parameters, protocol and risk rules (read once per process)."""
    base = ParameterSet.load()
    protocol = load_protocol("aall1731")
    return Inputs(
        posterior=load_posterior(posterior),
        base=base,
        protocol=protocol,
        start=start_of(protocol),
        rules=RiskRules.load(base),
    )


def check_same_readouts(screen: Readouts, keep: NDArray[np.intp], tw: DrawTwins) -> None:
    """The twins' readouts on the whole protocol must be those they were matched on."""
    for k, v in screen.values.items():
        if not np.array_equal(v[keep], tw.readouts.values[k], equal_nan=True):
            raise RuntimeError(f"{k}: readouts differ between screening and the full run")


@contextlib.contextmanager
def kernel_threads(n: int) -> Iterator[None]:
    """Run the model's numba kernels on ``n`` threads in this thread (restored after)."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))))
    try:
        yield
    finally:
        numba.set_num_threads(before)


@dataclass(frozen=True)
class Screening:
    """Per draw: the candidates screened, their readouts, which matched; how they matched."""

    parts: list[pd.DataFrame]
    readouts: list[Readouts]
    found: list[NDArray[np.bool_]]
    width_log10: float
    rounds: int
    without_day8: bool

    @property
    def n_candidates(self) -> int:
        """Candidates screened over all draws."""
        return sum(len(p) for p in self.parts)

    @property
    def n_matched(self) -> int:
        """Candidates that matched over all draws."""
        return sum(int(m.sum()) for m in self.found)


def screen(
    sim: Facts,
    obs: Observed,
    sets: list[ParameterSet],
    inp: Inputs,
    *,
    seed: int,
    candidates: int,
    min_twins: int,
) -> Screening:
    """Screen ``candidates`` per draw (parameter sets ``sets``) until ``min_twins`` match.

    First round: the windows of :data:`WIDTHS_LOG10` in turn. Then up to
    :data:`MAX_ROUNDS` rounds in all, each adding ``candidates`` per draw, matched on the
    bands alone (skipped when even that many rounds would give fewer than
    :data:`MIN_TWINS_REPORTED`, judging by the first). Last, if the genetics are known and
    not favorable (so day-8 blood MRD cannot change the risk group), the bands without the
    day-8 readout, if that gives at least :data:`MIN_TWINS_REPORTED`.
    """
    draws = len(sets)
    parts: list[list[pd.DataFrame]] = [[] for _ in sets]
    reads: list[list[Readouts]] = [[] for _ in sets]
    screens: list[Readouts] = []

    def done(found: list[NDArray[np.bool_]], w: float, no_d8: bool) -> Screening:
        rounds = len(parts[0])
        return Screening(
            [pd.concat(p) for p in parts], screens, found, w, rounds, without_day8=no_d8
        )

    found: list[NDArray[np.bool_]] = []
    for r in range(MAX_ROUNDS):
        cov = twin_covariates(sim, draws * candidates, seed, start=r * draws * candidates)
        for j, ps in enumerate(sets):
            part = cov.iloc[j * candidates : (j + 1) * candidates]
            parts[j].append(part)
            reads[j].append(screen_draw(part, inp.start, ps, seed=seed))
        screens = [Readouts.concat(x) for x in reads]
        for w in WIDTHS_LOG10 if r == 0 else WIDTHS_LOG10[-1:]:
            found = [match(sc, obs, inp.rules, w) for sc in screens]
            if sum(int(m.sum()) for m in found) >= min_twins:
                return done(found, w, False)
        if r == 0 and sum(int(m.sum()) for m in found) * MAX_ROUNDS < MIN_TWINS_REPORTED:
            break  # more rounds cannot reach the floor: straight to the fallback
    if obs.day8_pb_flow is not None and sim.genetics in ("neutral", "unfavorable"):
        loose = dataclasses.replace(obs, day8_pb_flow=None)
        without = [match(sc, loose, inp.rules, math.inf) for sc in screens]
        if sum(int(m.sum()) for m in without) >= MIN_TWINS_REPORTED:
            return done(without, math.inf, True)
    return done(found, math.inf, False)


def rarest_readout(obs: Observed, scr: Screening, rules: RiskRules) -> str:
    """The known readout that the fewest screened candidates match alone (bands alone)."""
    best, share = "", math.inf
    for name in ("day8_pb_flow", "eoi_flow", "eoi_hts", "eoc_flow"):
        if getattr(obs, name) is None:
            continue
        alone = Observed(**{k: getattr(obs, k) if k == name else None for k in _OBS_FIELDS})
        hits = sum(int(match(sc, alone, rules, math.inf).sum()) for sc in scr.readouts)
        if hits / max(scr.n_candidates, 1) < share:
            best, share = name, hits / max(scr.n_candidates, 1)
    return f"{_WORDS[best]} ({share:.2%} of simulated children)" if best else ""


_OBS_FIELDS = ("day8_pb_flow", "eoi_flow", "eoi_hts", "eoc_flow")
_WORDS = {
    "day8_pb_flow": "day-8 blood MRD",
    "eoi_flow": "end-of-induction flow MRD",
    "eoi_hts": "end-of-induction HTS MRD",
    "eoc_flow": "end-of-consolidation flow MRD",
}
