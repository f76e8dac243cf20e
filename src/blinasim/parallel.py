"""Executors for independent tasks: in-process, a local process pool, or Dask distributed.

:func:`map_tasks` runs ``fn(task)`` for every task and hands each result to a callback as
soon as it is ready (in the calling process: that is where checkpoints are written and
progress bars move), then returns the results in task order. The same tasks give the same
results on every executor: randomness must be keyed by the task (e.g. the replicate
index with :mod:`blinasim.rng`), never by the worker.

* ``workers=1`` (or a single task): in-process, serially.
* ``workers=K`` / ``None`` (all cores): a :class:`concurrent.futures.ProcessPoolExecutor`
  started from a fork server that has imported the task's module once (safe with numba's
  OpenMP threads, cheap to start), each worker limited to one numba thread so that K
  workers use K cores.
* ``scheduler="tcp://host:port"`` or a ``dask.distributed.Client``: Dask distributed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from blinasim.errors import InputError

T = TypeVar("T")
R = TypeVar("R")


def _one_numba_thread() -> None:
    """Use one numba thread in the calling thread (numba's thread-local setting).

    Never changes ``NUMBA_NUM_THREADS`` here: numba refuses a new value of that variable
    once its thread pool runs, so changing it in a process that already ran a parallel
    kernel (a Dask worker thread in the caller's process, say) breaks every later kernel.
    """
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):  # pragma: no cover - numba is a dependency
        pass


def _gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie not yet reaped by its parent counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # pragma: no cover - the pid was reused by another user
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):  # pragma: no cover - no /proc: trust kill(pid, 0)
        return False


def _watch_parent(parent_pid: int, every_s: float = 0.5) -> None:
    """Exit this worker as soon as the process that started the pool is gone.

    A pool's workers are children of the fork server, not of the main process, so a
    ``kill -9`` of the main process left them running (~900 MB) indefinitely. A daemon
    thread ends the worker with ``os._exit`` when the main process has exited (even if it
    is not yet reaped) or when this worker is re-parented (its fork server died).
    """
    ppid = os.getppid()

    def loop() -> None:
        while True:
            time.sleep(every_s)
            if os.getppid() != ppid or _gone(parent_pid):
                os._exit(1)

    threading.Thread(target=loop, name="blinasim-parent-watch", daemon=True).start()


def _init_worker(parent_pid: int | None = None) -> None:
    """Process-pool initializer: one numba thread; exit when ``parent_pid`` dies.

    Only the thread-local ``numba.set_num_threads`` is used. Setting ``NUMBA_NUM_THREADS``
    here broke every first run: numba re-reads its environment before each compilation,
    and on an empty cache the first compilation came after the thread pool had started
    with another value ("Cannot set NUMBA_NUM_THREADS to a different value once the
    threads have been launched"). A warm cache skipped the compilation and hid it.
    Ctrl-C goes to the whole process group: workers ignore SIGINT and leave the main
    process to stop the pool and report what it saved.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_pid is not None:
        _watch_parent(parent_pid)
    _one_numba_thread()


def _single_threaded(fn: Callable[[T], R], task: T) -> R:
    """Run ``fn(task)`` with one numba thread (a Dask worker runs one task per thread)."""
    _one_numba_thread()
    return fn(task)


def _mp_context(fn: Callable[..., Any]) -> multiprocessing.context.BaseContext:
    """``forkserver`` (preloading ``fn``'s module once) where available, else ``spawn``.

    Plain ``fork`` is unsafe once numba's OpenMP threads run in the parent; a fork server
    imports the package once, before any such thread exists, and forks cheap workers.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        module = getattr(fn, "__module__", None)
        if module and module != "__main__":
            ctx.set_forkserver_preload([module])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not POSIX


# After workers are terminated (an interrupted run), multiprocessing's resource tracker
# unlinks the pool's named semaphores itself, and says so with a multi-line UserWarning
# that would follow the run's one-line message. The tracker is started with the
# interpreter's -W options, so this filter reaches it and nothing else changes.
_TRACKER_QUIET = "ignore:resource_tracker:UserWarning"


def _quiet_resource_tracker() -> None:
    if _TRACKER_QUIET not in sys.warnoptions:
        sys.warnoptions.append(_TRACKER_QUIET)


def process_pool(workers: int, fn: Callable[..., Any] | None = None) -> ProcessPoolExecutor:
    """A process pool of ``workers`` one-thread workers that die with this process.

    ``fn``'s module is preloaded by the fork server (see :func:`_mp_context`).
    """
    ctx = _mp_context(fn) if fn is not None else multiprocessing.get_context("spawn")
    _quiet_resource_tracker()
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )


def default_workers() -> int:
    """Number of usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _dask_client(scheduler: Any) -> tuple[Any, bool]:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is an optional dependency
        raise InputError(
            "dask[distributed] installed (pip install 'blinasim[dask]')",
            field="scheduler",
            got=str(scheduler),
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if not isinstance(scheduler, str) or not scheduler:
        raise InputError(
            "a scheduler address like tcp://host:port or a dask Client",
            field="scheduler",
            got=scheduler,
        )
    if "://" not in scheduler:
        raise InputError(
            "a scheduler address like tcp://host:port", field="scheduler", got=scheduler
        )
    try:
        return Client(scheduler, timeout="20s"), True  # type: ignore[no-untyped-call]
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(
            "a reachable Dask scheduler", field="scheduler", got=f"{scheduler} ({exc})"
        ) from None


def map_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    on_result: Callable[[int, R], None] | None = None,
) -> list[R]:
    """Run ``fn`` on every task; call ``on_result(i, result)`` as each finishes.

    ``fn`` and the tasks must be picklable (a module-level function) for the process pool
    and Dask. Returns the results in task order (all of them in memory at once: for many
    large results use :func:`stream_tasks`).
    """
    results: list[Any] = [None] * len(tasks)

    def done(i: int, r: R) -> None:
        results[i] = r
        if on_result is not None:
            on_result(i, r)

    stream_tasks(fn, tasks, done, workers=workers, scheduler=scheduler)
    return results


def stream_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    on_result: Callable[[int, R], None],
    *,
    workers: int | None = None,
    scheduler: Any = None,
) -> None:
    """Run ``fn`` on every task and hand each result to ``on_result(i, result)``, keeping none.

    Memory holds only the results in flight, whatever the number of tasks (a long run
    writes each result to disk in ``on_result`` and drops it).
    """
    n = len(tasks)
    if scheduler is not None:
        client, own = _dask_client(scheduler)
        try:
            from distributed import as_completed

            futs = client.map(_single_threaded, [fn] * n, list(tasks), pure=False)
            index = {f.key: i for i, f in enumerate(futs)}
            finished = as_completed(futs)  # type: ignore[no-untyped-call]
            del futs  # the cluster may drop each result once it is handed over
            for fut in finished:
                on_result(index[fut.key], fut.result())
                fut.release()
        finally:
            if own:
                client.close()
        return
    k = default_workers() if workers is None else workers
    if k < 1:
        raise InputError("workers >= 1", field="workers", got=workers)
    if k == 1 or n <= 1:
        for i, t in enumerate(tasks):
            on_result(i, fn(t))
        return
    pool = process_pool(min(k, n), fn)
    run_on_pool(pool, fn, [(t,) for t in tasks], on_result)
    pool.shutdown(wait=True)


class _DeferredSignals:
    """Record SIGINT and SIGTERM instead of acting on them; :meth:`reraise` acts later.

    A ``KeyboardInterrupt`` raised at an arbitrary bytecode inside :mod:`concurrent.futures`
    can leave a future's lock held by the main thread (``wait`` acquires every future's
    condition in a loop). The pool's manager thread then blocks forever setting that
    future's result, and the interpreter hangs at exit joining it: a Ctrl-C'd run printed
    its one-line message and never ended (CI, under load). Deferred, the signal is acted on
    only between calls into the pool, where no lock is held.

    Only the main thread can install handlers; elsewhere (and for a signal that was
    ignored) nothing changes.
    """

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _record(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum

    def __enter__(self) -> _DeferredSignals:
        if threading.current_thread() is threading.main_thread():
            for s in self._SIGNALS:
                old = signal.getsignal(s)
                if old is signal.SIG_IGN or old is None:  # ignored, or set outside Python
                    continue
                self._old[s] = old
                signal.signal(s, self._record)
        return self

    def restore(self) -> None:
        """Put the previous handlers back (idempotent)."""
        while self._old:
            s, old = self._old.popitem()
            signal.signal(s, old)

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def reraise(self) -> None:
        """Deliver the recorded signal to the restored handlers.

        That is ``KeyboardInterrupt`` for SIGINT, :class:`blinasim.interrupt.Terminated`
        for SIGTERM under the CLI, or the signal's default action.
        """
        self.restore()
        if self.signum is not None:
            signal.raise_signal(self.signum)


def run_on_pool(
    pool: ProcessPoolExecutor,
    fn: Callable[..., R],
    calls: Sequence[tuple[Any, ...]],
    on_result: Callable[[int, R], None],
    *,
    poll_s: float = 0.2,
) -> None:
    """Run ``fn(*calls[i])`` on ``pool`` for every ``i``; ``on_result(i, result)`` as each ends.

    A failed task, an error in ``on_result``, Ctrl-C or SIGTERM stops the pool at once
    (:func:`abort_pool`) and is raised in the caller. The signals are acted on only between
    calls into the pool (see :class:`_DeferredSignals`), after the results already finished
    have been handed over; the pool is left open otherwise.
    """
    with _DeferredSignals() as sig:
        try:
            pending: dict[Future[R], int] = {}
            for i, args in enumerate(calls):
                if sig.signum is not None:
                    break
                pending[pool.submit(fn, *args)] = i
            while pending and sig.signum is None:
                done, _ = wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
                for f in done:
                    on_result(pending.pop(f), f.result())
        except BaseException:
            sig.restore()
            abort_pool(pool)
            raise
        if sig.signum is not None:
            abort_pool(pool)
            sig.reraise()


def abort_pool(pool: ProcessPoolExecutor, *, join_s: float = 10.0) -> None:
    """Stop a pool at once (after an interruption): drop queued tasks, terminate workers.

    The workers and the pool's manager thread are taken before the shutdown, which forgets
    them (``_processes`` and ``_executor_manager_thread`` become None): terminating them
    afterwards found nothing, and a Ctrl-C sent to the whole process group could leave the
    run hanging at exit with its workers spinning. The manager thread is joined here: left
    running, it raced the interpreter's exit handler, which then wrote to the pool's closed
    wake-up pipe ("Bad file descriptor" traceback after the run's one-line message).
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
    # the manager thread sees the dead workers, fails what was running, releases the
    # queues' semaphores (else the resource tracker warns of leaked semaphores) and ends
    if manager is not None:
        manager.join(timeout=join_s)
    pool.shutdown(wait=True)


__all__ = [
    "abort_pool",
    "default_workers",
    "map_tasks",
    "process_pool",
    "run_on_pool",
    "stream_tasks",
]
