"""Benchmark: the per-patient draws and adverse events of one CEA PSA iteration.

    .venv/bin/python benchmarks/draws.py [--children N] [--repeats R] [--seed S]

Runs one PSA iteration's simulation (``blinasim.jobs.cea_sim.simulate_histories``: the
first ``N`` AALL1731-eligible children, default 30,000, through the engine and to age
100) once while recording every call into the draw layer: ``rng.uniforms`` (the cohort),
``_draws.uniforms`` / ``_draws.normals`` (with or without a chunk's ``ChunkDraws``), the
chunks' ``ChunkDraws``, ``toxicity.adverse_events`` and
``toxicity.death_in_remission_day``, with their arguments. It then replays the recorded
calls ``R`` times (default 15), checks that every replay returns the numbers of the
recorded run (bit for bit), and prints, by kind of call, the sum of each call's median
milliseconds. At 1dd0d87 (before the draw layer was made faster, same numbers) the same
calls summed 53.6 ms; at e1a9e01, 35.3 ms (the commit messages of e01366f and 7856f15).

One thread, the calls only (no engine around them): the saving is what one PSA iteration
saves. Run it alone, with ``nice``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from blinasim import rng
from blinasim.jobs.cea_sim import base_parameters, iteration_seed, simulate_histories
from blinasim.model import _draws, toxicity


@dataclass
class Call:
    kind: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    chunk: int | None  # index of the ChunkDraws passed as cache (None: no cache)


def _copy(x: Any) -> Any:
    return x.copy() if isinstance(x, np.ndarray) else x


def record(n: int, seed: int) -> tuple[list[tuple[int, np.ndarray]], list[Call]]:
    """Run one iteration, recording the draw layer's top-level calls (not nested ones)."""
    chunks: list[tuple[int, np.ndarray]] = []
    chunk_index: dict[int, int] = {}
    calls: list[Call] = []
    depth = [0]
    real = {
        "rng.uniforms": rng.uniforms,
        "uniforms": _draws.uniforms,
        "normals": _draws.normals,
        "adverse_events": toxicity.adverse_events,
        "death_in_remission_day": toxicity.death_in_remission_day,
    }
    real_chunk = _draws.ChunkDraws

    def spy(kind: str) -> Callable[..., Any]:
        fn = real[kind]

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:
                cache = kwargs.get("cache")
                kw = {k: _copy(v) for k, v in kwargs.items() if k != "cache"}
                where = None if cache is None else chunk_index[id(cache)]
                calls.append(Call(kind, tuple(_copy(a) for a in args), kw, where))
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1

        return wrapped

    def make_chunk(seed: int, ids: np.ndarray) -> Any:
        c = real_chunk(seed, ids)
        chunk_index[id(c)] = len(chunks)
        chunks.append((seed, np.array(ids, dtype=np.int64)))
        return c

    rng.uniforms = spy("rng.uniforms")  # type: ignore[assignment]
    _draws.uniforms = spy("uniforms")  # type: ignore[assignment]
    _draws.normals = spy("normals")  # type: ignore[assignment]
    toxicity.adverse_events = spy("adverse_events")  # type: ignore[assignment]
    toxicity.death_in_remission_day = spy("death_in_remission_day")  # type: ignore[assignment]
    _draws.ChunkDraws = make_chunk  # type: ignore[assignment,misc]
    try:
        simulate_histories(
            n, model_seed=iteration_seed(seed, 0), params=base_parameters(), origin="diagnosis"
        )
    finally:
        rng.uniforms = real["rng.uniforms"]  # type: ignore[assignment]
        _draws.uniforms = real["uniforms"]  # type: ignore[assignment]
        _draws.normals = real["normals"]  # type: ignore[assignment]
        toxicity.adverse_events = real["adverse_events"]  # type: ignore[assignment]
        toxicity.death_in_remission_day = real["death_in_remission_day"]  # type: ignore[assignment]
        _draws.ChunkDraws = real_chunk  # type: ignore[misc]
    return chunks, calls


CURRENT = {
    "rng.uniforms": rng.uniforms,
    "uniforms": _draws.uniforms,
    "normals": _draws.normals,
    "adverse_events": toxicity.adverse_events,
    "death_in_remission_day": toxicity.death_in_remission_day,
    "chunk": _draws.ChunkDraws,
}


def label(c: Call) -> str:
    if c.kind in ("uniforms", "normals"):
        return f"_draws.{c.kind} " + ("(ChunkDraws)" if c.chunk is not None else "(no cache)")
    if c.kind == "rng.uniforms":
        return "rng.uniforms (cohort)"
    return f"toxicity.{c.kind}"


def replay(
    impl: dict[str, Any], chunks: list[tuple[int, np.ndarray]], calls: list[Call]
) -> tuple[list[float], list[Any]]:
    """Seconds of each call (a ChunkDraws' creation counted with its first read) and results."""
    secs = []
    out = []
    made: dict[int, Any] = {}
    for c in calls:
        t0 = time.perf_counter()
        kw = dict(c.kwargs)
        if c.chunk is not None:
            if c.chunk not in made:
                made[c.chunk] = impl["chunk"](*chunks[c.chunk])
            kw["cache"] = made[c.chunk]
        res = impl[c.kind](*c.args, **kw)
        secs.append(time.perf_counter() - t0)
        out.append(res)
    return secs, out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    return all(same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--children", type=int, default=30_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--seed", type=int, default=99)
    args = ap.parse_args()
    simulate_histories(
        500, model_seed=1, params=base_parameters(), origin="diagnosis"
    )  # numba compile / cache load
    chunks, calls = record(args.children, args.seed)
    counts: dict[str, int] = defaultdict(int)
    for c in calls:
        counts[label(c)] += 1
    _, ref = replay(CURRENT, chunks, calls)
    # each call's median over the replays (robust to the other work of a shared machine)
    times: list[list[float]] = []
    bad: set[int] = set()
    for _ in range(args.repeats):
        secs, out = replay(CURRENT, chunks, calls)
        times.append(secs)
        bad |= {i for i, (a, b) in enumerate(zip(ref, out, strict=True)) if not same(a, b)}
    med = np.median(np.array(times), axis=0)
    print(
        f"one PSA iteration's draw-layer calls ({args.children:,} children, seed {args.seed}), "
        f"sum of each call's median over {args.repeats} replays, ms"
    )
    print(f"{'calls':<42}{'n':>5}{'ms':>9}")
    labels = [label(c) for c in calls]
    for k in [*sorted(counts), "total"]:
        pick = [i for i, lab in enumerate(labels) if k in (lab, "total")]
        print(f"{k:<42}{len(pick):>5}{float(med[pick].sum()) * 1e3:>9.2f}")
    print(f"the same numbers on every replay: {'yes' if not bad else f'NO ({len(bad)} calls)'}")
    if bad:
        raise SystemExit(1)
    through_chunk(chunks, calls, args.repeats)


def through_chunk(chunks: list[tuple[int, np.ndarray]], calls: list[Call], repeats: int) -> None:
    """The uncached reads of a few children of a chunk (e.g. the relapse pathway's streams,
    read again for each arm) against the same reads through a ChunkDraws of the chunk."""
    picked = []
    for c in calls:
        if c.kind not in ("uniforms", "normals") or c.chunk is not None:
            continue
        ids = np.asarray(c.args[2])
        inside = [
            j for j, (_, ch) in enumerate(chunks) if ids.size < ch.size and np.isin(ids, ch).all()
        ]
        if inside:
            picked.append((c, inside[-1]))
    if not picked:
        return
    times = {"uncached": [], "through the chunk's ChunkDraws": []}
    same_numbers = True
    for r in range(repeats):
        t0 = time.perf_counter()
        plain = [CURRENT[c.kind](*c.args, **c.kwargs) for c, _ in picked]
        times["uncached"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        made = {j: _draws.ChunkDraws(*chunks[j]) for j in {j for _, j in picked}}
        cached = [CURRENT[c.kind](*c.args, **c.kwargs, cache=made[j]) for c, j in picked]
        times["through the chunk's ChunkDraws"].append(time.perf_counter() - t0)
        if r == 0:
            same_numbers = all(same(a, b) for a, b in zip(plain, cached, strict=True))
    names = sorted({c.args[1] for c, _ in picked})
    print(f"\n{len(picked)} uncached reads of a chunk's subsets ({', '.join(names)}), median ms")
    for k, v in times.items():
        print(f"{k:<42}{statistics.median(v) * 1e3:>9.2f}")
    print(f"identical results: {'yes' if same_numbers else 'NO'}")
    if not same_numbers:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
