"""Named random streams from one root seed.

Every random decision point in blinasim draws from its own stream, identified by a
*name* (e.g. ``"cohort.age"``) and integer *keys* (patient block, replicate, ...). The
stream's seed is ``SeedSequence(root_seed, spawn_key=(hash(name), *keys))`` with a stable
hash, so streams never collide, never depend on the order in which they are created, and
never on the global numpy state.

Per-patient draws are made in fixed blocks of :data:`PATIENT_BLOCK` patients: patient *i*
gets the same numbers whatever the cohort size, chunk size or number of workers, which
gives reproducibility across workers and common random numbers across arms.

Every stream is declared once in :data:`STREAMS` with what it decides; reading an
undeclared name is an error, and a test checks that each stream is read from one module
only (two modules reading one stream would correlate decisions that must be independent).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

PATIENT_BLOCK = 4096
"""Patients per random block; changing it changes every simulated number."""


STREAMS: dict[str, str] = {
    # the virtual cohort (cohort/sample.py)
    "cohort.age": "age at diagnosis",
    "cohort.sex": "sex",
    "cohort.wbc": "white-cell count at diagnosis",
    "cohort.genetics": "genetic subtype",
    "cohort.cns": "CNS status",
    "cohort.testicular": "testicular disease",
    "cohort.down_syndrome": "Down syndrome",
    "cohort.height_weight": "height and weight percentiles (body surface area)",
    # the patient model (model/)
    "leukemia.burden": "leukemic burden at diagnosis",
    "leukemia.growth": "net growth rate of the leukemia",
    "leukemia.sensitivity": "chemotherapy sensitivity of the bulk clone",
    "leukemia.resistance": "chemotherapy resistance factor of the resistant clone",
    "leukemia.resistant_fraction": "size of the chemo-resistant subclone",
    "leukemia.cd19neg_fraction": "size of the CD19-negative subclone",
    "leukemia.cns_seed": "CNS seeding",
    "leukemia.resistant_growth": "growth of the resistant clone",
    "leukemia.cns_kill": "kill of CNS disease by CNS-directed therapy",
    "leukemia.extinction": "chance extinction of each clone",
    "leukemia.dormancy": "when the survivors of each clone leave dormancy after therapy",
    "blinatumomab.tcell_fitness": "T-cell fitness (blinatumomab effect)",
    "pk.eta_cl": "between-patient variability of blinatumomab clearance",
    "mrd.assay": "MRD assay sampling (day 8, end of induction, end of consolidation)",
    "toxicity.*": "each adverse event in each phase: toxicity.<event>.<phase>",
    "competing.death_in_remission": "death in remission",
    "competing.second_malignancy": "second malignant neoplasm",
    "after_relapse.death_after_smn": "death after a second malignancy",
    "after_relapse.mrd": "MRD after reinduction block 1 of a first relapse",
    "after_relapse.salvage": "reinduction, consolidation, HSCT, second relapse (first relapse)",
    "after_relapse.third_line": "CAR-T and third-line salvage (refractory or second relapse)",
    "after_relapse.lifetime": "late death on the life table with survivors' excess mortality",
    "after_relapse.trial_cohort": "virtual relapsed cohorts of the relapse trials (per trial)",
    "after_relapse.clone": "which first-line relapsing clone a child without one carries (donor)",
    "after_relapse.late_effects.*": "whether and when each late effect starts: <prefix>.<effect>",
    # health economics (economics/)
    "economics.psa": "costs and utilities of each PSA iteration (per iteration)",
    # the trial engine (trial/)
    "trial.accrual": "enrollment times",
    "trial.randomization": "permuted blocks of the stratified randomization",
    "trial.patient": "per-patient trial draws (loss to follow-up, parametric outcomes)",
    "trial.model": "root seed of the model simulation of one trial's children",
    "trial.bank": "which banked child each enrollee is",
    "trial.bank.model": "root seed of the bank of simulated children",
    # calibration (calibrate/)
    "calibrate.init": "initial positions of the emcee walkers",
    "calibrate.ensemble": "emcee's moves",
    "calibrate.importance.*": "importance-sampling proposal draws and resampling, per round",
    "calibrate.virtual.*": "virtual children of the calibration's summary statistics",
    "calibrate.posterior_draws": "which posterior draws are shipped",
    "calibrate.predictive": "posterior-predictive simulation in the calibration report",
    # health economics (jobs/cea_sim.py)
    "cea.model": "root seed of the model simulation of one PSA iteration's children",
    "cea.base": "root seed of the base-case simulation of the CEA (tornado, costs over time)",
    # examples, toy simulators and tests
    "example.*": "streams of examples and toy simulators (never of the model)",
    "test.*": "streams of the test suite (never of the model)",
}
"""Every random stream, declared once: name (or ``prefix.*`` family) -> what it decides."""


@functools.lru_cache(maxsize=4096)
def declared(name: str) -> bool:
    """True if ``name`` is a stream of :data:`STREAMS` (itself or in a ``prefix.*`` family).

    Cached (``STREAMS`` is constant): every draw checks its stream's name.
    """
    if name in STREAMS:
        return True
    return any(k.endswith(".*") and name.startswith(k[:-1]) for k in STREAMS)


def name_key(name: str) -> int:
    """Stable 63-bit integer key of a stream name (BLAKE2b, independent of PYTHONHASHSEED)."""
    if not name:
        raise ValueError("stream name must be a non-empty string")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


@functools.lru_cache(maxsize=4096)
def _stream_key(name: str) -> int:
    """:func:`name_key` of a declared stream (cached: every block of every draw needs it)."""
    if not declared(name):
        raise ValueError(f"undeclared random stream {name!r}: declare it in blinasim.rng.STREAMS")
    return name_key(name)


def seed_sequence(seed: int, name: str, *keys: int) -> np.random.SeedSequence:
    """The seed sequence of stream ``name`` with integer ``keys`` under root ``seed``."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    key = _stream_key(name)
    if keys and min(keys) < 0:
        raise ValueError(f"stream keys must be non-negative, got {keys}")
    return np.random.SeedSequence(entropy=seed, spawn_key=(key, *keys))


def generator(seed: int, name: str, *keys: int) -> np.random.Generator:
    """A fresh PCG64 generator for stream ``name`` with ``keys`` under root ``seed``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, name, *keys)))


def per_patient(
    seed: int,
    name: str,
    start: int,
    n: int,
    draw: Callable[[np.random.Generator, int], NDArray[np.float64]],
    *keys: int,
) -> NDArray[np.float64]:
    """Draws for patients ``start .. start+n-1`` that do not depend on ``start`` or ``n``.

    ``draw(rng, size)`` must return an array whose first axis has length ``size`` and must
    consume the generator the same way whatever the values (e.g. ``rng.random``,
    ``rng.standard_normal``). Transform uniforms by inverse CDFs afterwards, not inside
    ``draw``, so that patient *i*'s numbers never depend on patient *j*'s.
    """
    if n < 0 or start < 0:
        raise ValueError(f"start and n must be non-negative, got start={start}, n={n}")
    first, last = start // PATIENT_BLOCK, (start + n - 1) // PATIENT_BLOCK
    if n == 0:
        probe = draw(generator(seed, name, *keys, 0), 1)
        return np.empty((0, *probe.shape[1:]), dtype=probe.dtype)
    parts = []
    for block in range(first, last + 1):
        values = draw(generator(seed, name, *keys, block), PATIENT_BLOCK)
        lo = max(start, block * PATIENT_BLOCK) - block * PATIENT_BLOCK
        hi = min(start + n, (block + 1) * PATIENT_BLOCK) - block * PATIENT_BLOCK
        parts.append(values[lo:hi])
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def _fill(
    seed: int, name: str, start: int, n: int, keys: tuple[int, ...], k: int, normal: bool
) -> NDArray[np.float64]:
    """:func:`per_patient` of ``random`` (or ``standard_normal``) for shape ``(n,)`` or ``(n, k)``.

    The same numbers, generated straight into the output: each block's generator fills
    the rows it contributes, and a block read from its first patient on draws only up to
    the last patient asked for (both fills are sequential, so the first ``m`` rows of a
    block do not depend on how many rows are drawn after them).
    """
    if n < 0 or start < 0:
        raise ValueError(f"start and n must be non-negative, got start={start}, n={n}")
    tail = () if k == 1 else (k,)
    out = np.empty((n, *tail), dtype=np.float64)
    if n == 0:
        generator(seed, name, *keys, 0)  # the same checks of seed, name and keys
        return out
    for block in range(start // PATIENT_BLOCK, (start + n - 1) // PATIENT_BLOCK + 1):
        g = generator(seed, name, *keys, block)
        fill = g.standard_normal if normal else g.random
        base = block * PATIENT_BLOCK
        lo = max(start, base)
        hi = min(start + n, base + PATIENT_BLOCK)
        if lo == base:
            fill(out=out[lo - start : hi - start])
        else:
            out[lo - start : hi - start] = fill((hi - base, *tail))[lo - base :]
    return out


def uniforms(
    seed: int, name: str, start: int, n: int, *keys: int, k: int = 1
) -> NDArray[np.float64]:
    """Uniform(0, 1) draws, shape ``(n,)`` (``k == 1``) or ``(n, k)``, per patient.

    The numbers of :func:`per_patient` with ``rng.random``.
    """
    return _fill(seed, name, start, n, keys, k, normal=False)


def normals(
    seed: int, name: str, start: int, n: int, *keys: int, k: int = 1
) -> NDArray[np.float64]:
    """Standard normal draws, shape ``(n,)`` (``k == 1``) or ``(n, k)``, per patient.

    The numbers of :func:`per_patient` with ``rng.standard_normal``.
    """
    return _fill(seed, name, start, n, keys, k, normal=True)
