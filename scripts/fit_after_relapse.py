"""Fit the after-relapse salvage parameters to relapse-cohort survival (issue 14).

    nice -n 10 .venv/bin/python scripts/fit_after_relapse.py [--walkers 16] [--steps 150]
        [--children 3000] [--seed 2024] [--write]

``emcee`` (affine-invariant ensemble MCMC) on the log posterior of
:func:`blinasim.model.after_relapse.fit.log_posterior`: four free parameters
(``fit.FREE``), uniform priors (log-uniform for the sensitivity factor), normal likelihood of
the fitted targets of ``data/targets/relapse_cohorts.yaml`` (``fit.FITTED``), each evaluated on
a fixed virtual relapsed cohort of ``--children`` per target through the historical pathway.
The second half of the chain is kept. Writes
``src/blinasim/data/calibration/after_relapse_fit.json`` (posterior medians, 5-95% intervals,
acceptance, the targets' fit at the medians, held-out comparisons) and, with ``--write``, sets
the four values in ``parameters.yaml`` to the
medians. Never uses AALL1331 or 20120215 outcomes. A research model, not medical advice.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import emcee
import numpy as np

from blinasim.model.after_relapse import AfterRelapseParams, fit

OUT = Path("src/blinasim/data/calibration/after_relapse_fit.json")
PARAMS = Path("src/blinasim/data/parameters.yaml")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--walkers", type=int, default=16)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--children", type=int, default=3000)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--write", action="store_true")
    a = p.parse_args()
    ap = AfterRelapseParams.load()
    groups = fit.cohorts(a.children, a.seed)
    g = np.random.default_rng(a.seed)
    start = np.column_stack(
        [
            np.exp(g.uniform(np.log(1.5), np.log(8.0), a.walkers)),
            g.uniform(0.1, 1.5, a.walkers),
            g.uniform(1.0, 5.0, a.walkers),
            g.uniform(1.0, 5.0, a.walkers),
        ]
    )
    sampler = emcee.EnsembleSampler(a.walkers, len(fit.FREE), fit.log_posterior, args=(ap, groups))
    state = emcee.State(start, random_state=np.random.RandomState(a.seed).get_state())
    sampler.run_mcmc(state, a.steps)
    chain = sampler.get_chain(discard=a.steps // 2, flat=True)
    med = np.median(chain, axis=0)
    lo, hi = np.quantile(chain, [0.05, 0.95], axis=0)
    sim = fit.simulate(fit.with_values(ap, med), groups, a.seed)
    tg = fit.targets()
    result = {
        "method": (
            f"emcee {emcee.__version__}, {a.walkers} walkers x {a.steps} steps, second half "
            f"kept; {a.children} virtual children per target, seed {a.seed}; historical pathway"
        ),
        "command": "scripts/fit_after_relapse.py "
        f"--walkers {a.walkers} --steps {a.steps} --children {a.children} --seed {a.seed}",
        "acceptance": float(np.mean(sampler.acceptance_fraction)),
        "parameters": {
            k: {"median": float(m), "q05": float(x), "q95": float(y)}
            for k, m, x, y in zip(fit.FREE, med, lo, hi, strict=True)
        },
        "targets": {
            tid: {
                "role": "fitted" if tid in fit.FITTED else "held_out",
                "published": float(tg[tid]["estimate"]),
                "se": float(tg[tid]["se"]),
                "model": sim[tid],
            }
            for tid in sim
        },
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    if a.write:
        text = PARAMS.read_text(encoding="utf-8")
        for k, m in zip(fit.FREE, med, strict=True):
            pat = re.compile(rf"(\n  {k}:\n    value: )([^\n]+)")
            text, n = pat.subn(rf"\g<1>{float(m):.4g}", text)
            if n != 1:
                raise SystemExit(f"{k}: not found once in {PARAMS}")
        PARAMS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
