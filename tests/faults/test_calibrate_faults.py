"""Faults of `blinasim calibrate` as a user meets them: bad checkpoints, bad folders, signals.

Checkpoints truncated, with bytes flipped, swapped between the stages, of another config or
of changed model inputs, or replaced by a malicious pickle; --out a file, /dev/null or
read-only, or holding another run; Ctrl-C, SIGTERM and kill -9 of the command line. All on
the toy simulator of tests/calibrate (a calibration of a few seconds).
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from blinasim.calibrate.config import load_config
from blinasim.calibrate.importance import CHECKPOINT_IS, load_importance, run_importance
from blinasim.calibrate.sampler import CHECKPOINT, load_chain, run_sampler
from blinasim.errors import InputError

CAL = Path(__file__).resolve().parent.parent / "calibrate"
if str(CAL) not in sys.path:  # the toy simulator (toy_sim:ToySimulator)
    sys.path.insert(0, str(CAL))
SHIPPED = "posterior_aall1731_v3"


def _config(folder: Path, **changes: object) -> Path:
    """The two-stage toy config (30 emcee steps, 200 importance draws) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    targets = folder / "toy_targets.yaml"
    if not targets.exists():
        shutil.copy(CAL / "toy_targets.yaml", targets)
    doc = yaml.safe_load((CAL / "toy_config.yaml").read_text())
    doc["targets_file"] = "toy_targets.yaml"
    doc["sampler"].update({"steps": 30, "burn_in": 10, "checkpoint_every": 5})
    doc["importance"] = {"draws": 200, "batch": 32}
    for key, val in changes.items():
        if isinstance(val, dict):
            doc[key] = {**doc.get(key, {}), **val}
        else:
            doc[key] = val
    p = folder / "config.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def _stages(config: Path, out: Path, warnings: list[str] | None = None) -> tuple[object, object]:
    """Both stages in-process (serial), resuming from ``out``; warnings collected."""
    cfg = load_config(config)
    warn = warnings.append if warnings is not None else None
    chain = run_sampler(cfg, out, workers=1, warn=warn)
    run = run_importance(cfg, chain, out, workers=1, warn=warn)
    return chain, run


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An uninterrupted two-stage run: (config, folder with both checkpoints)."""
    root = tmp_path_factory.mktemp("ref")
    config = _config(root / "c")
    _stages(config, root / "out")
    return config, root / "out"


def _same_as_ref(ref_out: Path, out: Path) -> None:
    a, b = load_chain(ref_out / CHECKPOINT), load_chain(out / CHECKPOINT)
    np.testing.assert_array_equal(a.chain, b.chain)
    np.testing.assert_array_equal(a.log_prob, b.log_prob)
    ia, ib = load_importance(ref_out / CHECKPOINT_IS), load_importance(out / CHECKPOINT_IS)
    np.testing.assert_array_equal(ia.log_weights, ib.log_weights)
    np.testing.assert_array_equal(ia.theta, ib.theta)


class _Plant:
    """Unpickling this creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


def _malicious(marker: Path) -> bytes:
    return pickle.dumps(_Plant(marker))


# --- checkpoint files -------------------------------------------------------------------


def test_checkpoints_are_npz_archives_without_pickles(ref: tuple[Path, Path]) -> None:
    _, out = ref
    for name in (CHECKPOINT, CHECKPOINT_IS):
        with np.load(out / name, allow_pickle=False) as z:
            assert "__header__" in z.files
            assert all(not z[n].dtype.hasobject for n in z.files)
        assert (out / name).stat().st_mode & 0o777 == 0o644
    assert not list(out.glob("*.pkl"))


FAULTS = ("truncated", "flipped", "empty", "swapped", "random bytes")


def _damage(path: Path, fault: str, other: Path) -> None:
    data = path.read_bytes()
    if fault == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif fault == "flipped":
        b = bytearray(data)
        rnd = random.Random(3)
        for i in rnd.sample(range(len(b) // 4, 3 * len(b) // 4), 8):  # in the arrays
            b[i] ^= 0xFF
        path.write_bytes(bytes(b))
    elif fault == "empty":
        path.write_bytes(b"")
    elif fault == "swapped":
        shutil.copy(other, path)
    else:
        path.write_bytes(random.Random(5).randbytes(4096))


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("stage", [1, 2])
def test_damaged_checkpoint_is_one_warning_then_the_stage_restarts(
    ref: tuple[Path, Path], tmp_path: Path, stage: int, fault: str
) -> None:
    config, ref_out = ref
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    name, other = (CHECKPOINT, CHECKPOINT_IS) if stage == 1 else (CHECKPOINT_IS, CHECKPOINT)
    _damage(out / name, fault, out / other)
    warnings: list[str] = []
    _stages(config, out, warnings)
    assert len(warnings) == 1, warnings
    assert name in warnings[0]
    assert "starting that stage again" in warnings[0]
    assert "\n" not in warnings[0]
    if fault == "swapped":
        assert "stage" in warnings[0]
        assert "not a" in warnings[0]
    _same_as_ref(ref_out, out)  # rewritten, and the same numbers


def test_a_flipped_bit_in_the_data_fails_the_checksum(
    ref: tuple[Path, Path], tmp_path: Path
) -> None:
    """A change the zip format does not see (an array rewritten with valid CRCs) is caught."""
    import io

    from blinasim.calibrate.checkpoints import CheckpointError, read_checkpoint

    _, ref_out = ref
    with np.load(ref_out / CHECKPOINT, allow_pickle=False) as z:
        members = {n: z[n] for n in z.files}
    members["chain"] = members["chain"].copy()
    members["chain"].flat[7] = np.nextafter(members["chain"].flat[7], np.inf)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **members)
    bad = tmp_path / CHECKPOINT
    bad.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="checksum"):
        read_checkpoint(bad, "stage1")


@pytest.mark.parametrize("stage", [1, 2])
def test_a_malicious_pickle_is_never_unpickled(
    ref: tuple[Path, Path], tmp_path: Path, stage: int
) -> None:
    config, ref_out = ref
    marker = tmp_path / "pwned"
    # the payload works: unpickling it creates the marker
    pickle.loads(_malicious(tmp_path / "proof"))
    assert (tmp_path / "proof").exists()
    out = tmp_path / "out"
    out.mkdir()
    if stage == 2:
        shutil.copy(ref_out / CHECKPOINT, out / CHECKPOINT)
        names = [CHECKPOINT_IS, "checkpoint_importance.pkl"]
    else:
        names = [CHECKPOINT, "checkpoint.pkl", "checkpoint_importance.pkl"]
    for n in names:
        (out / n).write_bytes(_malicious(marker))
    warnings: list[str] = []
    _stages(config, out, warnings)
    assert not marker.exists()
    assert any("starting that stage again" in w for w in warnings), warnings
    _same_as_ref(ref_out, out)


def test_legacy_pickle_checkpoints_are_named_and_ignored(
    ref: tuple[Path, Path], tmp_path: Path
) -> None:
    config, ref_out = ref
    marker = tmp_path / "pwned"
    out = tmp_path / "out"
    out.mkdir()
    for n in ("checkpoint.pkl", "checkpoint_importance.pkl"):
        (out / n).write_bytes(_malicious(marker))
    warnings: list[str] = []
    _stages(config, out, warnings)
    assert not marker.exists()
    assert len(warnings) == 2, warnings
    assert all("never read" in w for w in warnings), warnings
    _same_as_ref(ref_out, out)


def test_checkpoint_of_another_config_is_a_one_line_error(
    ref: tuple[Path, Path], tmp_path: Path
) -> None:
    _, ref_out = ref
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    other = _config(tmp_path / "seed8", seed=8)
    with pytest.raises(InputError, match="same config") as exc:
        _stages(other, out)
    assert "--fresh" in str(exc.value)
    assert "\n" not in str(exc.value)
    # another stage-2 setting: stage 1 resumes, stage 2 is refused (redo it with --fresh-stage2)
    scale = _config(tmp_path / "scale", importance={"scale": 2.0})
    with pytest.raises(InputError, match="fresh-stage2"):
        _stages(scale, out)


def test_stale_checkpoint_after_a_model_input_changed(
    ref: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same config, but the target file's contents, the parameter file or the version changed."""
    import blinasim._version
    import blinasim.config
    from blinasim.calibrate.checkpoints import input_hashes

    config, ref_out = ref
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    moved = tmp_path / "c"
    shutil.copytree(config.parent, moved)
    with (moved / "toy_targets.yaml").open("a") as fh:
        fh.write("# edited\n")
    cfg = load_config(moved / "config.yaml")
    with pytest.raises(InputError, match="the target file changed"):
        run_sampler(cfg, out, workers=1)
    params = tmp_path / "parameters.yaml"
    params.write_text(blinasim.config.default_parameters_path().read_text() + "# edited\n")
    before = input_hashes(None)
    monkeypatch.setattr(blinasim.config, "default_parameters_path", lambda: params)
    assert input_hashes(None)["parameters_sha256"] != before["parameters_sha256"]
    with pytest.raises(InputError, match="the parameter file changed"):
        run_sampler(load_config(config), out, workers=1)
    monkeypatch.undo()
    monkeypatch.setattr(blinasim._version, "__version__", "9.9.9")
    with pytest.raises(InputError, match="the blinasim version changed"):
        run_sampler(load_config(config), out, workers=1)


# --- the command line -------------------------------------------------------------------


def _cli(config: Path, out: Path | str, *extra: str, workers: int = 1) -> list[str]:
    return [
        sys.executable,
        *("-m", "blinasim", "calibrate", "--config", str(config)),
        *("--workers", str(workers), "--out", str(out), "--no-checks", *extra),
    ]


def _env(sleep_s: float = 0.0) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(CAL), "BLINASIM_TOY_SLEEP_S": str(sleep_s)}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a shell's background job ignores SIGINT


def _run(args: list[str], sleep_s: float = 0.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=_env(sleep_s), capture_output=True, text=True, timeout=180)


def _posterior(out: Path) -> Path:
    found = sorted(out.glob("posterior_*.csv"))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def cli_ref(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An uninterrupted run of the command line: (config, output folder)."""
    root = tmp_path_factory.mktemp("cli")
    config = _config(root / "c")
    r = _run(_cli(config, root / "ref"))
    assert r.returncode == 0, r.stderr
    return config, root / "ref"


def test_outputs_have_their_own_name_and_no_machine_paths(cli_ref: tuple[Path, Path]) -> None:
    config, out = cli_ref
    csv = _posterior(out)
    assert SHIPPED not in csv.name
    assert "_user-" in csv.name
    assert csv.with_suffix(".json").exists()
    for f in ("report.json", "report.html", csv.with_suffix(".json").name, csv.name):
        text = (out / f).read_text()
        assert str(config.parent) not in text, f
        assert str(out) not in text, f


@pytest.mark.parametrize("kind", ["file", "devnull", "readonly"])
def test_bad_out_is_one_line_exit_2(cli_ref: tuple[Path, Path], tmp_path: Path, kind: str) -> None:
    config, _ = cli_ref
    if kind == "file":
        out: Path | str = tmp_path / "a_file"
        (tmp_path / "a_file").write_text("x")
    elif kind == "devnull":
        out = "/dev/null"
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write a read-only folder")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        out = ro / "out"
    r = _run(_cli(config, out))
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--out" in r.stderr
    assert "Traceback" not in r.stderr


def test_another_runs_folder_is_refused_then_fresh_replaces_it(
    cli_ref: tuple[Path, Path], tmp_path: Path
) -> None:
    _, ref_out = cli_ref
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    other = _config(tmp_path / "c8", seed=8)
    r = _run(_cli(other, out))
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr
    assert "another --out" in r.stderr
    assert "made with another config" in r.stderr
    assert "--fresh" in r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    r = _run(_cli(other, out, "--fresh"))
    assert r.returncode == 0, r.stderr
    assert _posterior(out).name != _posterior(ref_out).name  # the old one is gone


def test_fresh_stage2_redoes_stage_2_only(cli_ref: tuple[Path, Path], tmp_path: Path) -> None:
    config, ref_out = cli_ref
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    stage1 = (out / CHECKPOINT).read_bytes()
    scaled = _config(tmp_path / "c2", importance={"scale": 2.0})
    r = _run(_cli(scaled, out))
    assert r.returncode == 2, r.stderr
    assert "--fresh-stage2" in r.stderr
    r = _run(_cli(scaled, out, "--fresh-stage2"))
    assert r.returncode == 0, r.stderr
    assert (out / CHECKPOINT).read_bytes() == stage1  # stage 1 resumed, not redone
    assert load_importance(out / CHECKPOINT_IS).draws == 200
    # and back: the original settings redo stage 2 and give the reference posterior again
    r = _run(_cli(config, out, "--fresh-stage2"))
    assert r.returncode == 0, r.stderr
    assert _posterior(out).read_bytes() == _posterior(ref_out).read_bytes()


def test_corrupt_checkpoint_on_the_command_line(cli_ref: tuple[Path, Path], tmp_path: Path) -> None:
    config, ref_out = cli_ref
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    data = (out / CHECKPOINT_IS).read_bytes()
    (out / CHECKPOINT_IS).write_bytes(data[: len(data) - 100])
    r = _run(_cli(config, out))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("warning:")
    assert CHECKPOINT_IS in lines[0]
    assert _posterior(out).read_bytes() == _posterior(ref_out).read_bytes()


def _interrupt(config: Path, out: Path, sig: int, workers: int, when: str) -> tuple[int, str]:
    """Start the CLI (slowed toy), wait until ``when`` is checkpointed, send ``sig``."""
    proc = subprocess.Popen(
        _cli(config, out, workers=workers),
        env=_env(0.02),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    ck = out / (CHECKPOINT if when == "stage1" else CHECKPOINT_IS)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if ck.exists() and (when == "stage2" or load_chain(ck).steps >= 5):
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize(
    ("sig", "code", "word", "workers", "when"),
    [
        (signal.SIGINT, 130, "interrupted", 1, "stage1"),
        (signal.SIGTERM, 143, "terminated", 2, "stage2"),
    ],
)
def test_sigint_and_sigterm_are_one_line_then_resume_is_identical(
    cli_ref: tuple[Path, Path],
    tmp_path: Path,
    sig: int,
    code: int,
    word: str,
    workers: int,
    when: str,
) -> None:
    config, ref_out = cli_ref
    out = tmp_path / "out"
    rc, err = _interrupt(config, out, sig, workers, when)
    assert rc == code, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    stage = "stage 1 at step" if when == "stage1" else "stage 2 at draw"
    assert lines[0].startswith(f"{word}: "), lines[0]
    assert stage in lines[0], lines[0]
    assert "run the same command again to resume" in lines[0]
    r = _run(_cli(config, out))
    assert r.returncode == 0, r.stderr
    assert _posterior(out).read_bytes() == _posterior(ref_out).read_bytes()


def _progress(out: Path) -> tuple[int, int]:
    """(stage-1 steps, stage-2 draws) checkpointed in ``out`` (-1: no checkpoint yet)."""
    s1 = load_chain(out / CHECKPOINT).steps if (out / CHECKPOINT).exists() else -1
    s2 = load_importance(out / CHECKPOINT_IS).draws if (out / CHECKPOINT_IS).exists() else -1
    return s1, s2


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_is_byte_identical(
    cli_ref: tuple[Path, Path], tmp_path: Path
) -> None:
    """kill -9 during start-up, twice in stage 1 and twice in stage 2, each at a random
    point (random progress, then a random delay); then a clean finish (about 25 s)."""
    config, ref_out = cli_ref
    out = tmp_path / "out"
    rnd = random.Random(11)
    plan = [("start", 0), *sorted(("stage1", rnd.randint(1, 25)) for _ in range(2))]
    plan += sorted(("stage2", rnd.randint(1, 180)) for _ in range(2))
    at_kill = []
    for where, n in plan:
        proc = subprocess.Popen(
            _cli(config, out, workers=rnd.choice([1, 2])),
            env=_env(0.01),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while where != "start" and time.monotonic() < deadline and proc.poll() is None:
            s1, s2 = _progress(out)
            if (where == "stage1" and s1 >= n) or (where == "stage2" and s2 >= n):
                break
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.5, 2.0) if where == "start" else rnd.uniform(0.0, 0.3))
        if proc.poll() is None:  # (it may just have finished: then nothing to kill)
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        at_kill.append(_progress(out))
    assert any(0 <= s1 < 30 and s2 < 0 for s1, s2 in at_kill), at_kill  # killed in stage 1
    assert any(0 <= s2 < 200 for _, s2 in at_kill), at_kill  # killed in stage 2
    r = _run(_cli(config, out))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "warning" not in r.stderr
    assert _posterior(out).read_bytes() == _posterior(ref_out).read_bytes()
