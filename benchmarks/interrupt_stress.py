"""Stress test: Ctrl-C / SIGTERM a real `blinasim run` many times; does it always end in one line?

    .venv/bin/python benchmarks/interrupt_stress.py [--how ctrl-c|sigterm] [--runs 25]
        [--busy 3]

Each run starts ``blinasim run aall1731 -r 40 --workers 2`` in its own session, waits for
the first saved trial, then sends SIGINT to the whole process group (as a terminal's Ctrl-C
does) or SIGTERM to the main process, and waits up to 60 s. A run is good when it exits with
130 (143) and prints exactly one line on stderr; the script prints each bad run's stderr and
a count of hangs and bad runs. ``--busy K`` keeps K busy loops running meanwhile (load makes
the shutdown races of a process pool likelier). Takes ~1 minute per run under load.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _spin() -> None:
    while True:
        pass


def _done(out: Path) -> int:
    return len(list((out / "checkpoints").glob("r*.done.json")))


def one(out: Path, how: str) -> tuple[str, str]:
    cmd = [
        sys.executable, "-m", "blinasim", "run", "aall1731", "-r", "40", "--seed", "7",
        "--posterior", "none", "--workers", "2", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    end = time.monotonic() + 300
    while time.monotonic() < end and not ((out / "checkpoints").is_dir() and _done(out) >= 1):
        time.sleep(0.1)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "hang", ""
    code = 130 if how == "ctrl-c" else 143
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return ("good" if proc.returncode == code and len(lines) == 1 else "bad"), err


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--how", choices=("ctrl-c", "sigterm"), default="ctrl-c")
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--busy", type=int, default=3)
    a = ap.parse_args()
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(a.busy)]
    for s in spinners:
        s.start()
    tally = {"good": 0, "bad": 0, "hang": 0}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(a.runs):
                out = Path(tmp) / f"run{k}"
                verdict, err = one(out, a.how)
                tally[verdict] += 1
                print(f"run {k + 1}/{a.runs}: {verdict}", flush=True)
                if verdict == "bad":
                    print(err, flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        for s in spinners:
            s.terminate()
    print(f"{a.how}, {a.busy} busy loops: {tally['good']} good, {tally['bad']} bad, "
          f"{tally['hang']} hung, of {a.runs}")  # fmt: skip


if __name__ == "__main__":
    main()
