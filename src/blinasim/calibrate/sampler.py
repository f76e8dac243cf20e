"""Affine-invariant ensemble MCMC (emcee) over the free parameters, with checkpoints.

With an ``importance`` section in the config this is stage 1: it only has to locate the
posterior, and :mod:`blinasim.calibrate.importance` reweights a proposal fitted to its
walkers to the exact posterior. Without it, the walkers after burn-in are the posterior.

Why emcee: it is maintained, small (pure Python on numpy), needs no gradients (the
simulator has none), is insensitive to the scale and correlation of the parameters, and
evaluates half an ensemble at a time, which is exactly a parallel map. The synthetic
likelihood (:mod:`blinasim.calibrate.likelihood`) at a fixed simulation seed is a smooth
deterministic function of the parameters (common random numbers), so plain MCMC applies.
pyabc (SMC-ABC) was the alternative; it pulls in a database stack and a scheduler of its
own, and ABC discards the published standard errors that a likelihood uses directly.

Reproducibility: every evaluation depends only on the parameters; the walkers' start and
emcee's own random state come from the config's seed. The ensemble is saved after every
``checkpoint_every`` steps (atomic write of an ``.npz`` archive, never a pickle: see
:mod:`blinasim.calibrate.checkpoints`) together with emcee's random state as plain arrays,
so a run killed at any point and restarted continues exactly as if it had never stopped,
and the result is the same for any number of workers or a Dask cluster.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import emcee
import numpy as np
from numpy.typing import NDArray

from blinasim import rng
from blinasim.calibrate.checkpoints import (
    STAGE1,
    CheckpointError,
    Warn,
    input_hashes,
    read_checkpoint,
    resume_from,
    write_checkpoint,
)
from blinasim.calibrate.config import CalibrationConfig
from blinasim.calibrate.pools import (
    DaskPool,
    ProcessPool,
    SerialPool,
    make_pool,
)
from blinasim.calibrate.simulator import LogPosterior
from blinasim.errors import InputError

FloatArray = NDArray[np.float64]
CHECKPOINT = "checkpoint_stage1.npz"
LEGACY_CHECKPOINT = "checkpoint.pkl"
"""The pickled checkpoint of earlier versions: never read (unpickling can run code)."""


@dataclass
class Chain:
    """The sampled ensemble: ``chain[s, w]`` is walker ``w`` after step ``s`` (step 0 = start)."""

    keys: tuple[str, ...]
    target_ids: tuple[str, ...]
    chain: FloatArray
    log_prob: FloatArray
    blobs: FloatArray
    """``(steps + 1, walkers, 2 * n_targets)``: simulated value then MC SE per target."""
    n_evals: int
    elapsed_s: float
    digest: str
    complete: bool = False
    random_state: Any = field(default=None, repr=False)

    @property
    def steps(self) -> int:
        """Completed steps (not counting the start)."""
        return int(self.chain.shape[0] - 1)


def _random_state_arrays(state: Any) -> tuple[str, dict[str, NDArray[Any]]]:
    """Emcee's ``RandomState.get_state()`` tuple as plain arrays (exact)."""
    name, key, pos, has_gauss, cached = state
    return str(name), {
        "rs_key": np.asarray(key, dtype=np.uint32),
        "rs_pos_gauss": np.array([int(pos), int(has_gauss)], dtype=np.int64),
        "rs_cached_gaussian": np.array([float(cached)], dtype=np.float64),
    }


def _save(path: Path, ch: Chain, identity: dict[str, Any]) -> None:
    rs_name, rs = _random_state_arrays(ch.random_state)
    meta = {
        "keys": list(ch.keys),
        "target_ids": list(ch.target_ids),
        "n_evals": ch.n_evals,
        "elapsed_s": ch.elapsed_s,
        "digest": ch.digest,
        "complete": ch.complete,
        "random_state": rs_name,
    }
    arrays = {"chain": ch.chain, "log_prob": ch.log_prob, "blobs": ch.blobs, **rs}
    write_checkpoint(path, STAGE1, identity, meta, arrays)


def read_chain(path: str | Path) -> tuple[Chain, dict[str, Any]]:
    """A stage-1 checkpoint and its identity; :class:`CheckpointError` if unusable."""
    ck = read_checkpoint(path, STAGE1)
    m, a = ck.meta, ck.arrays
    try:
        pos, has_gauss = (int(x) for x in a["rs_pos_gauss"])
        state = (
            str(m["random_state"]),
            a["rs_key"].astype(np.uint32),
            pos,
            has_gauss,
            float(a["rs_cached_gaussian"][0]),
        )
        chain = Chain(
            keys=tuple(str(k) for k in m["keys"]),
            target_ids=tuple(str(t) for t in m["target_ids"]),
            chain=a["chain"].astype(np.float64),
            log_prob=a["log_prob"].astype(np.float64),
            blobs=a["blobs"].astype(np.float64),
            n_evals=int(m["n_evals"]),
            elapsed_s=float(m["elapsed_s"]),
            digest=str(m["digest"]),
            complete=bool(m["complete"]),
            random_state=state,
        )
        np.random.RandomState().set_state(state)  # a state emcee can use
        ok = chain.chain.ndim == 3 and chain.chain.shape[:2] == chain.log_prob.shape
    except (KeyError, TypeError, ValueError, IndexError):
        ok = False
    if not ok:
        raise CheckpointError("not a complete stage-1 checkpoint")
    return chain, ck.identity


def load_chain(path: str | Path) -> Chain:
    """Read a checkpoint written by :func:`run_sampler` (never unpickles)."""
    return read_chain(path)[0]


def stage1_identity(config: CalibrationConfig, post: LogPosterior) -> dict[str, Any]:
    """What a stage-1 checkpoint belongs to: config digest (with priors) and inputs."""
    priors = json.dumps([fp.prior.model_dump() for fp in post.free], sort_keys=True)
    digest = hashlib.sha256((config.chain_digest() + priors).encode()).hexdigest()
    return {"digest": digest, "inputs": input_hashes(config.targets_file)}


def initial_positions(post: LogPosterior, config: CalibrationConfig) -> FloatArray:
    """Walkers in a small ball around the parameter file's values (in prior-CDF units)."""
    w = config.sampler.walkers
    g = rng.generator(config.seed, "calibrate.init")
    z = g.standard_normal((w, len(post.free)))
    pos = np.empty((w, len(post.free)))
    for j, fp in enumerate(post.free):
        u0 = min(max(fp.cdf(fp.default), 0.02), 0.98)
        u = np.clip(u0 + config.sampler.init_spread * 0.34 * z[:, j], 1e-3, 1 - 1e-3)
        pos[:, j] = [fp.ppf(float(x)) for x in u]
    return pos


def emcee_moves(name: str) -> Any:
    """The emcee moves: the default stretch move, or differential evolution (``"de"``)."""
    if name == "de":
        return [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    return emcee.moves.StretchMove()


def _evaluate(pool: Any, post: LogPosterior, pos: FloatArray) -> tuple[FloatArray, FloatArray]:
    res = pool.map(post, [pos[i] for i in range(pos.shape[0])])
    lp = np.array([r[0] for r in res], dtype=np.float64)
    blobs = np.stack([r[1] for r in res]).astype(np.float64)
    return lp, blobs


def run_sampler(
    config: CalibrationConfig,
    out_dir: str | Path,
    *,
    workers: int | None = 1,
    scheduler: Any = None,
    posterior: LogPosterior | None = None,
    on_step: Callable[[int, int, Chain], None] | None = None,
    resume: bool = True,
    pool: SerialPool | ProcessPool | DaskPool | None = None,
    warn: Warn | None = None,
) -> Chain:
    """Run (or resume) the ensemble sampler; checkpoints in ``out_dir/checkpoint_stage1.npz``.

    ``on_step(done, total, chain)`` is called after the start and after every step
    (``chain`` is the last checkpointed state). A ``pool`` given by the caller is used (and
    left open) instead of one made from ``workers`` / ``scheduler``. A truncated, corrupt
    or foreign-format checkpoint is reported in one line through ``warn`` (default: the
    ``blinasim.calibrate`` logger) and the stage starts again; one of another config or
    model inputs is an :class:`InputError`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ck = out / CHECKPOINT
    post = posterior if posterior is not None else LogPosterior(config)
    identity = stage1_identity(config, post)
    digest = str(identity["digest"])
    total = config.sampler.steps
    every = config.sampler.checkpoint_every
    keys = tuple(fp.key for fp in post.free)
    ids = tuple(t.id for t in post.targets)
    ch: Chain | None = None
    if resume:
        ch = resume_from(
            ck,
            read_chain,
            identity,
            warn,
            legacy=out / LEGACY_CHECKPOINT,
            expected="a checkpoint made with the same config and model inputs (this one: "
            "{why}; use --fresh to start over)",
            field="config",
        )
    own = pool is None
    pool = make_pool(workers, scheduler) if pool is None else pool
    t0 = time.perf_counter()
    try:
        if ch is None:
            pos = initial_positions(post, config)
            lp, blobs = _evaluate(pool, post, pos)
            if not np.all(np.isfinite(lp)):
                bad = int(np.flatnonzero(~np.isfinite(lp))[0])
                raise InputError(
                    "starting walkers with a finite posterior",
                    field="sampler.init_spread",
                    got=dict(zip(keys, pos[bad].tolist(), strict=True)),
                )
            ch = Chain(
                keys=keys,
                target_ids=ids,
                chain=pos[None],
                log_prob=lp[None],
                blobs=blobs[None],
                n_evals=pos.shape[0],
                elapsed_s=time.perf_counter() - t0,
                digest=digest,
                random_state=np.random.RandomState(config.seed % 2**32).get_state(),
            )
            _save(ck, ch, identity)
        if on_step is not None:
            on_step(ch.steps, total, ch)
        remaining = total - ch.steps
        if remaining > 0:
            base_elapsed = ch.elapsed_s
            t1 = time.perf_counter()
            sampler = emcee.EnsembleSampler(
                config.sampler.walkers,
                len(keys),
                post,
                moves=emcee_moves(config.sampler.moves),
                pool=pool,
                blobs_dtype=[("b", np.float64, (post.n_blob,))],
            )
            state = emcee.State(
                ch.chain[-1].copy(),
                log_prob=ch.log_prob[-1].copy(),
                blobs=_blob_records(ch.blobs[-1]),
                random_state=ch.random_state,
            )
            pending: list[tuple[FloatArray, FloatArray, FloatArray]] = []
            for st in sampler.sample(
                state, iterations=remaining, store=False, skip_initial_state_check=True
            ):
                blobs = np.asarray(st.blobs["b"], dtype=np.float64)
                pending.append((st.coords.copy(), st.log_prob.copy(), blobs))
                done = ch.steps + len(pending)
                if len(pending) >= every or done == total:
                    ch = Chain(
                        keys=keys,
                        target_ids=ids,
                        chain=np.concatenate([ch.chain, np.stack([p[0] for p in pending])]),
                        log_prob=np.concatenate([ch.log_prob, np.stack([p[1] for p in pending])]),
                        blobs=np.concatenate([ch.blobs, np.stack([p[2] for p in pending])]),
                        n_evals=ch.n_evals + len(pending) * config.sampler.walkers,
                        elapsed_s=base_elapsed + time.perf_counter() - t1,
                        digest=digest,
                        complete=done == total,
                        random_state=st.random_state,
                    )
                    pending = []
                    _save(ck, ch, identity)
                if on_step is not None:
                    on_step(done, total, ch)
        elif not ch.complete:
            ch.complete = True
            _save(ck, ch, identity)
    finally:
        if own:
            pool.close()
    return ch


def _blob_records(blobs: FloatArray) -> NDArray[Any]:
    rec = np.empty(blobs.shape[0], dtype=[("b", np.float64, (blobs.shape[1],))])
    rec["b"] = blobs
    return rec


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of a chain (after burn-in)."""

    acceptance_fraction: float
    autocorr_steps: tuple[float, ...]
    """Integrated autocorrelation time per parameter, in steps (NaN if not estimable)."""
    effective_samples: float
    chain_too_short: bool
    n_evals: int
    elapsed_s: float
    rhat: tuple[float, ...]
    """Split-R-hat over walkers (Gelman-Rubin on the post-burn-in halves of each walker)."""


def diagnostics(ch: Chain, burn_in: int) -> Diagnostics:
    """Acceptance, autocorrelation time (emcee), effective sample size and split-R-hat."""
    post = ch.chain[burn_in + 1 :]
    moved = np.any(ch.chain[1:] != ch.chain[:-1], axis=2)
    acc = float(moved[burn_in:].mean()) if moved[burn_in:].size else math.nan
    s = post.shape[0]
    taus: list[float] = []
    short = False
    log = logging.getLogger("emcee")
    level = log.level
    log.setLevel(logging.ERROR)  # emcee logs a warning for short chains: we report it instead
    try:
        for j in range(post.shape[2]):
            try:
                # a walker that never moved gives 0/0 inside emcee: tau is then NaN
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = post[:, :, j : j + 1]
                    tau = float(emcee.autocorr.integrated_time(x, quiet=True)[0])
            except (ValueError, FloatingPointError, emcee.autocorr.AutocorrError):
                tau = math.nan
            taus.append(tau)
    finally:
        log.setLevel(level)
    if any(not math.isfinite(t) or s < 50 * t for t in taus):
        short = True
    finite = [t for t in taus if math.isfinite(t) and t > 0]
    ess = float(s * post.shape[1] / max(finite)) if finite else math.nan
    return Diagnostics(
        acceptance_fraction=acc,
        autocorr_steps=tuple(taus),
        effective_samples=ess,
        chain_too_short=short,
        n_evals=ch.n_evals,
        elapsed_s=ch.elapsed_s,
        rhat=tuple(_split_rhat(post[:, :, j]) for j in range(post.shape[2])),
    )


def _split_rhat(x: FloatArray) -> float:
    """Split-R-hat of ``x`` with shape (steps, walkers)."""
    s = x.shape[0] // 2
    if s < 2:
        return math.nan
    parts = np.concatenate([x[:s], x[s : 2 * s]], axis=1)  # (s, 2W)
    w = float(parts.var(axis=0, ddof=1).mean())
    b = float(s * parts.mean(axis=0).var(ddof=1))
    if w <= 0:
        return math.nan
    var = (s - 1) / s * w + b / s
    return math.sqrt(var / w)


def select_ensemble(ch: Chain, burn_in: int, size: int, seed: int) -> NDArray[np.int64]:
    """Flat indices (step-major over the post-burn-in chain) of ``size`` posterior draws."""
    post_n = (ch.chain.shape[0] - burn_in - 1) * ch.chain.shape[1]
    if post_n < 1:
        raise InputError("a chain longer than its burn-in", field="sampler.burn_in", got=burn_in)
    g = rng.generator(seed, "calibrate.ensemble")
    replace = size > post_n
    idx = g.choice(post_n, size=size, replace=replace)
    return np.sort(np.asarray(idx, dtype=np.int64))


def posterior_arrays(ch: Chain, burn_in: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Post-burn-in (draws, log_prob, blobs), flattened step-major."""
    sl = slice(burn_in + 1, None)
    d = ch.chain.shape[2]
    return (
        ch.chain[sl].reshape(-1, d),
        ch.log_prob[sl].reshape(-1),
        ch.blobs[sl].reshape(-1, ch.blobs.shape[2]),
    )


def evaluate_many(
    post: LogPosterior,
    thetas: Sequence[FloatArray],
    *,
    workers: int | None = 1,
    scheduler: Any = None,
) -> list[tuple[float, FloatArray]]:
    """Evaluate the log posterior at many points (e.g. to check Monte Carlo noise)."""
    pool = make_pool(workers, scheduler)
    try:
        return list(pool.map(post, list(thetas)))
    finally:
        pool.close()


__all__ = [
    "CHECKPOINT",
    "Chain",
    "DaskPool",
    "Diagnostics",
    "ProcessPool",
    "SerialPool",
    "diagnostics",
    "evaluate_many",
    "initial_positions",
    "load_chain",
    "make_pool",
    "posterior_arrays",
    "read_chain",
    "run_sampler",
    "select_ensemble",
    "stage1_identity",
]
