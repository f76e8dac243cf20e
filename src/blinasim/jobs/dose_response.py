"""Blinatumomab dose-response predicted by the model (posterior draws), not fitted.

``python -m blinasim.jobs.dose_response`` prints, for each dose, the model's complete
remission within two cycles of virtual children with relapsed/refractory B-ALL (flat dosing)
and the MRD response after one cycle of virtual MRD-positive children, each as the median
and 95% interval over the shipped posterior's draws. The pediatric dose-finding trial
(von Stackelberg, JCO 2016) studied 5 to 30 µg/m²/day; only its recommended dose (5 then
15 µg/m²/day, 27/70 CR) is a target (fitted): the other doses are predictions. A research
model, not medical advice.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from blinasim.calibrate.config import load_config
from blinasim.calibrate.ensemble import load_posterior
from blinasim.calibrate.virtual import blina_cr_response, blina_mrd_response
from blinasim.config import ParameterSet
from blinasim.disclaimer import DISCLAIMER
from blinasim.model.engine import ModelParams

DOSES_UG_PER_M2_DAY = (5.0, 10.0, 15.0, 30.0)


@dataclass(frozen=True)
class DosePoint:
    """The model's responses at one dose (median and 95% interval over posterior draws)."""

    dose_ug_per_m2_day: float
    cr_rr: tuple[float, float, float]
    mrd_response: tuple[float, float, float]


def dose_response(
    doses: Sequence[float] = DOSES_UG_PER_M2_DAY, *, draws: int = 40, seed: int = 1
) -> tuple[DosePoint, ...]:
    """Responses at ``doses`` over the first ``draws`` draws of the shipped posterior."""
    post = load_posterior(None)
    cfg = load_config(None)
    vx = cfg.virtual.experiments()
    sets = list(post.parameter_sets(ParameterSet.load(), n=min(max(1, draws), len(post))))
    cr = np.empty((len(sets), len(doses)))
    mrd = np.empty((len(sets), len(doses)))
    for i, ps in enumerate(sets):
        mp = ModelParams.from_parameters(ps)
        for j, d in enumerate(doses):
            cr[i, j] = blina_cr_response(
                "pediatric_relapsed_refractory", mp, vx, seed, flat_dose=d
            ).value
            vxd = dataclasses.replace(vx, dose_ug_per_m2_day=d)
            mrd[i, j] = blina_mrd_response("pediatric_relapse", mp, vxd, seed).value

    def q(x: NDArray[np.float64]) -> tuple[float, float, float]:
        lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975])
        return float(med), float(lo), float(hi)

    return tuple(
        DosePoint(dose_ug_per_m2_day=float(d), cr_rr=q(cr[:, j]), mrd_response=q(mrd[:, j]))
        for j, d in enumerate(doses)
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the dose-response table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=40)
    args = ap.parse_args(argv)
    pts = dose_response(draws=args.draws)
    print("| dose (µg/m²/day) | CR within 2 cycles, R/R children | MRD response, 1 cycle |")
    print("|---|---|---|")
    for p in pts:
        c, m = p.cr_rr, p.mrd_response
        print(
            f"| {p.dose_ug_per_m2_day:g} | {c[0]:.0%} ({c[1]:.0%}-{c[2]:.0%}) "
            f"| {m[0]:.0%} ({m[1]:.0%}-{m[2]:.0%}) |"
        )
    print(DISCLAIMER)


if __name__ == "__main__":
    main()
