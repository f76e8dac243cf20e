"""issue #11: ``blinasim trial`` options, folders, interruptions and written files."""

from __future__ import annotations

import importlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from blinasim.cli import main
from blinasim.interrupt import Terminated

from .conftest import small_doc

# the CLI calls ``operating.replicate`` through the module, so patching the module works
operating = importlib.import_module("blinasim.trial.operating")


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``blinasim trial ...`` in-process; (exit code, stdout, stderr)."""
    code = 0
    try:
        main(["trial", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def design(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(small_doc()))
    (tmp_path / "afile").write_text("")
    return "small.yaml"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--out", "afile"], "afile: --out: expected a folder for the results"),
        (["run", "--out", "/dev/null"], "/dev/null: --out: expected a folder"),
        (["run", "--seed", "-1"], "--seed: expected a non-negative integer seed, got -1"),
        (["replicate", "--out", "afile"], "afile: --out: expected a folder for the results"),
        (["replicate", "--out", "/dev/null"], "/dev/null: --out: expected a folder"),
        (["replicate", "--n", "0"], "--n: expected at least 1 simulated trial, got 0"),
        (["replicate", "--seed", "-3"], "--seed: expected a non-negative integer seed"),
        (["replicate", "--workers", "0"], "--workers: expected at least 1 worker process"),
        (["replicate", "--block-size", "0"], "--block-size: expected at least 1 replicate"),
        (
            ["replicate", "--workers", "1", "--scheduler", "tcp://x:1"],
            "--scheduler: expected either --workers or --scheduler, not both",
        ),
        (
            ["replicate", "--out", "o", "--checkpoint-dir", "afile"],
            "afile: --checkpoint-dir: expected a folder for the results",
        ),
    ],
)
def test_bad_options_are_one_line(
    design: str, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    cmd, *rest = args
    line = one_line(*call(capsys, cmd, design, *rest)[::2])
    assert expected in line


def test_another_runs_folder_is_refused(
    design: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "manifest.json").write_text(json.dumps({"kind": "compare"}))
    for cmd in ("run", "replicate"):
        line = one_line(*call(capsys, cmd, design, "--out", "cmp")[::2])
        assert f"cmp: --out: expected a folder for trial.{cmd} results" in line
    assert call(capsys, "run", design, "--seed", "2", "--out", "r")[0] == 0
    line = one_line(*call(capsys, "run", design, "--seed", "3", "--out", "r")[::2])
    assert "r: --out: expected a folder of an earlier trial.run run with the same seed" in line


def test_manifest_has_no_machine_paths_and_files_are_0644(
    design: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--n", "10", "--workers", "1", "--block-size", "5"]
    code, _, err = call(capsys, "replicate", str(tmp_path / design), *args, "--out", "oc")
    assert code == 0, err
    man = json.loads((tmp_path / "oc" / "manifest.json").read_text())
    assert man["design_file"] == "small.yaml"
    assert man["checkpoint_dir"] == "oc/checkpoints"
    assert str(tmp_path) not in (tmp_path / "oc" / "manifest.json").read_text()
    for f in (tmp_path / "oc").iterdir():
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == 0o644, f.name
    code, _, err = call(capsys, "run", "aall1731_parametric", "--out", "r")
    assert code == 0, err
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["design_file"] == (
        "aall1731_parametric.yaml"
    )


@pytest.mark.parametrize(
    ("exc", "code", "word"),
    [(KeyboardInterrupt, 130, "interrupted"), (Terminated, 143, "terminated")],
)
def test_interrupted_replicate_says_what_is_saved(
    design: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    exc: type[BaseException],
    code: int,
    word: str,
) -> None:
    def stop(*_a: object, progress: object = None, **_k: object) -> None:
        assert callable(progress)
        progress(20, 50)
        raise exc()

    monkeypatch.setattr(operating, "replicate", stop)
    got, _out, err = call(
        capsys, "replicate", design, "--n", "50", "--block-size", "10", "--out", "o"
    )
    assert got == code
    assert err.strip() == (
        f"{word}: 20 of 50 simulated trials saved in o/checkpoints (checkpoints of 10); run "
        "the same command again to resume"
    )


def test_ctrl_c_and_sigterm_in_a_real_run_then_resume(tmp_path: Path) -> None:
    """A real signal to a real process: one line, 130 / 143, and the run resumes."""
    args = [
        sys.executable,
        "-m",
        "blinasim",
        "trial",
        "replicate",
        "aall1731_parametric",
        "--n",
        "400000",
        "--workers",
        "1",
        "--block-size",
        "500",
        "--out",
        "o",
    ]
    env = {**os.environ, "COLUMNS": "200"}
    saved: list[int] = []
    for sig, code, word in (
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated"),
    ):
        proc = subprocess.Popen(
            args,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # a test run from a background job inherits an ignored SIGINT: undo that
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            deadline = time.monotonic() + 120
            ck = tmp_path / "o" / "checkpoints"
            before = len(list(ck.glob("block-*.npz")))
            # signal once this run has saved a block of its own (its handlers are set)
            while time.monotonic() < deadline and len(list(ck.glob("block-*.npz"))) <= before:
                time.sleep(0.2)
            proc.send_signal(sig)
            _out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == code, err
        assert "Traceback" not in err
        line = err.strip().splitlines()[-1]
        assert line.startswith(f"{word}: ")
        assert "of 400000 simulated trials saved in o/checkpoints" in line
        assert line.endswith("run the same command again to resume")
        saved.append(int(line.split(": ", 1)[1].split(" of ")[0]))
    assert saved[0] >= 500
    assert saved[1] > saved[0]  # the second run resumed from the first one's checkpoints
