"""Many requests at once on loopback: statuses and times (the load test and benchmarks/web.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .http_client import request


@dataclass(frozen=True)
class Call:
    """One request of a load: method GET or POST (with a form) and the status expected."""

    path: str
    form: dict[str, str] | None = None
    expect: int = 200


@dataclass(frozen=True)
class LoadResult:
    """Statuses and seconds of every call, in order."""

    calls: tuple[Call, ...]
    statuses: tuple[int, ...]
    seconds: tuple[float, ...]
    wall: float

    @property
    def wrong(self) -> list[tuple[str, int, int]]:
        """(path, expected, got) of every call whose status was not the expected one."""
        return [
            (c.path, c.expect, s)
            for c, s in zip(self.calls, self.statuses, strict=True)
            if s != c.expect
        ]

    def quantile(self, q: float) -> float:
        """The q-quantile of the request times (seconds)."""
        xs = sorted(self.seconds)
        if len(xs) == 1:
            return xs[0]
        return statistics.quantiles(xs, n=100, method="inclusive")[round(q * 100) - 1]

    def line(self, what: str) -> str:
        """One line: count, concurrency-free summary of the times."""
        return (
            f"{what}: {len(self.calls)} requests in {self.wall:.1f} s, "
            f"median {statistics.median(self.seconds) * 1000:.0f} ms, "
            f"p95 {self.quantile(0.95) * 1000:.0f} ms, max {max(self.seconds) * 1000:.0f} ms, "
            f"{len(self.wrong)} errors"
        )


def run_load(base: str, calls: Sequence[Call], *, concurrency: int = 8) -> LoadResult:
    """Send ``calls`` to ``base`` from ``concurrency`` threads; wait for all."""

    def one(c: Call) -> tuple[int, float]:
        r = request(base + c.path, form=c.form)
        return r.status, r.seconds

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as ex:
        out = list(ex.map(one, calls))
    wall = time.perf_counter() - t0
    return LoadResult(tuple(calls), tuple(s for s, _ in out), tuple(t for _, t in out), wall)


PAGE_MIX = (
    Call("/"),
    Call("/explorer"),
    Call("/about"),
    Call("/reports"),
    Call("/static/style.css"),
    Call("/static/app.js"),
    Call("/aid", {"age_years": "four"}, 400),
    Call(
        "/explorer",
        {"stratum": "SR-Average", "cycles": "9", "dose": "15", "placement": "spread"},
        400,
    ),
)
"""What a user's browser asks for, the server's checks included (no model call)."""


def page_calls(n: int) -> list[Call]:
    """``n`` calls cycling through :data:`PAGE_MIX`."""
    return [PAGE_MIX[i % len(PAGE_MIX)] for i in range(n)]


def child(i: int) -> dict[str, str]:
    """The i-th of a set of different children (so no two predictions are the same)."""
    return {
        "age_years": f"{2 + (i % 7) + 0.25 * (i % 4):g}",
        "sex": ("female", "male")[i % 2],
        "wbc_k_per_ul": f"{5 + 3 * (i % 10)}",
        "cns": "1",
        "genetics": ("favorable", "neutral", "unfavorable")[i % 3],
        "down_syndrome": "no",
        "eoi_flow": "0",
        "horizon": "5",
    }
