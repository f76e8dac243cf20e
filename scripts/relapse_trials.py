"""Predict the two relapse trials with the salvage pathway (never fitted to them).

    .venv/bin/python scripts/relapse_trials.py [--replicates R] [--seed S] [--out DIR]

For each of AALL1331 (HR/IR randomization) and 20120215 prints the predicted 1/2/3-year
DFS or EFS and OS per arm, the hazard ratios, MRD negativity after the randomized cycle and
the share transplanted, over R trials of the published size; ``--out`` writes
``DIR/relapse_<trial>.json``. A research model, not medical advice.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from blinasim.disclaimer import DISCLAIMER
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse.trials import TRIALS, RelapseTrial, predict


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, default=200)
    p.add_argument("--seed", type=int, default=20210302)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    ap = AfterRelapseParams.load()
    for name in TRIALS:
        res = predict(RelapseTrial.load(name), replicates=a.replicates, seed=a.seed, ap=ap)
        res["disclaimer"] = DISCLAIMER
        print(f"== {res['title']} ({a.replicates} trials of {res['n_per_arm']})")
        for m in res["milestones"]:
            print(
                f"  {m['endpoint']:<4} {m['years']} y {m['arm']:<13} {m['estimate']:.1%} "
                f"({m['lower']:.1%} to {m['upper']:.1%})"
            )
        for ep, h in res["hazard_ratio"].items():
            print(f"  HR {ep:<4} {h['estimate']:.2f} ({h['lower']:.2f} to {h['upper']:.2f})")
        for arm, m in res["mrd_negative_after_cycle1"].items():
            print(f"  MRD < 1e-4 after cycle 1, {arm:<13} {m['estimate']:.1%}")
        for arm, v in res["hsct"].items():
            print(f"  transplanted, {arm:<13} {v:.1%}")
        if a.out is not None:
            a.out.mkdir(parents=True, exist_ok=True)
            (a.out / f"relapse_{name}.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
