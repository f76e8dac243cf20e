"""Where the calibration evaluates its log posterior: in-process, a process pool, or Dask.

The log posterior (with its simulator's set-up: cohort, protocol, targets) is pickled once
and unpickled once per worker (kept per worker thread), not sent with every evaluation.
Evaluations come back in input order whatever the pool, so the numbers never depend on it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from blinasim.errors import InputError
from blinasim.parallel import (
    _dask_client,
    _single_threaded,
    abort_pool,
    process_pool,
    run_on_pool,
)

FloatArray = NDArray[np.float64]

_LOCAL = threading.local()


def _cached_call(key: str, blob: bytes, x: Any) -> Any:
    """``fn(x)`` with ``fn = pickle.loads(blob)`` kept per worker thread under ``key``.

    A pickled log posterior drops its simulator's set-up (cohort, protocol, targets: about
    0.3 s, more than an evaluation); keeping the unpickled function in the worker makes
    that a once-per-worker cost instead of a per-evaluation one. The result depends only on
    ``blob``, so caching cannot change it.
    """
    cache: dict[str, Any] | None = getattr(_LOCAL, "cache", None)
    if cache is None or key not in cache:
        cache = {key: pickle.loads(blob)}  # one function at a time
        _LOCAL.cache = cache
    return cache[key](x)


def _cached_single_threaded(args: tuple[str, bytes, Any]) -> Any:
    """A Dask task: :func:`_cached_call` with one numba thread."""
    return _single_threaded(lambda a: _cached_call(*a), args)


def _packed(fn: Callable[[Any], Any]) -> tuple[str, bytes]:
    blob = pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.sha256(blob).hexdigest(), blob


def _unwrap_emcee(fn: Any) -> Callable[[Any], Any] | None:
    """``x -> fn.f(x, *fn.args, **fn.kwargs)`` for emcee's ``_FunctionWrapper``, else None."""
    cls = type(fn)
    if cls.__name__ != "_FunctionWrapper" or not cls.__module__.startswith("emcee"):
        return None
    f, args, kwargs = fn.f, tuple(fn.args or ()), dict(fn.kwargs or {})

    def call(x: Any) -> Any:
        return f(x, *args, **kwargs)

    return call


class SerialPool:
    """Evaluate in the calling process."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """``[fn(x) for x in items]``.

        emcee wraps the log posterior in a function that prints a traceback for any
        exception, Ctrl-C and SIGTERM included, before re-raising it: in this process the
        wrapped function is called directly (same value), so an interruption is one line.
        """
        return [fn(x) for x in items] if (f := _unwrap_emcee(fn)) is None else [f(x) for x in items]

    def close(self) -> None:
        """Nothing to release."""

    def abort(self) -> None:
        """Nothing to stop."""


class ProcessPool:
    """A persistent local process pool (spawn; numba-safe).

    Its workers (:func:`blinasim.parallel.process_pool`) ignore SIGINT, so Ctrl-C reaches
    only the main process, which stops the pool and reports what it saved, and they exit
    when the main process dies (``kill -9`` included).
    """

    def __init__(self, workers: int) -> None:
        self._ex = process_pool(workers)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Results in input order (``fn`` is unpickled once per worker, see ``_cached_call``)."""
        items = list(items)
        key, blob = _packed(fn)
        out: list[Any] = [None] * len(items)

        def keep(i: int, r: Any) -> None:
            out[i] = r

        run_on_pool(self._ex, _cached_call, [(key, blob, x) for x in items], keep)
        return out

    def close(self) -> None:
        """Shut the workers down."""
        self._ex.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        """Stop at once (after an interruption): drop queued work, terminate the workers."""
        abort_pool(self._ex)


class DaskPool:
    """Evaluations on a Dask distributed cluster (``tcp://host:port`` or a Client)."""

    def __init__(self, scheduler: Any) -> None:

        self._client, self._own = _dask_client(scheduler)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Results in input order."""
        items = list(items)
        key, blob = _packed(fn)
        tasks = [(key, blob, x) for x in items]
        futs = self._client.map(_cached_single_threaded, tasks, pure=False)
        return list(self._client.gather(futs))

    def close(self) -> None:
        """Close the client if this pool opened it."""
        if self._own:
            self._client.close()

    def abort(self) -> None:
        """As :meth:`close` (the cluster's tasks of a closed client are released)."""
        self.close()


def make_pool(
    workers: int | None = None, scheduler: Any = None
) -> SerialPool | ProcessPool | DaskPool:
    """Serial (``workers=1``), local processes (``workers=K``) or Dask (``scheduler``)."""
    if scheduler is not None:
        return DaskPool(scheduler)
    k = (os.cpu_count() or 1) if workers is None else workers
    if k < 1:
        raise InputError("workers >= 1", field="workers", got=workers)
    return SerialPool() if k == 1 else ProcessPool(k)
