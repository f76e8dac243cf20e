"""Per-patient draws and adverse events as of commit 1dd0d87 (before the issue-15 speed-up).

Kept verbatim (names prefixed ``old_``) so ``benchmarks/draws.py`` can time the old code
against the current one on the same recorded calls and check that both give the same
numbers. Not a benchmark itself (``run_all.py`` skips modules starting with ``_``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from blinasim import rng
from blinasim.model.toxicity import EVENTS, AdverseEvents, PhaseSpan, ToxicityParams

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --- blinasim/rng.py ---------------------------------------------------------------------


def old_seed_sequence(seed: int, name: str, *keys: int) -> np.random.SeedSequence:
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if not rng.declared(name):
        raise ValueError(f"undeclared random stream {name!r}: declare it in blinasim.rng.STREAMS")
    if any(k < 0 for k in keys):
        raise ValueError(f"stream keys must be non-negative, got {keys}")
    return np.random.SeedSequence(entropy=seed, spawn_key=(rng.name_key(name), *keys))


def old_generator(seed: int, name: str, *keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(old_seed_sequence(seed, name, *keys)))


def old_per_patient(
    seed: int,
    name: str,
    start: int,
    n: int,
    draw: Callable[[np.random.Generator, int], NDArray[np.float64]],
    *keys: int,
) -> NDArray[np.float64]:
    if n < 0 or start < 0:
        raise ValueError(f"start and n must be non-negative, got start={start}, n={n}")
    first, last = start // rng.PATIENT_BLOCK, (start + n - 1) // rng.PATIENT_BLOCK
    if n == 0:
        probe = draw(old_generator(seed, name, *keys, 0), 1)
        return np.empty((0, *probe.shape[1:]), dtype=probe.dtype)
    parts = []
    for block in range(first, last + 1):
        values = draw(old_generator(seed, name, *keys, block), rng.PATIENT_BLOCK)
        lo = max(start, block * rng.PATIENT_BLOCK) - block * rng.PATIENT_BLOCK
        hi = min(start + n, (block + 1) * rng.PATIENT_BLOCK) - block * rng.PATIENT_BLOCK
        parts.append(values[lo:hi])
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def old_rng_uniforms(
    seed: int, name: str, start: int, n: int, *keys: int, k: int = 1
) -> NDArray[np.float64]:
    if k == 1:
        return old_per_patient(seed, name, start, n, lambda g, s: g.random(s), *keys)
    return old_per_patient(seed, name, start, n, lambda g, s: g.random((s, k)), *keys)


def old_rng_normals(
    seed: int, name: str, start: int, n: int, *keys: int, k: int = 1
) -> NDArray[np.float64]:
    if k == 1:
        return old_per_patient(seed, name, start, n, lambda g, s: g.standard_normal(s), *keys)
    return old_per_patient(seed, name, start, n, lambda g, s: g.standard_normal((s, k)), *keys)


# --- blinasim/model/_draws.py ------------------------------------------------------------


def _by_block(seed: int, name: str, ids: IntArray, k: int, normal: bool) -> FloatArray:
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and ids.min() < 0:
        raise ValueError("patient ids must be non-negative integers")
    draw = old_rng_normals if normal else old_rng_uniforms
    if ids.size and ids[-1] - ids[0] == ids.size - 1 and np.all(np.diff(ids) == 1):
        vals = draw(seed, name, int(ids[0]), ids.size, k=k)
        return np.asarray(vals, dtype=np.float64).reshape(ids.size, k)
    out = np.empty((ids.size, k), dtype=np.float64)
    block_of = ids // rng.PATIENT_BLOCK
    for b in np.unique(block_of):
        sel = np.flatnonzero(block_of == b)
        base = int(b) * rng.PATIENT_BLOCK
        vals = draw(seed, name, base, rng.PATIENT_BLOCK, k=k).reshape(rng.PATIENT_BLOCK, k)
        out[sel] = vals[ids[sel] - base]
    return out


class OldChunkDraws:
    def __init__(self, seed: int, ids: IntArray) -> None:
        self.seed = seed
        self.ids = np.asarray(ids, dtype=np.int64)
        self._order = np.argsort(self.ids, kind="stable")
        n = self.ids.size
        self._contiguous = bool(n == 0 or np.all(np.diff(self.ids) == 1))
        self._memo: dict[tuple[str, int], FloatArray] = {}

    def rows(self, ids: IntArray) -> NDArray[np.intp]:
        ids = np.asarray(ids, dtype=np.int64)
        if self._contiguous:
            rows = ids - (self.ids[0] if self.ids.size else 0)
            if ids.size and (rows.min() < 0 or rows.max() >= self.ids.size):
                raise ValueError("ids outside the chunk")
            return np.asarray(rows, dtype=np.intp)
        pos = np.searchsorted(self.ids, ids, sorter=self._order)
        rows = self._order[np.minimum(pos, self.ids.size - 1)]
        if ids.size and not np.array_equal(self.ids[rows], ids):
            raise ValueError("ids outside the chunk")
        return np.asarray(rows, dtype=np.intp)

    def uniforms(self, name: str, ids: IntArray, k: int = 1) -> FloatArray:
        key = (name, k)
        if key not in self._memo:
            self._memo[key] = _old_uniforms(self.seed, name, self.ids, k)
        return self._memo[key][self.rows(ids)]


def old_uniforms(
    seed: int, name: str, ids: IntArray, k: int = 1, cache: OldChunkDraws | None = None
) -> FloatArray:
    if cache is not None:
        if cache.seed != seed:
            raise ValueError("cache seed differs from seed")
        return cache.uniforms(name, ids, k)
    return _old_uniforms(seed, name, ids, k)


def _old_uniforms(seed: int, name: str, ids: IntArray, k: int) -> FloatArray:
    u = _by_block(seed, name, ids, k, normal=False)
    np.maximum(u, 1e-16, out=u)
    np.minimum(u, 1.0 - 1e-16, out=u)
    return u[:, 0] if k == 1 else u


def old_normals(seed: int, name: str, ids: IntArray, k: int = 1) -> FloatArray:
    z = _by_block(seed, name, ids, k, normal=True)
    return z[:, 0] if k == 1 else z


# --- blinasim/model/toxicity.py ----------------------------------------------------------


def _event_probability(
    event: str, phase: PhaseSpan, tp: ToxicityParams, hazard_ratio: FloatArray | float = 1.0
) -> FloatArray:
    hr = np.asarray(hazard_ratio, dtype=np.float64)
    if event in ("cytokine_release_syndrome", "neurotoxicity"):
        p = tp.cycle_probability(event) if phase.kind == "blinatumomab" else 0.0
        return np.broadcast_to(np.asarray(p, dtype=np.float64), hr.shape).copy()
    h = tp.hazard(event, phase.kind) * hr
    return np.asarray(-np.expm1(-h * (phase.end - phase.start)), dtype=np.float64)


def _stratum_hazard_ratio(
    event: str, stratum_high: NDArray[np.bool_], tp: ToxicityParams
) -> FloatArray:
    hr = {
        "febrile_neutropenia": tp.fn_sr_high_hazard_ratio,
        "sepsis": tp.sepsis_sr_high_hazard_ratio,
    }.get(event, 1.0)
    return np.where(np.asarray(stratum_high, dtype=bool), hr, 1.0)


def old_adverse_events(
    ids: IntArray,
    phases: Sequence[PhaseSpan],
    stop_day: FloatArray,
    stratum_high: NDArray[np.bool_],
    *,
    seed: int,
    tp: ToxicityParams,
    cache: OldChunkDraws | None = None,
) -> AdverseEvents:
    pidx: list[IntArray] = []
    names: list[NDArray[np.object_]] = []
    evs: list[NDArray[np.object_]] = []
    grades: list[IntArray] = []
    days: list[FloatArray] = []
    stop = np.asarray(stop_day, dtype=np.float64)
    for ph in phases:
        for ev in EVENTS:
            p = _event_probability(ev, ph, tp, _stratum_hazard_ratio(ev, stratum_high, tp))
            if not np.any(p > 0.0):
                continue
            u = old_uniforms(seed, f"toxicity.{ev}.{ph.name}", ids, k=2, cache=cache)
            hit = u[:, 0] < p
            day = ph.start + (ph.end - ph.start) * np.where(hit, u[:, 0] / np.maximum(p, 1e-300), 0)
            hit &= day < stop
            idx = np.flatnonzero(hit)
            if idx.size == 0:
                continue
            pidx.append(idx.astype(np.int64))
            names.append(np.full(idx.size, ph.name, dtype=object))
            evs.append(np.full(idx.size, ev, dtype=object))
            grades.append(np.where(u[idx, 1] < tp.grade4_fraction(ev), 4, 3).astype(np.int64))
            days.append(day[idx])
    if not pidx:
        return AdverseEvents(
            patient_index=np.empty(0, dtype=np.int64),
            phase=np.empty(0, dtype=object),
            event=np.empty(0, dtype=object),
            grade=np.empty(0, dtype=np.int64),
            day=np.empty(0),
        )
    return AdverseEvents(
        patient_index=np.concatenate(pidx),
        phase=np.concatenate(names),
        event=np.concatenate(evs),
        grade=np.concatenate(grades),
        day=np.concatenate(days),
    )


def old_death_in_remission_day(
    ids: IntArray,
    phases: Sequence[PhaseSpan],
    *,
    seed: int,
    tp: ToxicityParams,
    cache: OldChunkDraws | None = None,
) -> FloatArray:
    target = -np.log(old_uniforms(seed, "competing.death_in_remission", ids, cache=cache))
    out = np.full(target.size, np.inf)
    cum = 0.0
    for ph in sorted(phases, key=lambda x: x.start):
        h = tp.trm_hazard(ph.kind)
        if h <= 0.0:
            continue
        nxt = cum + h * (ph.end - ph.start)
        inside = np.isinf(out) & (target < nxt)
        out[inside] = ph.start + (target[inside] - cum) / h
        cum = nxt
    return out
