"""Global sensitivity analysis of the key outputs to the parameters the calibration fixes.

Issue 13, Calibration v3: every parameter that says ``calibrated`` is in the posterior or
fixed with a sensitivity analysis showing that it does not move the key outputs
(:mod:`~blinasim.calibrate.sensitivity_outputs`). The *factors* are the parameters of the
parameter file that have a ``prior`` and are not free parameters of the calibration config
(``include`` adds named free parameters, ``all_priors`` every parameter with a prior); the
free parameters are held at their posterior mean (a posterior given) or at the parameter
file's values. Nothing here names a parameter: the factor set follows the files.

*Sampling.* SALib (Herman & Usher, JOSS 2017; Iwanaga et al., SESMO 2022) draws the design
in the unit hypercube: Morris trajectories (``morris``, default; Morris 1991, Campolongo et
al. 2007: mu*, sigma and a bootstrap CI of mu*) or Saltelli/Sobol' samples (``sobol``:
first-order and total indices with bootstrap CIs). A unit coordinate ``u`` is mapped to
``u' = EPS + (1 - 2 EPS) u`` and then through the factor's prior inverse CDF
(:meth:`~blinasim.calibrate.likelihood.FreeParameter.ppf`, the calibration's own priors), so
the design spans the central 99% of every prior (normal and log-normal priors have no
finite ends). mu* is therefore in output units per that whole range: the (linearized)
change of the output when the factor moves across its prior.

*Simulation.* Every design point runs the calibration's simulator (config
``simulation.simulator``, which must have an ``outcomes(values)`` method) on the same cohort
with the same seed (common random numbers), so an evaluation depends only on its values and
the numbers do not depend on the pool (:mod:`~blinasim.calibrate.pools`). The base point
(factors at the parameter file's values) runs first, then at ``noise_seeds`` other seeds
(other cohorts): the spread across seeds is reported next to each output's Monte Carlo SE.

*Rule* (:func:`classify`). For output ``j`` let ``s_j = sqrt(SE_pub,j^2 + sigma_j^2)``, the
SD the calibration's likelihood compares it with (published SE, and the Monte Carlo SE at
the base point; an output without a published SE has ``s_j = sigma_j``), and
``tau_j = REL_THRESHOLD * s_j``. A factor *does not matter* for ``j`` when the upper end of
the 95% CI of its effect (Morris: ``mu* + CI``; Sobol: ``sqrt(12 * (ST + CI) * Var Y)``, the
full-range effect of a linear factor with that total index) is below ``tau_j``; it
*matters* when the lower end is at or above ``tau_j``; otherwise it is *unclear*. Monte Carlo
noise can only inflate mu* (a mean of absolute values), so "does not matter" is
conservative. A factor whose every elementary effect is exactly zero for every output is
*not read* by the simulator (e.g. cohort parameters, which the simulator samples once).
Overall, a factor matters if it matters for any output and does not matter if it does not
for all.

*Resume.* The design and the evaluations are checkpointed after every batch (an ``.npz``
of :mod:`~blinasim.calibrate.checkpoints`, keyed by the settings and the model inputs); a
run killed at any point gives the same numbers when run again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.calibrate import checkpoints
from blinasim.calibrate.checkpoints import (
    CheckpointError,
    input_hashes,
    read_checkpoint,
    resume_from,
    write_checkpoint,
)
from blinasim.calibrate.config import CalibrationConfig
from blinasim.calibrate.ensemble import load_posterior
from blinasim.calibrate.likelihood import FreeParameter, free_parameters
from blinasim.calibrate.pools import make_pool
from blinasim.calibrate.sensitivity_indices import (
    METHODS,
    MORRIS_LEVELS,
    REL_THRESHOLD,
    analyze,
    design,
    overall,
)
from blinasim.calibrate.sensitivity_outputs import OutputInfo, as_row, describe_outputs, key_outputs
from blinasim.calibrate.simulator import build_simulator
from blinasim.calibrate.summaries import SummaryValue
from blinasim.calibrate.targets import load_targets
from blinasim.config import ParameterSet
from blinasim.errors import InputError

FloatArray = NDArray[np.float64]

KIND = "sensitivity"
checkpoints.KIND_LABEL.setdefault(KIND, "sensitivity-analysis")  # for its one-line errors
CHECKPOINT = "checkpoint_sensitivity.npz"
EPS = 0.005
"""Each prior is spanned from its EPS to its 1 - EPS quantile (central 99%)."""
DEFAULT_TRAJECTORIES = {"morris": 10, "sobol": 64}


@dataclass(frozen=True)
class Settings:
    """What a sensitivity run does (all of it enters the checkpoint key)."""

    method: str = "morris"
    trajectories: int | None = None
    """Morris: trajectories r (default 10); Sobol: base samples N, a power of 2 (64)."""
    n_patients: int | None = None
    """Children per evaluation (default: the config's ``simulation.n_patients``)."""
    seed: int = 1
    """Seed of the design and of the bootstrap (the simulation keeps the config's seed)."""
    noise_seeds: int = 3
    include: tuple[str, ...] = ()
    all_priors: bool = False
    posterior: str | None = None
    """Posterior CSV or folder whose means fix the free parameters (None: the file's values;
    ``"shipped"``: the shipped posterior)."""
    batch: int = 24

    def r(self) -> int:
        """Trajectories (Morris) or base samples (Sobol)."""
        return (
            self.trajectories
            if self.trajectories is not None
            else DEFAULT_TRAJECTORIES[self.method]
        )


def check_settings(s: Settings) -> None:
    """One-line :class:`InputError` for a bad option."""
    if s.method not in METHODS:
        raise InputError("morris or sobol", field="--method", got=s.method)
    r = s.r()
    if s.method == "morris" and r < 2:
        raise InputError("at least 2 trajectories", field="--trajectories", got=r)
    if s.method == "sobol" and (r < 2 or r & (r - 1)):
        raise InputError("a power of 2 (>= 2) for Sobol", field="--trajectories", got=r)
    if s.n_patients is not None and s.n_patients < 10:
        raise InputError("at least 10 children per evaluation", field="--n", got=s.n_patients)
    if s.seed < 0:
        raise InputError("a seed >= 0", field="--seed", got=s.seed)
    if s.noise_seeds < 0:
        raise InputError("0 or more noise seeds", field="--noise-seeds", got=s.noise_seeds)
    if s.batch < 1:
        raise InputError("a batch >= 1", field="batch", got=s.batch)


def select_factors(
    ps: ParameterSet, cfg: CalibrationConfig, include: Sequence[str] = (), all_priors: bool = False
) -> tuple[FreeParameter, ...]:
    """The factors: parameters with a prior that are not free (plus ``include``, or all)."""
    for key in include:
        if key not in ps:
            raise InputError("a parameter of the parameter file", field="--include", got=key)
        if ps[key].prior is None:
            raise InputError("a parameter with a prior", field="--include", got=key)
    free = set(cfg.free_parameters) - set(include)
    keys = [
        k
        for k, p in ps.params.items()
        if p.prior is not None
        and not isinstance(p.value, bool)
        and isinstance(p.value, int | float)
        and (all_priors or k not in free)
    ]
    if not keys:
        raise InputError(
            "at least one parameter with a prior that is not a free parameter "
            "(or --include / --all)",
            field="free_parameters",
        )
    return free_parameters(ps, keys)


def fixed_values(
    ps: ParameterSet,
    cfg: CalibrationConfig,
    factors: Sequence[FreeParameter],
    posterior: str | None,
) -> dict[str, float]:
    """Values of the free parameters that are not factors: posterior means or the file's."""
    keys = [k for k in cfg.free_parameters if k not in {f.key for f in factors}]
    if posterior is None:
        return {k: float(ps.value(k)) for k in keys}
    ens = load_posterior(None if posterior == "shipped" else posterior)
    missing = [k for k in keys if k not in ens.keys]
    if missing:
        raise InputError(
            "a posterior of the config's free parameters", file=ens.origin, field=missing[0]
        )
    means = ens.draws.loc[:, list(keys)].mean()
    return {k: float(means[k]) for k in keys}


def to_values(factors: Sequence[FreeParameter], unit: FloatArray) -> dict[str, float]:
    """Parameter values of one design row: prior inverse CDF of ``EPS + (1 - 2 EPS) u``."""
    return {
        f.key: f.ppf(EPS + (1.0 - 2.0 * EPS) * float(u)) for f, u in zip(factors, unit, strict=True)
    }


Item = tuple[int, dict[str, float], bool]
"""(simulation seed, parameter values, describe the outputs too)."""


class OutputEvaluator:
    """``(seed, values, describe) -> (key outputs, output descriptions or None)``.

    Picklable; builds the config's simulator once per seed in each worker.
    """

    def __init__(self, config: CalibrationConfig) -> None:
        self.config = config
        self._sims: dict[int, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "_sims": {}}

    def simulator(self, seed: int) -> Any:
        """The config's simulator at ``seed`` (the config's own seed: the design's runs)."""
        if seed not in self._sims:
            self._sims[seed] = build_simulator(self.config.model_copy(update={"seed": seed}))
        return self._sims[seed]

    def __call__(self, item: Item) -> tuple[dict[str, SummaryValue], tuple[OutputInfo, ...] | None]:
        """Simulate ``values`` at ``seed``; the key outputs (and their descriptions)."""
        seed, values, describe = item
        out = self.simulator(seed).outcomes(values)
        arms = self.config.simulation.blinatumomab_arms
        vals = key_outputs(out, arms)
        info = None
        if describe:
            info = describe_outputs(out, arms, load_targets(self.config.targets_file), list(vals))
        return vals, info


@dataclass
class Progress:
    """What is saved so far (for the line printed on an interruption)."""

    path: Path
    done: int = 0
    total: int = 0

    def line(self) -> str:
        """One line: what is saved where, and how to resume."""
        if self.done == 0:
            return "nothing saved yet; run the same command again"
        return (
            f"sensitivity analysis at evaluation {self.done} of {self.total} saved in "
            f"{self.path}; run the same command again to resume"
        )


@dataclass
class State:
    """The design, what has been evaluated, and the outputs' descriptions."""

    x: FloatArray
    outputs: list[OutputInfo] = field(default_factory=list)
    vals: list[list[float]] = field(default_factory=list)
    ses: list[list[float]] = field(default_factory=list)
    elapsed_s: float = 0.0


def _identity(
    cfg: CalibrationConfig,
    s: Settings,
    factors: Sequence[FreeParameter],
    fixed: Mapping[str, float],
) -> dict[str, Any]:
    doc = {
        "config": cfg.chain_digest(),
        "settings": {**asdict(s), "batch": None, "include": sorted(s.include)},
        "factors": [f.key for f in factors],
        "fixed": {k: repr(v) for k, v in sorted(fixed.items())},
        "eps": EPS,
        "levels": MORRIS_LEVELS,
    }
    text = json.dumps(doc, sort_keys=True, default=str)
    return {
        "digest": hashlib.sha256(text.encode()).hexdigest(),
        "inputs": input_hashes(cfg.targets_file),
    }


def _save(path: Path, st: State, ident: Mapping[str, Any]) -> None:
    n_out = len(st.outputs)
    write_checkpoint(
        path,
        KIND,
        ident,
        {"outputs": [o.__dict__ for o in st.outputs], "elapsed_s": st.elapsed_s},
        {
            "x": st.x,
            "vals": np.asarray(st.vals, dtype=np.float64).reshape(-1, n_out),
            "ses": np.asarray(st.ses, dtype=np.float64).reshape(-1, n_out),
        },
    )


def _read(path: Path) -> tuple[State, dict[str, Any]]:
    ck = read_checkpoint(path, KIND)
    try:
        outputs = [OutputInfo(**o) for o in ck.meta["outputs"]]
        st = State(
            x=ck.arrays["x"],
            outputs=outputs,
            vals=ck.arrays["vals"].tolist(),
            ses=ck.arrays["ses"].tolist(),
            elapsed_s=float(ck.meta["elapsed_s"]),
        )
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"not a sensitivity checkpoint ({exc})") from None
    return st, ck.identity


@dataclass(frozen=True)
class SensitivityResult:
    """Everything a sensitivity run produced (written by :mod:`blinasim.reports.sensitivity`)."""

    settings: Settings
    config_name: str
    n_patients: int
    factors: tuple[FreeParameter, ...]
    provenance: dict[str, str]
    fixed: dict[str, float]
    outputs: pd.DataFrame
    """Per output: id, label, base value, mc_se, seed_sd, published SE and target, s, tau."""
    indices: pd.DataFrame
    """Per factor x output: the method's indices, effect, its CI, tau, verdict."""
    factor_verdicts: pd.DataFrame
    """Per factor: overall verdict, the output with the largest effect / tau."""
    evaluations: pd.DataFrame
    """Every evaluation: kind, seed, unit coordinates, values, outputs and their SEs."""
    elapsed_s: float


def run_sensitivity(
    cfg: CalibrationConfig,
    out_dir: Path,
    s: Settings,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    fresh: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> SensitivityResult:
    """Run or resume a sensitivity analysis of ``cfg``'s model; checkpoints in ``out_dir``."""
    check_settings(s)
    if s.n_patients is not None:
        sim = cfg.simulation.model_copy(update={"n_patients": s.n_patients})
        cfg = cfg.model_copy(update={"simulation": sim})
    evaluator = OutputEvaluator(cfg)
    if not callable(getattr(evaluator.simulator(cfg.seed), "outcomes", None)):
        raise InputError(
            "a simulator with an outcomes(values) method (the key outputs are computed from "
            "the simulated patients)",
            field="simulation.simulator",
            got=cfg.simulation.simulator,
        )
    ps = ParameterSet.load()
    factors = select_factors(ps, cfg, s.include, s.all_priors)
    fixed = fixed_values(ps, cfg, factors, s.posterior)
    base = {**fixed, **{f.key: f.default for f in factors}}
    x = design(s.method, s.r(), len(factors), s.seed)
    items: list[Item] = [(cfg.seed, base, True)]
    items += [(cfg.seed + 1 + i, base, False) for i in range(s.noise_seeds)]
    items += [(cfg.seed, {**fixed, **to_values(factors, row)}, False) for row in x]
    ident = _identity(cfg, s, factors, fixed)
    path = out_dir / CHECKPOINT
    if fresh:
        path.unlink(missing_ok=True)
    st = resume_from(
        path,
        _read,
        ident,
        warn,
        legacy=out_dir / ".no-legacy-sensitivity-checkpoint",
        expected="a checkpoint of this sensitivity analysis ({why}); use --fresh to start over",
        field="checkpoint",
    )
    if st is None or not np.array_equal(st.x, x):
        st = State(x=x)
    progress = progress or Progress(path)
    progress.path, progress.total, progress.done = path, len(items), len(st.vals)
    pool = make_pool(workers, scheduler)
    try:
        while len(st.vals) < len(items):
            t0 = time.perf_counter()
            lo = len(st.vals)
            batch = items[lo : lo + s.batch]
            res = pool.map(evaluator, batch)
            if not st.outputs:
                info = res[0][1]
                assert info is not None
                st.outputs = list(info)
            ids = [o.id for o in st.outputs]
            for vals, _ in res:
                v, e = as_row(vals, ids)
                st.vals.append(v)
                st.ses.append(e)
            st.elapsed_s += time.perf_counter() - t0
            _save(path, st, ident)
            progress.done = len(st.vals)
            if on_batch is not None:
                on_batch(len(st.vals), len(items))
    except BaseException:
        pool.abort()
        raise
    pool.close()
    return _result(cfg, s, ps, factors, fixed, st, items)


def _result(
    cfg: CalibrationConfig,
    s: Settings,
    ps: ParameterSet,
    factors: Sequence[FreeParameter],
    fixed: dict[str, float],
    st: State,
    items: Sequence[Item],
) -> SensitivityResult:
    vals = np.asarray(st.vals, dtype=np.float64)
    ses = np.asarray(st.ses, dtype=np.float64)
    n0 = 1 + s.noise_seeds
    ids = [o.id for o in st.outputs]
    base_v, base_se = vals[0], ses[0]
    seed_sd = vals[:n0].std(axis=0, ddof=1) if n0 > 1 else np.full(len(ids), np.nan)
    pub = np.array([o.published_se if o.published_se is not None else 0.0 for o in st.outputs])
    sig = np.where(np.isfinite(base_se), base_se, 0.0)
    scale = np.sqrt(pub**2 + sig**2)
    tau = np.where(scale > 0, REL_THRESHOLD * scale, np.nan)
    outputs = pd.DataFrame(
        {
            "output": ids,
            "label": [o.label for o in st.outputs],
            "base_value": base_v,
            "mc_se": base_se,
            "seed_sd": seed_sd,
            "published_se": [o.published_se for o in st.outputs],
            "published_target": [o.published_target for o in st.outputs],
            "scale": scale,
            "tau": tau,
        }
    )
    names = [f.key for f in factors]
    indices = analyze(s.method, names, st.x, vals[n0:], tau, s.seed)
    indices["output"] = [ids[j] for j in indices["output"]]
    noise = outputs.set_index("output")
    indices["mc_se"] = noise.loc[indices["output"], "mc_se"].to_numpy()
    indices["seed_sd"] = noise.loc[indices["output"], "seed_sd"].to_numpy()
    k = len(factors)
    cols: dict[str, Any] = {
        "evaluation": np.arange(len(items)),
        "kind": ["base"] + ["noise"] * s.noise_seeds + ["design"] * st.x.shape[0],
        "seed": [it[0] for it in items],
    }
    unit = np.vstack([np.full((n0, k), np.nan), st.x])
    for i, f in enumerate(factors):
        cols[f"u:{f.key}"] = unit[:, i]
        cols[f.key] = [it[1][f.key] for it in items]
    for key in fixed:
        cols[key] = [it[1][key] for it in items]
    for j, oid in enumerate(ids):
        cols[oid] = vals[:, j]
        cols[f"{oid}:mc_se"] = ses[:, j]
    ev = pd.DataFrame(cols)
    return SensitivityResult(
        settings=s,
        config_name=f"{cfg.name} v{cfg.version}",
        n_patients=cfg.simulation.n_patients,
        factors=tuple(factors),
        provenance={f.key: str(ps[f.key].provenance) for f in factors},
        fixed=fixed,
        outputs=outputs,
        indices=indices,
        factor_verdicts=overall(indices, names),
        evaluations=ev,
        elapsed_s=st.elapsed_s,
    )


__all__ = [
    "CHECKPOINT",
    "EPS",
    "OutputEvaluator",
    "Progress",
    "SensitivityResult",
    "Settings",
    "check_settings",
    "fixed_values",
    "run_sensitivity",
    "select_factors",
    "to_values",
]
