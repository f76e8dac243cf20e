"""Faults of `blinasim run` as a user meets them: first run, kill -9, Ctrl-C, SIGTERM, orphans.

Each test drives the real command line in a subprocess.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

RESULTS = (
    "summary.json",
    "adtte.parquet",
    "patients.parquet",
    "looks.parquet",
    "estimates.parquet",
)


def _cmd(out: Path, replicates: int, workers: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "blinasim",
        "run",
        "aall1731",
        "-r",
        str(replicates),
        "--seed",
        "7",
        "--posterior",
        "none",
        "--workers",
        str(workers),
        "--out",
        str(out),
        *extra,
    ]


def _wait_for(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def _done(out: Path) -> int:
    return len(list((out / "checkpoints").glob("r*.done.json")))


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.slow  # 40 s; CI's `make demo` on a clean checkout runs the same first-run path
def test_first_run_with_an_empty_numba_cache_and_two_workers(tmp_path):
    """The crash a fresh clone's `make demo` hit: workers compiling on an empty cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    (tmp_path / "numba-cache").mkdir()
    out = subprocess.run(
        _cmd(tmp_path / "run", 2, 2), env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert (tmp_path / "run" / "report.html").exists()
    assert any((tmp_path / "numba-cache").rglob("*.nbi")), "numba compiled into the new cache"
    rep = subprocess.run(
        [
            sys.executable,
            "-m",
            "blinasim",
            "trial",
            "replicate",
            "aall1731_parametric",
            "--n",
            "4",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "trials"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rep.returncode == 0, rep.stderr[-2000:]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a shell's background job ignores SIGINT


def _start(cmd: list[str], *, capture: bool = True) -> subprocess.Popen[str]:
    # without capture: a killed main process's workers hold inherited pipes open; Ctrl-C as
    # in a terminal even when the tests run from a background job (which ignores SIGINT)
    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        cmd,
        stdout=pipe,
        stderr=pipe,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


@pytest.mark.parametrize(
    ("how", "code", "word"), [("ctrl-c", 130, "interrupted"), ("sigterm", 143, "terminated")]
)
def test_interruption_is_one_line_and_leaves_no_workers(tmp_path, how, code, word):
    out = tmp_path / "run"
    proc = _start(_cmd(out, 40, 2))
    try:
        assert _wait_for(lambda: (out / "checkpoints").is_dir() and _done(out) >= 1, 240)
        family = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        if how == "ctrl-c":  # the terminal sends SIGINT to the whole foreground group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        _stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # hung: kill the group and reap it (no leaked pipes)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{word}: ")
    assert "simulated trials are saved in" in lines[0]
    assert "run the same command again to resume" in lines[0]
    assert _wait_for(lambda: not _alive(family), 15), f"workers left: {_alive(family)}"


def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    out = tmp_path / "run"
    proc = _start(_cmd(out, 40, 2), capture=False)
    try:
        assert _wait_for(
            lambda: len(psutil.Process(proc.pid).children(recursive=True)) >= 3, 120
        ), "no pool started"
        time.sleep(1.0)
        family = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        proc.kill()
        proc.wait(timeout=30)
        assert _wait_for(lambda: not _alive(family), 20), f"orphans: {_alive(family)}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_is_byte_identical(tmp_path):
    """kill -9 three times, each at a random moment after a random number of saved trials."""
    reps = 12
    ref = tmp_path / "ref"
    done = subprocess.run(_cmd(ref, reps, 1), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "killed"
    rnd = random.Random(20261201)
    for target in sorted(rnd.sample(range(0, reps - 1), 3)):
        proc = _start(_cmd(out, reps, 2), capture=False)
        # kill at a random moment once `target` trials are saved (0: during start-up)
        assert _wait_for(lambda t=target, p=proc: p.poll() is None and _done(out) >= t, 300)
        time.sleep(rnd.uniform(0.0, 0.8))
        assert proc.poll() is None, "the run finished before it could be killed"
        family = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        proc.kill()
        proc.wait(timeout=30)
        assert _wait_for(lambda family=family: not _alive(family), 20)
    final = subprocess.run(_cmd(out, reps, 2), capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr[-2000:]
    assert "Traceback" not in final.stderr
    for name in RESULTS:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
