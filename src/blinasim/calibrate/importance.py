"""Stage 2 of the calibration: importance sampling that corrects the emcee stage.

Stage 1 (:mod:`blinasim.calibrate.sampler`, emcee) only has to find the region of high
posterior mass. Stage 2 draws from a proposal fitted to it and reweights every draw to the
exact posterior, so what stage 1 got wrong (walkers that have not mixed, a skewed spread)
is corrected up to the importance weights, and the Pareto-k diagnostic says when it is not.

*Space.* Everything happens in the normal-score space of the prior,
``z_j = Phi^-1(F_j(theta_j))`` with ``F_j`` the prior CDF of parameter ``j``: there the
prior is N(0, I) and the parameter bounds disappear. The posterior density in z-space is
``L(theta(z)) * phi(z)``, so the log weight of a draw ``z ~ q`` is
``log L(theta(z)) + log phi(z) - log q(z)`` (the prior density of theta and the Jacobian of
``theta(z)`` cancel exactly).

*Proposal.* A defensive mixture (Hesterberg 1995, Technometrics 37:185):
``(1 - a) t_df(mean, scale^2 * cov) + a N(0, I)``, with ``mean`` and ``cov`` those of the
post-burn-in stage-1 positions in z-space. The Student-t's heavy tails and the inflated
scale cover a stage 1 that was too narrow or off-centre; the prior component bounds the
weights (``w <= L(theta) / a``), so no region of the prior is ever missed entirely.
Draw ``i`` comes from named random streams per draw index, so the first ``n`` draws are
the same whatever the total (a run can be extended).

*Pareto smoothing.* PSIS (Vehtari, Simpson, Gelman, Yao & Gabry, JMLR 25(72), 2024): the
largest ``M = ceil(min(S/5, 3 sqrt(S)))`` weights are replaced by the expected order
statistics of a generalized Pareto fitted to them (Zhang & Stephens 2009, Technometrics
51:316, with PSIS's weakly informative prior on k), and truncated at the largest raw weight.
The fitted shape ``k-hat`` is the diagnostic: below ``min(1 - 1/log10(S), 0.7)`` (0.697 for
S = 2000 draws; the paper's sample-size-dependent threshold) the self-normalized estimates
are reliable, above it they are not (more draws will not fix it fast enough: the proposal must
change). Written here by hand: arviz has it but brings a plotting and xarray stack for one
function, and there is no small maintained library; the code follows the paper's
algorithm and is tested for k-hat recovery on known Pareto samples.

*Ensemble.* ``ensemble_size`` draws by systematic resampling of the smoothed weights
(named stream); their simulated targets (blobs) were computed with the weights, so the
posterior predictive needs no re-simulation.

*Checkpoints.* The draws are evaluated in batches through the same pools as stage 1
(serial, local processes, Dask); after every batch the run is written atomically as an
``.npz`` archive (never a pickle: :mod:`blinasim.calibrate.checkpoints`), keyed by a digest
of everything that determines it (stage-1 config and the stage-1 positions used, the
proposal settings and the seed) and the model inputs' hashes. A run killed at any point
restarts where it stopped and gives bit-identical weights.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from blinasim.calibrate.checkpoints import (
    STAGE2,
    CheckpointError,
    Warn,
    input_hashes,
    read_checkpoint,
    resume_from,
    write_checkpoint,
)
from blinasim.calibrate.config import CalibrationConfig
from blinasim.calibrate.likelihood import log_prior
from blinasim.calibrate.proposal import (
    Proposal,
    fit_proposal,
    from_prior_component,
    from_z,
    log_std_normal,
    mixture_logpdf,
    proposal_draws,
    proposal_logpdf,
    refit_proposal,
    round_bounds,
    to_z,
)
from blinasim.calibrate.psis import (
    MAX_PARETO_K,
    GPDFit,
    PSISResult,
    gpd_fit,
    gpd_quantile,
    pareto_k_threshold,
    psis,
    systematic_resample,
)
from blinasim.calibrate.sampler import (
    Chain,
    DaskPool,
    ProcessPool,
    SerialPool,
    make_pool,
)
from blinasim.calibrate.simulator import LogPosterior
from blinasim.errors import InputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
CHECKPOINT_IS = "checkpoint_stage2.npz"
LEGACY_CHECKPOINT_IS = "checkpoint_importance.pkl"
"""The pickled stage-2 checkpoint of earlier versions: never read."""
# --- the stage-2 run ----------------------------------------------------------------------


@dataclass
class ImportanceRun:
    """Evaluated proposal draws (a checkpoint): row ``i`` is draw ``i`` of the proposal."""

    keys: tuple[str, ...]
    target_ids: tuple[str, ...]
    proposal: Proposal
    z: FloatArray
    theta: FloatArray
    log_post: FloatArray
    """Log posterior over theta (log prior + log likelihood), as the stage-1 sampler has it."""
    log_prior: FloatArray
    log_q: FloatArray
    blobs: FloatArray
    """``(draws, 2 * n_targets)``: simulated value then MC SE per target."""
    n_evals: int
    elapsed_s: float
    digest: str
    seed: int
    complete: bool = False
    proposals: tuple[Proposal, ...] = ()
    """One per adaptive round started (empty: the single ``proposal``)."""
    bounds: tuple[int, ...] = ()
    """Where each round's draws start, then the planned total (empty: one round)."""

    @property
    def draws(self) -> int:
        """Evaluated draws."""
        return int(self.z.shape[0])

    def round_counts(self) -> list[int]:
        """Evaluated draws per adaptive round."""
        if len(self.proposals) <= 1:
            return [self.draws]
        b = [*self.bounds[: len(self.proposals)], self.draws]
        return [max(0, min(b[k + 1], self.draws) - b[k]) for k in range(len(self.proposals))]

    @property
    def log_weights(self) -> FloatArray:
        """Raw log weights ``log L(theta(z)) + log phi(z) - log q(z)`` (``-inf`` if failed).

        ``q`` is the proposal, or with adaptive rounds the deterministic mixture of the
        rounds' proposals weighted by their numbers of draws (balance heuristic).
        """
        log_q = self.log_q
        if len(self.proposals) > 1 and self.draws:
            log_q = mixture_logpdf(self.proposals, self.round_counts(), self.z)
        with np.errstate(invalid="ignore"):
            lw = self.log_post - self.log_prior + log_std_normal(self.z) - log_q
        return np.where(np.isfinite(lw), lw, -np.inf)

    def head(self, n: int) -> ImportanceRun:
        """The first ``n`` draws."""
        return ImportanceRun(
            keys=self.keys,
            target_ids=self.target_ids,
            proposal=self.proposal,
            z=self.z[:n],
            theta=self.theta[:n],
            log_post=self.log_post[:n],
            log_prior=self.log_prior[:n],
            log_q=self.log_q[:n],
            blobs=self.blobs[:n],
            n_evals=min(self.n_evals, n),
            elapsed_s=self.elapsed_s,
            digest=self.digest,
            seed=self.seed,
            complete=self.complete or self.draws >= n,
            proposals=tuple(
                p for k, p in enumerate(self.proposals) if k == 0 or self.bounds[k] < n
            ),
            bounds=self.bounds,
        )


_RUN_ARRAYS = ("z", "theta", "log_post", "log_prior", "log_q", "blobs")


def _save(path: Path, run: ImportanceRun, identity: dict[str, Any]) -> None:
    props = (run.proposal, *run.proposals)
    meta = {
        "keys": list(run.keys),
        "target_ids": list(run.target_ids),
        "n_evals": run.n_evals,
        "elapsed_s": run.elapsed_s,
        "digest": run.digest,
        "seed": run.seed,
        "complete": run.complete,
        "rounds_started": len(run.proposals),
        "bounds": list(run.bounds),
        "proposal_df": [p.df for p in props],
        "proposal_defensive": [p.defensive for p in props],
    }
    arrays: dict[str, NDArray[Any]] = {k: getattr(run, k) for k in _RUN_ARRAYS}
    arrays["proposal_mean"] = np.stack([p.mean for p in props])
    arrays["proposal_chol"] = np.stack([p.chol for p in props])
    write_checkpoint(path, STAGE2, identity, meta, arrays)


def read_importance(path: str | Path) -> tuple[ImportanceRun, dict[str, Any]]:
    """A stage-2 checkpoint and its identity; :class:`CheckpointError` if unusable."""
    ck = read_checkpoint(path, STAGE2)
    m, a = ck.meta, ck.arrays
    try:
        props = tuple(
            Proposal(
                mean=a["proposal_mean"][k].astype(np.float64),
                chol=a["proposal_chol"][k].astype(np.float64),
                df=float(m["proposal_df"][k]),
                defensive=float(m["proposal_defensive"][k]),
            )
            for k in range(len(m["proposal_df"]))
        )
        run = ImportanceRun(
            keys=tuple(str(k) for k in m["keys"]),
            target_ids=tuple(str(t) for t in m["target_ids"]),
            proposal=props[0],
            **{k: a[k].astype(np.float64) for k in _RUN_ARRAYS},
            n_evals=int(m["n_evals"]),
            elapsed_s=float(m["elapsed_s"]),
            digest=str(m["digest"]),
            seed=int(m["seed"]),
            complete=bool(m["complete"]),
            proposals=props[1:],
            bounds=tuple(int(b) for b in m["bounds"]),
        )
        ok = len(run.proposals) == int(m["rounds_started"]) and all(
            getattr(run, k).shape[0] == run.draws for k in _RUN_ARRAYS
        )
    except (KeyError, TypeError, ValueError, IndexError):
        ok = False
    if not ok:
        raise CheckpointError("not a complete stage-2 checkpoint")
    return run, ck.identity


def load_importance(path: str | Path) -> ImportanceRun:
    """Read a stage-2 checkpoint written by :func:`run_importance` (never unpickles)."""
    return read_importance(path)[0]


def stage1_positions(chain: Chain, burn_in: int) -> FloatArray:
    """Post-burn-in stage-1 positions, flattened step-major: (n, d) in theta."""
    post = chain.chain[burn_in + 1 :]
    return np.asarray(post.reshape(-1, chain.chain.shape[2]), dtype=np.float64)


def importance_digest(config: CalibrationConfig, chain: Chain, z1: FloatArray) -> str:
    """SHA-256 of what determines the stage-2 draws and their values.

    The stage-1 chain's own digest (config and priors), the stage-1 positions used, and the
    proposal settings; not the number of draws or the batch size (draw ``i`` does not depend
    on them), so a run can be extended.
    """
    spec = config.importance
    if spec is None:
        raise InputError("an 'importance' section", field="importance", got=None)
    doc = {
        "stage1": chain.digest,
        "positions": hashlib.sha256(np.ascontiguousarray(z1).tobytes()).hexdigest(),
        "proposal": spec.model_dump(mode="json", exclude={"draws", "batch", "rounds"}),
        "seed": config.seed,
    }
    if spec.rounds > 1:  # the rounds' boundaries depend on the number of draws
        doc["rounds"] = [spec.rounds, spec.draws]
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def run_importance(
    config: CalibrationConfig,
    chain: Chain,
    out_dir: str | Path,
    *,
    workers: int | None = 1,
    scheduler: Any = None,
    posterior: LogPosterior | None = None,
    on_batch: Callable[[int, int, ImportanceRun], None] | None = None,
    resume: bool = True,
    pool: SerialPool | ProcessPool | DaskPool | None = None,
    warn: Warn | None = None,
) -> ImportanceRun:
    """Run (or resume) stage 2; checkpoints in ``out_dir/checkpoint_stage2.npz``.

    ``on_batch(done, total, run)`` is called at the start and after every batch (``run``
    is the last checkpointed state). A ``pool`` given by the caller is used (and left open)
    instead of one made from ``workers`` / ``scheduler``. An unusable checkpoint (truncated,
    corrupt, a stage-1 file) is reported in one line through ``warn`` and stage 2 starts
    again; one of another config, stage 1 or model inputs is an :class:`InputError`.
    """
    spec = config.importance
    if spec is None:
        raise InputError("an 'importance' section", field="importance", got=None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ck = out / CHECKPOINT_IS
    post = posterior if posterior is not None else LogPosterior(config)
    z1 = to_z(post.free, stage1_positions(chain, config.sampler.burn_in))
    digest = importance_digest(config, chain, z1)
    identity = {"digest": digest, "inputs": input_hashes(config.targets_file)}
    keys = tuple(fp.key for fp in post.free)
    ids = tuple(t.id for t in post.targets)
    total = spec.draws
    run: ImportanceRun | None = None
    if resume:
        run = resume_from(
            ck,
            read_importance,
            identity,
            warn,
            legacy=out / LEGACY_CHECKPOINT_IS,
            expected="a stage-2 checkpoint of the same config and stage 1 (this one: {why}; "
            "use --fresh-stage2 to redo stage 2, or --fresh)",
            field="importance",
        )
    bounds = tuple(round_bounds(total, spec.rounds)) if spec.rounds > 1 else ()
    if run is None:
        prop = fit_proposal(z1, spec)
        run = ImportanceRun(
            keys=keys,
            target_ids=ids,
            proposal=prop,
            z=np.empty((0, len(keys))),
            theta=np.empty((0, len(keys))),
            log_post=np.empty(0),
            log_prior=np.empty(0),
            log_q=np.empty(0),
            blobs=np.empty((0, post.n_blob)),
            n_evals=0,
            elapsed_s=0.0,
            digest=digest,
            seed=config.seed,
            proposals=(prop,) if bounds else (),
            bounds=bounds,
        )
    if on_batch is not None:
        on_batch(min(run.draws, total), total, run)
    if run.draws >= total:
        return run.head(total)
    starts = bounds[:-1] if bounds else (0,)
    ends = bounds[1:] if bounds else (total,)
    own = pool is None
    pool = make_pool(workers, scheduler) if pool is None else pool
    t1 = time.perf_counter()
    base = run.elapsed_s
    try:
        while run.draws < total:
            k = max(r for r, b in enumerate(starts) if b <= run.draws)
            if bounds and len(run.proposals) <= k:
                # adapt: the next round's proposal from the weighted draws so far
                nxt = refit_proposal(run.z, run.log_weights, run.proposals[-1], spec)
                run = dataclasses.replace(run, proposals=(*run.proposals, nxt))
            prop = run.proposals[k] if bounds else run.proposal
            lo, hi = run.draws, min(run.draws + spec.batch, ends[k])
            z = proposal_draws(prop, config.seed, hi - starts[k], round_index=k)[lo - starts[k] :]
            theta = from_z(post.free, z)
            res = pool.map(post, [theta[i] for i in range(theta.shape[0])])
            lp = np.array([r[0] for r in res], dtype=np.float64)
            blobs = np.stack([r[1] for r in res]).astype(np.float64)
            lpr = np.array([log_prior(post.free, th) for th in theta], dtype=np.float64)
            run = ImportanceRun(
                keys=keys,
                target_ids=ids,
                proposal=run.proposal,
                z=np.concatenate([run.z, z]),
                theta=np.concatenate([run.theta, theta]),
                log_post=np.concatenate([run.log_post, lp]),
                log_prior=np.concatenate([run.log_prior, lpr]),
                log_q=np.concatenate([run.log_q, proposal_logpdf(prop, z)]),
                blobs=np.concatenate([run.blobs, blobs]),
                n_evals=run.n_evals + (hi - lo),
                elapsed_s=base + time.perf_counter() - t1,
                digest=digest,
                seed=run.seed,
                complete=hi == total,
                proposals=run.proposals,
                bounds=bounds,
            )
            _save(ck, run, identity)
            if on_batch is not None:
                on_batch(run.draws, total, run)
    finally:
        if own:
            pool.close()
    return run


# --- diagnostics and the ensemble ---------------------------------------------------------


@dataclass(frozen=True)
class ImportanceDiagnostics:
    """Stage-2 diagnostics and the convergence verdict."""

    draws: int
    failed_draws: int
    """Draws with no finite log posterior (zero weight)."""
    from_prior: int
    """Draws from the defensive prior component."""
    pareto_k: float
    ess: float
    ess_raw: float
    max_weight: float
    """Largest normalized smoothed weight."""
    n_evals: int
    elapsed_s: float
    ess_required: int
    converged: bool
    """``pareto_k < khat_threshold`` and ``ess >= ess_required``."""
    khat_threshold: float
    """``min(1 - 1/log10(draws), 0.7)`` (:func:`pareto_k_threshold`)."""

    def problems(self) -> list[str]:
        """Why the criteria are not met (empty when converged)."""
        out = []
        if not self.pareto_k < self.khat_threshold:
            out.append(
                f"PSIS Pareto k-hat {self.pareto_k:.2f} >= {self.khat_threshold:.3f}: the "
                "importance weights are unreliable (stage 1 or the proposal missed posterior mass)"
            )
        if not self.ess >= self.ess_required:
            out.append(
                f"importance-sampling ESS {self.ess:.0f} < {self.ess_required} (ensemble "
                "size): the ensemble repeats few distinct draws; increase importance.draws"
            )
        return out


def _from_prior_count(run: ImportanceRun) -> int:
    if len(run.proposals) <= 1:
        return int(from_prior_component(run.proposal, run.seed, run.draws).sum())
    return sum(
        int(from_prior_component(p, run.seed, c, round_index=k).sum())
        for k, (p, c) in enumerate(zip(run.proposals, run.round_counts(), strict=True))
    )


def importance_diagnostics(run: ImportanceRun, ess_required: int) -> ImportanceDiagnostics:
    """PSIS k-hat, Kish ESS and the convergence verdict of a stage-2 run."""
    res = psis(run.log_weights)
    finite = np.isfinite(run.log_weights)
    return ImportanceDiagnostics(
        draws=run.draws,
        failed_draws=int((~finite).sum()),
        from_prior=_from_prior_count(run),
        pareto_k=res.pareto_k,
        ess=res.ess,
        ess_raw=res.ess_raw,
        max_weight=float(res.weights.max()) if run.draws else math.nan,
        n_evals=run.n_evals,
        elapsed_s=run.elapsed_s,
        ess_required=ess_required,
        khat_threshold=pareto_k_threshold(run.draws),
        converged=bool(res.pareto_k < pareto_k_threshold(run.draws) and res.ess >= ess_required),
    )


def weighted_summary(run: ImportanceRun, weights: FloatArray) -> list[dict[str, float | str]]:
    """Weighted posterior mean and SD per parameter (from all draws, not the ensemble)."""
    rows: list[dict[str, float | str]] = []
    for j, k in enumerate(run.keys):
        x = run.theta[:, j]
        m = float(np.sum(weights * x))
        sd = float(math.sqrt(max(float(np.sum(weights * (x - m) ** 2)), 0.0)))
        rows.append({"parameter": k, "weighted_mean": m, "weighted_sd": sd})
    return rows


__all__ = [
    "CHECKPOINT_IS",
    "MAX_PARETO_K",
    "GPDFit",
    "ImportanceDiagnostics",
    "ImportanceRun",
    "PSISResult",
    "Proposal",
    "fit_proposal",
    "from_prior_component",
    "from_z",
    "gpd_fit",
    "gpd_quantile",
    "importance_diagnostics",
    "importance_digest",
    "load_importance",
    "log_std_normal",
    "pareto_k_threshold",
    "proposal_draws",
    "proposal_logpdf",
    "psis",
    "read_importance",
    "run_importance",
    "stage1_positions",
    "systematic_resample",
    "to_z",
    "weighted_summary",
]
