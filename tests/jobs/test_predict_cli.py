"""issue #16: ``blinasim predict`` on the command line."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest

import blinasim.commands.predict as predict_cmd
from blinasim.cli import main
from blinasim.jobs.predict import predict

SMALL = {"draws": 3, "candidates": 1200, "min_twins": 150, "max_twins_per_draw": 250}
CHILD = [
    "--age",
    "6",
    "--sex",
    "male",
    "--wbc",
    "12",
    "--cns",
    "1",
    "--genetics",
    "neutral",
    "--day8-mrd",
    "0.001",
    "--eoi-flow",
    "0",
    "--eoi-hts",
    "0.00002",
    "--eoc-flow",
    "0",
]


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's prediction with fewer draws and twins (the plumbing is the same)."""
    monkeypatch.setattr(predict_cmd, "predict_child", functools.partial(predict, **SMALL))


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--age", "six"], "--age"),
        (["--age", "-2"], "--age"),
        (["--sex", "girl"], "--sex"),
        (["--wbc", "lots"], "--wbc"),
        (["--cns", "3"], "--cns"),
        (["--genetics", "IKZF1"], "--genetics"),
        (["--day8-mrd", "2"], "--day8-mrd"),
        (["--eoi-flow", "1%"], "--eoi-flow"),
        (["--eoi-hts", "positive"], "--eoi-hts"),
        (["--eoc-flow", "-0.1"], "--eoc-flow"),
        (["--age", "14"], "--age"),
        (["--wbc", "80"], "--wbc"),
        (["--down-syndrome"], "--down-syndrome"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], flag: str
) -> None:
    code, _out, err = call(capsys, "predict", *args)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{flag}: expected" in lines[0]


def test_json_has_every_key(capsys: pytest.CaptureFixture[str], small: None) -> None:
    code, out, err = call(capsys, "predict", *CHILD, "--json", "--seed", "5")
    assert code == 0, err
    d = json.loads(out)
    for key in (
        "risk_group",
        "eligible_options",
        "unknown",
        "options",
        "model_version",
        "disclaimer",
        "source",
        "curves",
        "matching",
        "comparison",
    ):
        assert key in d, key
    assert d["risk_group"] == "SR-Average"
    assert d["eligible_options"] == ["chemotherapy", "blinatumomab"]
    assert d["unknown"] == ["down_syndrome"]
    for opt in d["eligible_options"]:
        o = d["options"][opt]
        for m in ("dfs", "os", "relapse", "hsct"):
            assert set(o[m]) == {"3", "5", "10"}
        for h in ("3", "5", "10"):
            assert sum(o["icons"][h].values()) == 100
    again = call(capsys, "predict", *CHILD, "--json", "--seed", "5")[1]
    assert json.loads(again) == d


def test_text_output(capsys: pytest.CaptureFixture[str], small: None) -> None:
    code, out, err = call(capsys, "predict", "--age", "4", "--eoi-hts", "indeterminate")
    assert code == 0, err
    assert "Out of 100 children like yours" in out
    assert "talk with your child's oncologist" in out
    assert "not medical advice" in out
    assert "Not known, so averaged over" in out
    assert "genetics" in out


def test_predict_in_help_of_a_subprocess() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "blinasim", "predict", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0
    for flag in ("--age", "--eoi-hts", "--eoc-flow", "--down-syndrome", "--json", "--seed"):
        assert flag in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "blinasim", "predict", "--eoi-flow", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
