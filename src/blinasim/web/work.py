"""Bounded work for the web app: one model pool, a small explorer queue and its cache.

Every model call (a prediction, one posterior draw of a scenario) runs on
:class:`ModelPool`: a fixed number of worker threads (one by default: each call already
uses every core through numba, and one worker keeps calls that share module state
apart), at most ``max_waiting`` calls waiting, each with a timeout. A request that would
exceed a bound is refused with :class:`Busy` (the app answers 503) instead of queuing
without end. :class:`ExplorerJobs` runs at most ``max_jobs`` scenarios at once, each
draw through the model pool, so a prediction never waits behind more than one draw; the
results of the last ``cache_size`` scenarios are kept in memory.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from blinasim.web.explorer import Scenario, ScenarioResult, run_scenario

T = TypeVar("T")


class Busy(RuntimeError):
    """The server is at one of its bounds; the message says which (answered with 503)."""


class ModelPool:
    """A bounded thread pool for model calls, with a cap on waiting calls and a timeout."""

    def __init__(self, workers: int = 1, *, max_waiting: int = 32, timeout_s: float = 120.0):
        self.workers = workers
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model")
        self._lock = threading.Lock()
        self._queued = 0

    @property
    def queued(self) -> int:
        """Calls submitted and not finished (running or waiting)."""
        return self._queued

    def _submit(self, fn: Callable[[], T]) -> Future[T]:
        with self._lock:
            if self._queued >= self.workers + self.max_waiting:
                raise Busy(
                    f"the model is busy ({self._queued} calculations queued); "
                    "try again in a few seconds"
                )
            self._queued += 1
        try:
            fut = self._executor.submit(fn)
        except BaseException:
            self._done(None)
            raise
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _: object) -> None:
        with self._lock:
            self._queued -= 1

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the pool from async code; :class:`Busy` when full or too slow."""
        fut = self._submit(fn)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), self.timeout_s)
        except TimeoutError:
            fut.cancel()
            raise Busy(
                f"the calculation took more than {self.timeout_s:g} s; try again later"
            ) from None

    def run_blocking(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the pool from a plain thread and wait for it (same bounds)."""
        fut = self._submit(fn)
        try:
            return fut.result(timeout=self.timeout_s)
        except FutureTimeout:
            fut.cancel()
            raise Busy(f"a calculation took more than {self.timeout_s:g} s") from None

    def shutdown(self) -> None:
        """Stop taking work; running calls finish, waiting ones are dropped."""
        self._executor.shutdown(wait=False, cancel_futures=True)


JobState = Literal["queued", "running", "done", "failed"]


@dataclass
class Job:
    """One scenario's run: its state, progress and result."""

    scenario: Scenario
    state: JobState = "queued"
    done: int = 0
    total: int = 0
    result: ScenarioResult | None = None
    error: str = ""
    submitted: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    @property
    def id(self) -> str:
        """The scenario's key."""
        return self.scenario.key

    def status(self) -> dict[str, Any]:
        """Plain data for the progress endpoint."""
        return {
            "id": self.id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "error": self.error,
            "seconds": round(self.seconds, 2),
        }


class ExplorerJobs:
    """At most ``max_jobs`` scenarios in progress; finished ones cached (newest kept)."""

    def __init__(
        self,
        pool: ModelPool,
        workdir: Path,
        *,
        max_jobs: int = 2,
        cache_size: int = 32,
        runner: Callable[..., ScenarioResult] = run_scenario,
    ) -> None:
        self.pool = pool
        self.workdir = workdir
        self.max_jobs = max_jobs
        self.cache_size = cache_size
        self._runner = runner
        self._executor = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="explorer")
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def submit(self, s: Scenario) -> Job:
        """The job of ``s``: the cached or running one, else a new one (Busy when full)."""
        with self._lock:
            job = self._jobs.get(s.key)
            if job is not None and job.state != "failed":
                self._jobs.move_to_end(s.key)
                return job
            active = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if active >= self.max_jobs:
                raise Busy(
                    f"{active} scenarios are already being computed (the most at once); "
                    "try again when one has finished"
                )
            job = Job(s)
            self._jobs[s.key] = job
            self._trim()
        self._executor.submit(self._run, job)
        return job

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.state in ("done", "failed")]
        for k in finished[: max(0, len(finished) - self.cache_size)]:
            del self._jobs[k]

    def _run(self, job: Job) -> None:
        t0 = time.monotonic()
        job.state = "running"

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total
            job.seconds = time.monotonic() - t0

        try:
            result = self._runner(
                job.scenario, self.workdir, progress=progress, run_draw=self.pool.run_blocking
            )
        except Busy as exc:
            job.error, job.state = str(exc), "failed"
        except Exception as exc:  # a bug: shown on the job's page, never a silent hang
            job.error, job.state = f"the calculation failed: {type(exc).__name__}: {exc}", "failed"
        else:
            job.result, job.state = result, "done"
        job.seconds = time.monotonic() - t0
        with self._lock:
            if self._jobs.get(job.id) is job:
                self._jobs.move_to_end(job.id)
            self._trim()

    def get(self, key: str) -> Job | None:
        """The job with id ``key`` (None when unknown or evicted)."""
        with self._lock:
            return self._jobs.get(key)

    def finished(self) -> list[Job]:
        """Finished scenarios, newest first."""
        with self._lock:
            return [j for j in reversed(self._jobs.values()) if j.state == "done"]

    def shutdown(self) -> None:
        """Stop taking scenarios."""
        self._executor.shutdown(wait=False, cancel_futures=True)
