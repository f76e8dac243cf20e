"""replicate: identical numbers on 1 worker, 2 workers and Dask; resumable checkpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from blinasim.errors import InputError
from blinasim.trial.design import design_from_dict
from blinasim.trial.operating import replicate
from blinasim.trial.run import run_trial

from .conftest import small_doc

N = 60
BLOCK = 20


def _same(a, b) -> None:
    for name in (
        "replicate",
        "z",
        "decision",
        "stop_look",
        "report_z",
        "hr_logrank",
        "dfs_milestone",
        "n_randomized",
        "duration_days",
        "look_events",
    ):
        np.testing.assert_array_equal(
            getattr(a.outcomes, name), getattr(b.outcomes, name), err_msg=name
        )
    assert a.rejection_probability == b.rejection_probability


@pytest.fixture(scope="module")
def design():
    return design_from_dict(small_doc())


@pytest.fixture(scope="module")
def serial(design):
    return replicate(design, N, seed=7, workers=1, block_size=BLOCK)


def test_operating_characteristics_are_coherent(serial, design) -> None:
    oc = serial
    assert oc.n_replicates == N
    assert 0 <= oc.rejection_probability <= 1
    stops = oc.stop_efficacy + oc.stop_futility + oc.stop_harm
    assert stops.sum() <= 1 + 1e-12
    assert oc.stop_efficacy.sum() == pytest.approx(oc.rejection_probability)
    assert len(oc.replicates_frame()) == N
    assert set(oc.looks_frame()["look"]) <= {1, 2}
    assert not oc.summary_frame().empty
    # replicate r is run_trial(seed, replicate=r)
    one = run_trial(design, seed=7, replicate=13)
    assert one.estimates.logrank_z == pytest.approx(oc.outcomes.report_z[13])


def test_block_size_does_not_change_numbers(serial, design) -> None:
    _same(serial, replicate(design, N, seed=7, workers=1, block_size=7))


def test_two_workers_equal_one(serial, design) -> None:
    _same(serial, replicate(design, N, seed=7, workers=2, block_size=BLOCK))


def test_dask_local_cluster_equals_one_worker(serial, design) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        _same(serial, replicate(design, N, seed=7, scheduler=client, block_size=BLOCK))
        # by address, as `--scheduler tcp://host:port` does
        by_address = replicate(
            design, N, seed=7, scheduler=cluster.scheduler_address, block_size=BLOCK
        )
        _same(serial, by_address)


def test_checkpoint_mismatch_is_one_line_error(tmp_path: Path, design) -> None:
    replicate(design, 20, seed=1, workers=1, block_size=10, checkpoint_dir=tmp_path)
    with pytest.raises(InputError) as exc:
        replicate(design, 20, seed=2, workers=1, block_size=10, checkpoint_dir=tmp_path)
    assert "seed" in str(exc.value)
    assert "\n" not in str(exc.value)
    other = design_from_dict({**small_doc(), "name": "other"})
    with pytest.raises(InputError, match="design_hash"):
        replicate(other, 20, seed=1, workers=1, block_size=10, checkpoint_dir=tmp_path)


def test_checkpoint_reuses_blocks(tmp_path: Path, design, serial) -> None:
    calls: list[int] = []
    first = replicate(design, N, seed=7, workers=1, block_size=BLOCK, checkpoint_dir=tmp_path)
    _same(serial, first)
    (tmp_path / ".tmp-leftover").write_bytes(b"partial")
    again = replicate(
        design,
        N,
        seed=7,
        workers=1,
        block_size=BLOCK,
        checkpoint_dir=tmp_path,
        progress=lambda d, n: calls.append(d),
    )
    _same(serial, again)
    assert calls == [N]  # everything came from the checkpoint


SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from trial.conftest import small_doc
    from blinasim.trial.design import design_from_dict
    from blinasim.trial.operating import replicate
    d = design_from_dict(small_doc())
    replicate(d, {n}, seed=7, workers=1, block_size={block}, checkpoint_dir=sys.argv[1],
              progress=lambda done, n: time.sleep({pause}))
    print("finished")
    """
)


def test_sigkill_and_resume_gives_the_uninterrupted_result(tmp_path: Path, design, serial) -> None:
    ck = tmp_path / "ck"
    script = tmp_path / "run.py"
    tests_dir = str(Path(__file__).resolve().parents[1])
    script.write_text(SCRIPT.format(tests=tests_dir, n=N, block=10, pause=1.0))
    log = tmp_path / "stderr.txt"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(ck)], stdout=subprocess.DEVNULL, stderr=err
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(list(ck.glob("block-*.npz"))) >= 2:
                break
            if proc.poll() is not None:
                pytest.fail(f"worker ended early: {log.read_text()[-500:]}")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = len(list(ck.glob("block-*.npz")))
    assert 2 <= done_before < N // 10
    calls: list[int] = []
    resumed = replicate(
        design,
        N,
        seed=7,
        workers=1,
        block_size=10,
        checkpoint_dir=ck,
        progress=lambda d, n: calls.append(d),
    )
    assert calls[0] == done_before * 10
    _same(serial, resumed)
    assert len(list(ck.glob("block-*.npz"))) == N // 10


def test_two_sided_design_rejects_for_harm() -> None:
    doc = small_doc()
    doc["outcomes"]["models"][2]["hazard_ratio"] = 3.0
    doc["monitoring"].update(sided=2, alpha=0.05)
    oc = replicate(design_from_dict(doc), 20, seed=3, workers=1)
    assert oc.stop_harm.sum() > 0.8
    assert oc.stop_efficacy.sum() == 0
    assert oc.rejection_probability == pytest.approx(oc.stop_harm.sum())
