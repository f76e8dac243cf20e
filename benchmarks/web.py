"""The web app under load on loopback: ``blinasim serve`` in a subprocess, timed requests.

Prints one line per load: 200 page requests at concurrency 8 (the model idle, then with two
predictions running), warm predictions one at a time, and 8 different predictions sent at
once (concurrency 8: they queue for the one model worker, so the last waits for all), and one
scenario of the explorer run through to its results.

    .venv/bin/python benchmarks/web.py [--predictions N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from blinasim.web.explorer import N_CHILDREN  # noqa: E402
from web.conftest import start_server  # noqa: E402
from web.http_client import request  # noqa: E402
from web.load import Call, LoadResult, child, page_calls, run_load  # noqa: E402


def explorer_line(base: str) -> str:
    """Run one scenario of the explorer through to its results; its time as the job says."""
    form = {"stratum": "SR-Average", "cycles": "3", "dose": "10", "placement": "spread"}
    job = request(base + "/explorer", form=form).headers["location"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        st = json.loads(request(base + job + "/status").text)
        if st["state"] in ("done", "failed"):
            return (
                f"explorer scenario ({st['total']} draws x {N_CHILDREN:,} children): "
                f"{st['state']} in {st['seconds']:.1f} s"
            )
        time.sleep(0.2)
    return "explorer scenario: not finished in 600 s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictions", type=int, default=8, help="predictions sent at once")
    ap.add_argument("--sequential", type=int, default=5, help="warm predictions one at a time")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}; one model worker (the default of blinasim serve)")
    with tempfile.TemporaryDirectory() as tmp:
        proc, srv = start_server(Path(tmp))
        try:
            run_load(srv.url, page_calls(16))
            res = run_load(srv.url, page_calls(200), concurrency=8)
            print(res.line("pages, model idle, concurrency 8"))
            first = run_load(srv.url, [Call("/aid", child(99))], concurrency=1)
            print(first.line("first prediction after start (loads or compiles the kernels)"))
            busy: list[LoadResult] = []
            t = threading.Thread(
                target=lambda: busy.append(
                    run_load(srv.url, [Call("/aid", child(i)) for i in (90, 91)], concurrency=2)
                )
            )
            t.start()
            res = run_load(srv.url, page_calls(200), concurrency=8)
            t.join()
            print(res.line("pages, 2 predictions running, concurrency 8"))
            print(busy[0].line("  (those 2 predictions)"))
            seq = run_load(
                srv.url, [Call("/aid", child(i)) for i in range(args.sequential)], concurrency=1
            )
            print(seq.line("predictions one at a time (warm)"))
            n = args.predictions
            par = run_load(srv.url, [Call("/aid", child(50 + i)) for i in range(n)], concurrency=n)
            print(par.line(f"predictions, {n} at once"))
            print(explorer_line(srv.url))
            bad = [r for r in (first, res, seq, par, *busy) if r.wrong]
            return 1 if bad else 0
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
