import numpy as np
import pytest

from blinasim import rng


def test_name_key_is_stable_and_distinct():
    assert rng.name_key("cohort.age") == rng.name_key("cohort.age")
    assert rng.name_key("cohort.age") != rng.name_key("cohort.sex")
    # a fixed value: changing the hash would silently change every simulated number
    assert rng.name_key("cohort.age") == 4733604730023418370


def test_per_patient_draws_do_not_depend_on_start_or_n():
    full = rng.uniforms(7, "example.x", 0, 10_000)
    part = rng.uniforms(7, "example.x", 4000, 300)
    np.testing.assert_array_equal(full[4000:4300], part)
    assert rng.uniforms(7, "example.x", 0, 10).shape == (10,)
    assert rng.normals(7, "example.x", 0, 5, k=3).shape == (5, 3)
    assert rng.uniforms(7, "example.x", 0, 0).shape == (0,)


def test_streams_differ_by_seed_name_and_key():
    a = rng.uniforms(1, "example.a", 0, 100)
    assert not np.array_equal(a, rng.uniforms(2, "example.a", 0, 100))
    assert not np.array_equal(a, rng.uniforms(1, "example.b", 0, 100))
    assert not np.array_equal(a, rng.uniforms(1, "example.a", 0, 100, 3))


def test_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        rng.generator(-1, "example.a")
    with pytest.raises(ValueError, match="undeclared random stream ''"):
        rng.generator(1, "")


def test_undeclared_stream_is_refused():
    with pytest.raises(ValueError, match=r"undeclared random stream 'cohort\.agee'"):
        rng.uniforms(1, "cohort.agee", 0, 3)
    assert rng.declared("toxicity.sepsis.induction")
    assert not rng.declared("toxicity")


def test_each_stream_is_read_from_one_module(monkeypatch):
    """Simulate cohort, model and trial; record which module reads each stream."""
    import inspect
    from collections import defaultdict

    from blinasim.trial.design import load_design
    from blinasim.trial.run import run_trial

    readers: dict[str, set[str]] = defaultdict(set)
    real = rng.seed_sequence
    helpers = {"blinasim.rng", "blinasim.model._draws"}

    def spy(seed, name, *keys):
        for frame in inspect.stack()[1:]:
            mod = frame.frame.f_globals.get("__name__", "")
            if mod not in helpers:
                readers[name].add(mod)
                break
        return real(seed, name, *keys)

    monkeypatch.setattr(rng, "seed_sequence", spy)
    run_trial(load_design("aall1731"), seed=3, replicate=0)
    assert {"cohort.age", "leukemia.growth", "trial.randomization", "mrd.assay"} <= set(readers)
    shared = {n: m for n, m in readers.items() if len(m) > 1}
    assert not shared, shared
    for name in readers:
        assert rng.declared(name), name


@pytest.mark.parametrize("normal", [False, True])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize(
    ("start", "n"),
    [(0, 1), (0, 4096), (0, 4097), (5, 10), (4090, 12), (4096, 4096), (100, 9000), (8191, 1)],
)
def test_uniforms_and_normals_are_the_per_patient_numbers(normal, k, start, n):
    """Generated straight into the output (and only up to the last patient of a block):
    the same numbers as per_patient's whole blocks."""
    shape = (lambda s: s) if k == 1 else (lambda s: (s, k))
    if normal:
        got = rng.normals(11, "example.fill", start, n, 2, k=k)
        ref = rng.per_patient(
            11, "example.fill", start, n, lambda g, s: g.standard_normal(shape(s)), 2
        )
    else:
        got = rng.uniforms(11, "example.fill", start, n, 2, k=k)
        ref = rng.per_patient(11, "example.fill", start, n, lambda g, s: g.random(shape(s)), 2)
    assert got.shape == ref.shape == ((n,) if k == 1 else (n, k))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ref)


def test_empty_draws_still_check_their_arguments():
    assert rng.normals(7, "example.x", 10, 0, k=4).shape == (0, 4)
    with pytest.raises(ValueError, match="undeclared random stream"):
        rng.uniforms(7, "example", 0, 0)
    with pytest.raises(ValueError, match="seed"):
        rng.normals(-1, "example.x", 0, 0)
    with pytest.raises(ValueError, match="start and n"):
        rng.uniforms(7, "example.x", -1, 3)
    with pytest.raises(ValueError, match="start and n"):
        rng.normals(7, "example.x", 0, -3)
    with pytest.raises(ValueError, match="keys must be non-negative"):
        rng.uniforms(7, "example.x", 0, 3, 1, -2)
