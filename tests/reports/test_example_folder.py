"""issue #11: ``blinasim example`` refuses a results/example it cannot or must not write."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from blinasim.cli import main


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_example_folder_that_is_a_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "example").write_text("")
    code, _, err = call(capsys, "example")
    assert code == 2
    assert err.strip() == (
        "error: results/example: example output folder: expected a folder for the results "
        "(this path is a file)"
    )


def test_example_does_not_overwrite_another_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    demo = tmp_path / "results" / "example"
    demo.mkdir(parents=True)
    (demo / "manifest.json").write_text(json.dumps({"kind": "compare"}))
    code, _, err = call(capsys, "example")
    assert code == 2
    assert "results/example: example output folder: expected a folder for analysis results" in err
    assert "Traceback" not in err


def test_example_outputs_real_data_statement_no_paths_0644(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = call(capsys, "example")
    assert code == 0, err
    assert "reference arm: standard (recognised from TRT01P value 'standard')" in out
    assert "report: results/example/report.html" in out
    demo = tmp_path / "results" / "example"
    for name in ("report.html", "summary.json", "manifest.json"):
        assert stat.S_IMODE((demo / name).stat().st_mode) == 0o644
        assert str(tmp_path) not in (demo / name).read_text()
    # R's veteran data are real: no "predictions are simulations" statement
    assert "predictions are simulations" not in (demo / "report.html").read_text()
    assert call(capsys, "example")[0] == 0  # its own folder again: fine
