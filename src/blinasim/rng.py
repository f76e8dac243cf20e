"""Named random streams from one root seed.

Every random decision point in blinasim draws from its own stream, identified by a
*name* (e.g. ``"cohort.age"``) and integer *keys* (patient block, replicate, ...). The
stream's seed is ``SeedSequence(root_seed, spawn_key=(hash(name), *keys))`` with a stable
hash, so streams never collide, never depend on the order in which they are created, and
never on the global numpy state.

Per-patient draws are made in fixed blocks of :data:`PATIENT_BLOCK` patients: patient *i*
gets the same numbers whatever the cohort size, chunk size or number of workers, which
gives reproducibility across workers and common random numbers across arms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

PATIENT_BLOCK = 4096
"""Patients per random block; changing it changes every simulated number."""


def name_key(name: str) -> int:
    """Stable 63-bit integer key of a stream name (BLAKE2b, independent of PYTHONHASHSEED)."""
    if not name:
        raise ValueError("stream name must be a non-empty string")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def seed_sequence(seed: int, name: str, *keys: int) -> np.random.SeedSequence:
    """The seed sequence of stream ``name`` with integer ``keys`` under root ``seed``."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if any(k < 0 for k in keys):
        raise ValueError(f"stream keys must be non-negative, got {keys}")
    return np.random.SeedSequence(entropy=seed, spawn_key=(name_key(name), *keys))


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


def uniforms(
    seed: int, name: str, start: int, n: int, *keys: int, k: int = 1
) -> NDArray[np.float64]:
    """Uniform(0, 1) draws, shape ``(n,)`` (``k == 1``) or ``(n, k)``, per patient."""
    if k == 1:
        return per_patient(seed, name, start, n, lambda g, s: g.random(s), *keys)
    return per_patient(seed, name, start, n, lambda g, s: g.random((s, k)), *keys)


def normals(
    seed: int, name: str, start: int, n: int, *keys: int, k: int = 1
) -> NDArray[np.float64]:
    """Standard normal draws, shape ``(n,)`` (``k == 1``) or ``(n, k)``, per patient."""
    if k == 1:
        return per_patient(seed, name, start, n, lambda g, s: g.standard_normal(s), *keys)
    return per_patient(seed, name, start, n, lambda g, s: g.standard_normal((s, k)), *keys)
