"""Per-patient draws by id (blinasim.model._draws): every path gives patient i its own numbers."""

import numpy as np
import pytest

from blinasim import rng
from blinasim.model import _draws

SEED = 17


def _one_by_one(name: str, ids: np.ndarray, k: int, normal: bool) -> np.ndarray:
    """The definition: patient i's numbers are row i of the stream's whole blocks
    (rng.per_patient, one patient at a time)."""

    def draw(g: np.random.Generator, s: int) -> np.ndarray:
        return g.standard_normal((s, k)) if normal else g.random((s, k))

    rows = [rng.per_patient(SEED, name, int(i), 1, draw)[0] for i in ids]
    out = np.array(rows, dtype=np.float64).reshape(ids.size, k)
    if not normal:
        out = np.clip(out, 1e-16, 1.0 - 1e-16)
    return out[:, 0] if k == 1 else out


def _id_sets() -> dict[str, np.ndarray]:
    g = np.random.default_rng(3)
    screened = np.flatnonzero(g.random(20_000) < 0.57)  # sorted, gaps, spans blocks
    return {
        "contiguous": np.arange(4000, 4200),
        "screened": screened,
        "sparse": np.sort(g.choice(30_000, 150, replace=False)),
        "repeated": np.repeat(screened[::40], 2),  # a child with two rows (two arms)
        "unsorted": g.permutation(screened)[:300],
        "one block, from its middle": np.array([4097, 4100, 5000, 8191]),
        "single": np.array([12_345]),
    }


@pytest.mark.parametrize("normal", [False, True])
@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("case", list(_id_sets()))
def test_draws_are_each_patients_own_numbers(case, k, normal):
    ids = _id_sets()[case]
    fn = _draws.normals if normal else _draws.uniforms
    got = fn(SEED, "test.draws", ids, k=k)
    assert got.shape == ((ids.size,) if k == 1 else (ids.size, k))
    # a subset of the reference is enough for the long id sets (one call per patient)
    pick = np.unique(np.r_[0 : min(ids.size, 60), ids.size - 40 : ids.size].clip(0))
    np.testing.assert_array_equal(got[pick], _one_by_one("test.draws", ids[pick], k, normal))
    # and the same numbers as reading the whole range at once
    lo, hi = int(ids.min()), int(ids.max())
    whole = fn(SEED, "test.draws", np.arange(lo, hi + 1), k=k)
    np.testing.assert_array_equal(got, whole[ids - lo])


def test_uniforms_stay_in_the_open_interval():
    u = _draws.uniforms(SEED, "test.draws", np.arange(0, 50_000, 3), k=2)
    assert u.min() >= 1e-16
    assert u.max() <= 1.0 - 1e-16


@pytest.mark.parametrize("ids", [[-1, 0, 5], [5, -1, 0], [3, 9, -2]])
def test_negative_ids_are_refused(ids):
    with pytest.raises(ValueError, match="non-negative"):
        _draws.uniforms(SEED, "test.draws", np.array(ids))
    with pytest.raises(ValueError, match="non-negative"):
        _draws.normals(SEED, "test.draws", np.array(ids))


def test_empty_ids():
    assert _draws.uniforms(SEED, "test.draws", np.array([], dtype=np.int64)).shape == (0,)
    assert _draws.normals(SEED, "test.draws", np.array([], dtype=np.int64), k=3).shape == (0, 3)


@pytest.mark.parametrize("chunk_case", ["contiguous", "screened", "unsorted"])
def test_chunk_memo_gives_the_uncached_numbers(chunk_case):
    chunk = _id_sets()[chunk_case]
    cache = _draws.ChunkDraws(SEED, chunk)
    g = np.random.default_rng(5)
    for _ in range(3):
        sub = np.sort(g.choice(chunk, chunk.size // 3, replace=False))
        for k in (1, 3):
            np.testing.assert_array_equal(
                _draws.uniforms(SEED, "test.draws", sub, k=k, cache=cache),
                _draws.uniforms(SEED, "test.draws", sub, k=k),
            )
            np.testing.assert_array_equal(
                _draws.normals(SEED, "test.draws", sub, k=k, cache=cache),
                _draws.normals(SEED, "test.draws", sub, k=k),
            )


def test_chunk_rows_follow_an_ids_array_changed_in_place():
    """Row positions are remembered per ids array, but never trusted if it changed."""
    chunk = _id_sets()["screened"]
    cache = _draws.ChunkDraws(SEED, chunk)
    sub = chunk[10:50].copy()
    first = _draws.uniforms(SEED, "test.draws", sub, cache=cache)
    np.testing.assert_array_equal(first, _draws.uniforms(SEED, "test.draws", sub))
    sub[:] = chunk[200:240]
    np.testing.assert_array_equal(
        _draws.uniforms(SEED, "test.draws", sub, cache=cache),
        _draws.uniforms(SEED, "test.draws", sub),
    )
    sub[3] = chunk[3] + 1 if chunk[3] + 1 not in chunk else 10**9
    with pytest.raises(ValueError, match="outside the chunk"):
        _draws.uniforms(SEED, "test.draws", sub, cache=cache)


@pytest.mark.parametrize("chunk_case", ["contiguous", "screened", "unsorted"])
def test_ids_outside_the_chunk_are_refused(chunk_case):
    chunk = _id_sets()[chunk_case]
    cache = _draws.ChunkDraws(SEED, chunk)
    outside = np.array([int(chunk.max()) + 1])
    with pytest.raises(ValueError, match="outside the chunk"):
        cache.uniforms("test.draws", outside)
    with pytest.raises(ValueError, match="outside the chunk"):
        cache.normals("test.draws", outside)
    empty = _draws.ChunkDraws(SEED, np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match="outside the chunk"):
        empty.uniforms("test.draws", np.array([3]))
    assert empty.uniforms("test.draws", np.array([], dtype=np.int64)).shape == (0,)


def test_cache_of_another_seed_is_refused():
    cache = _draws.ChunkDraws(SEED + 1, np.arange(10))
    with pytest.raises(ValueError, match="cache seed"):
        _draws.uniforms(SEED, "test.draws", np.arange(3), cache=cache)
    with pytest.raises(ValueError, match="cache seed"):
        _draws.normals(SEED, "test.draws", np.arange(3), cache=cache)


def test_uniforms_at_rows_are_the_uniforms_of_those_children():
    chunk = _id_sets()["screened"]
    cache = _draws.ChunkDraws(SEED, chunk)
    sub = chunk[::7]
    np.testing.assert_array_equal(
        cache.uniforms_at("test.draws", cache.rows(sub), k=2),
        _draws.uniforms(SEED, "test.draws", sub, k=2),
    )
