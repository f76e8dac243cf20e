"""CPU time of the after-relapse pathway and the lifetime histories on the CEA's inputs.

    nice .venv/bin/python benchmarks/lifetime_cea.py [--children N] [--seeds S ...]
        [--reps R] [--chunk-cache] [--whole K] [--out FILE]

Builds what one PSA iteration of ``blinasim cea aall1731`` builds
(:func:`blinasim.jobs.cea_sim.simulate_histories`: ``N`` eligible children, default 30,000,
through the first-line engine, then each used row's lifetime with
:func:`blinasim.economics.history_from_model`), on one numba thread as the CEA workers do,
and records the inputs of every call of

- :func:`blinasim.model.after_relapse.salvage_rows` (the engine's salvage pathway, once per
  arm run), and
- :func:`blinasim.economics.history_from_model` (once per iteration),

then re-runs the calls ``R`` times (default 5) on the recorded inputs and prints the best
CPU seconds (``time.process_time``) of one iteration's calls: all the engine's
``salvage_rows`` calls, ``history_from_model``, and inside it
:func:`blinasim.model.after_relapse.history.lifetime`. A draw memo a call held is replaced
by a new one each time (its draws are timed); ``--chunk-cache`` gives the ``salvage_rows``
calls one memo over all their children (what the engine's chunk memo would do). The first
call of each is not timed (numba compiles). ``--whole K`` also times ``K`` whole
``simulate_histories`` calls (seeds 1000, 1001, ..., after one untimed call) and prints
their mean CPU seconds: the share of the iteration the two parts take. The machine is
shared: run it with ``nice`` and compare best-of figures. Writes ``--out`` (JSON) if
given. A research model, not medical advice.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numba
import numpy as np

from blinasim.economics import history as econ_history
from blinasim.jobs import cea_sim
from blinasim.jobs.cea_sim import base_parameters, simulate_histories
from blinasim.model import _draws, after_relapse

Call = tuple[tuple[Any, ...], dict[str, Any]]


def _recorder(fn: Callable[..., Any], calls: list[Call]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return fn(*args, **kwargs)

    return wrapped


@contextlib.contextmanager
def recording(module: Any, name: str, calls: list[Call]) -> Iterator[Callable[..., Any]]:
    """Record the arguments of every call of ``module.name`` (yields the original)."""
    orig = getattr(module, name)
    setattr(module, name, _recorder(orig, calls))
    try:
        yield orig
    finally:
        setattr(module, name, orig)


def record(n: int, seed: int) -> tuple[list[Call], list[Call]]:
    """The arguments of every ``salvage_rows`` and ``history_from_model`` call of one run."""
    sal: list[Call] = []
    hist: list[Call] = []
    with (
        recording(after_relapse, "salvage_rows", sal),
        recording(cea_sim, "history_from_model", hist),
    ):
        simulate_histories(n, model_seed=seed, params=base_parameters(), origin="diagnosis")
    return sal, hist


def _with_fresh_caches(calls: list[Call], chunk_cache: bool) -> list[Call]:
    """The calls with a new draw memo for each memo they held (the engine makes one per
    chunk and shares it by its arms), or with one shared memo over every id asked for
    (``chunk_cache``: as if the engine passed its chunk's memo)."""
    fresh: dict[int, _draws.ChunkDraws] = {}
    shared = None
    if chunk_cache and calls:
        ids = np.unique(np.concatenate([np.asarray(c[0][0]) for c in calls]))
        shared = _draws.ChunkDraws(int(calls[0][1]["seed"]), ids)
    out = []
    for args, kwargs in calls:
        kw = dict(kwargs)
        old = kw.get("cache")
        if old is not None:
            kw["cache"] = fresh.setdefault(id(old), _draws.ChunkDraws(old.seed, old.ids))
        elif shared is not None:
            kw["cache"] = shared
        out.append((args, kw))
    return out


def time_calls(
    fn: Callable[..., Any], calls: list[Call], reps: int, *, chunk_cache: bool = False
) -> float:
    """Best over ``reps`` of the CPU seconds of ``fn`` on every call's arguments in turn."""
    best = float("inf")
    for _ in range(reps):
        prepared = _with_fresh_caches(calls, chunk_cache)
        t0 = time.process_time()
        for args, kwargs in prepared:
            fn(*args, **kwargs)
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap_.add_argument("--children", type=int, default=30_000)
    ap_.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    ap_.add_argument("--reps", type=int, default=5)
    ap_.add_argument(
        "--chunk-cache",
        action="store_true",
        help="time salvage_rows with one draw memo shared by the arms (the engine's chunk memo)",
    )
    ap_.add_argument("--whole", type=int, default=0, metavar="K")
    ap_.add_argument("--out", type=Path, default=None)
    a = ap_.parse_args()
    numba.set_num_threads(1)
    result: dict[str, Any] = {
        "children": a.children,
        "reps": a.reps,
        "chunk_cache": a.chunk_cache,
        "seeds": {},
    }
    print(f"{a.children:,} children, best of {a.reps} CPU seconds per iteration")
    print(f"{'seed':>10}{'arms':>6}{'salvage_rows':>14}{'history_from_model':>20}{'lifetime':>10}")
    for seed in a.seeds:
        sal, hist = record(a.children, seed)
        t_sal = time_calls(after_relapse.salvage_rows, sal, a.reps, chunk_cache=a.chunk_cache)
        t_hist = time_calls(econ_history.history_from_model, hist, a.reps)
        life: list[Call] = []
        with recording(econ_history, "lifetime", life) as orig:
            for args, kwargs in hist:
                econ_history.history_from_model(*args, **kwargs)
        t_life = time_calls(orig, life, a.reps)
        result["seeds"][str(seed)] = {
            "salvage_rows_calls": len(sal),
            "salvage_rows_seconds": t_sal,
            "history_from_model_seconds": t_hist,
            "lifetime_seconds": t_life,
        }
        print(f"{seed:>10}{len(sal):>6}{t_sal:>14.4f}{t_hist:>20.4f}{t_life:>10.4f}")
    if a.whole:
        params = base_parameters()
        simulate_histories(a.children, model_seed=999, params=params, origin="diagnosis")
        t0 = time.process_time()
        for seed in range(1000, 1000 + a.whole):
            simulate_histories(a.children, model_seed=seed, params=params, origin="diagnosis")
        per = (time.process_time() - t0) / a.whole
        result["simulate_histories_seconds"] = per
        print(f"simulate_histories: {per:.4f} CPU s per call (mean of {a.whole})")
    if a.out is not None:
        a.out.write_text(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
