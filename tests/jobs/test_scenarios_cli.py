"""issue #11: ``blinasim compare`` folders, bad options, interruptions, written files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import blinasim.jobs.scenarios as compare_mod
from blinasim.cli import main
from blinasim.errors import InputError
from blinasim.interrupt import Interrupted, Terminated
from blinasim.jobs.scenarios import run_comparison


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``blinasim ...`` in-process; (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
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
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_folder_is_fresh_and_outputs_are_clean(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = call(capsys, "compare", "aall1731", "--n", "200", "--seed", "3")
    assert code == 0, err
    (folder,) = (in_tmp / "results").iterdir()
    assert folder.name.startswith("compare-aall1731-20")  # compare-<base>-<UTC timestamp>
    assert f"report: results/{folder.name}/report.html" in " ".join(out.split())
    for name in ("report.html", "comparison.csv", "comparison.json", "manifest.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644, name
        assert str(in_tmp) not in (folder / name).read_text(), name
    man = json.loads((folder / "manifest.json").read_text())
    assert man["kind"] == "compare"
    assert man["inputs"] == {"n": 200, "protocols": [{"protocol": "aall1731"}], "seed": 3}


def test_another_runs_folder_is_refused(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = in_tmp / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"kind": "aall1731-replication"}))
    line = one_line(*call(capsys, "compare", "--n", "200", "--out", "run")[::2])
    assert "run: --out: expected a folder for compare results" in line
    assert "aall1731-replication" in line
    # results without a manifest (an older version's, or another tool's) are refused too
    old = in_tmp / "old"
    old.mkdir()
    (old / "summary.json").write_text("{}")
    line = one_line(*call(capsys, "compare", "--n", "200", "--out", "old")[::2])
    assert "another run's summary.json" in line


def test_same_inputs_may_rewrite_other_inputs_may_not(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(capsys, "compare", "--n", "200", "--out", "c")[0] == 0
    assert call(capsys, "compare", "--n", "200", "--out", "c")[0] == 0
    line = one_line(*call(capsys, "compare", "--n", "300", "--out", "c")[::2])
    assert "c: --out: expected a folder of an earlier compare run with the same inputs" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--out", "afile"],
            "afile: --out: expected a folder for the results (this path is a file)",
        ),
        (["--out", "/dev/null"], "/dev/null: --out: expected a folder"),
        (["--seed", "-1"], "--seed: expected a non-negative integer seed, got -1"),
        (["--n", "10"], "--n: expected at least 100 children, got 10"),
        (["--protocol", "nope.yaml"], "nope.yaml"),
    ],
)
def test_bad_options_are_one_line(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    (in_tmp / "afile").write_text("")
    line = one_line(*call(capsys, "compare", "aall1731", "--n", "200", *args)[::2])
    assert expected in line
    assert not (in_tmp / "results").exists()  # checked before any folder is made


@pytest.mark.parametrize(
    ("signal_exc", "code", "word"),
    [(KeyboardInterrupt, 130, "interrupted"), (Terminated, 143, "terminated")],
)
def test_interruption_is_one_line(
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    signal_exc: type[BaseException],
    code: int,
    word: str,
) -> None:
    def stop(*_a: object, **_k: object) -> None:
        raise signal_exc()

    monkeypatch.setattr(compare_mod, "compare_protocols", stop)
    got, _out, err = call(capsys, "compare", "--n", "200", "--out", "c")
    assert got == code
    assert "Traceback" not in err
    assert err.strip() == (
        f"{word}: the comparison was not finished and nothing was written to c; compare "
        "keeps no checkpoints: run the same command again"
    )


def test_signal_inside_compiled_code_is_still_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a signal handler raising inside a numba kernel surfaces as a SystemError chain
    def stop(*_a: object, **_k: object) -> None:
        try:
            raise Terminated()
        except Terminated as exc:
            raise SystemError("returned a result with an exception set") from exc

    monkeypatch.setattr(compare_mod, "compare_protocols", stop)
    with pytest.raises(Interrupted) as info:
        run_comparison(["aall1731"], n=200, seed=1, out=tmp_path / "c")
    assert info.value.exit_code == 143


def test_bad_n_refused_before_work() -> None:
    with pytest.raises(InputError, match="at least 100 children"):
        run_comparison(["aall1731"], n=5, seed=1, out=None)
