import subprocess
import sys

from typer.testing import CliRunner

from blinasim.commands.protocol import app
from blinasim.protocol.loader import shipped_protocols

runner = CliRunner()


def test_list():
    r = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "aall1731" in r.output
    assert "aall1731_three_cycles" in r.output
    assert "example" in r.output


def test_show_one_arm():
    r = runner.invoke(app, ["show", "aall1731", "--arm", "B"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    for text in ("Arm B", "blina1", "blina2", "maintenance", "15 ug/m2/day CIV d1-28", "821"):
        assert text in r.output
    assert "Arm A:" not in r.output


def test_show_all_arms_and_bad_arm():
    r = runner.invoke(app, ["show", "aall1731"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for arm in ("Arm FAV", "Arm A", "Arm B", "Arm C", "Arm D"):
        assert arm in r.output
    r = runner.invoke(app, ["show", "aall1731", "--arm", "Z"])
    assert r.exit_code == 2


def test_validate_ok_and_error(tmp_path):
    example = str(shipped_protocols()["aall1731_three_cycles"])
    r = runner.invoke(
        app,
        ["validate", example],
        env={"COLUMNS": "200"},
    )
    assert r.exit_code == 0, r.output
    assert r.output.startswith("OK ")
    assert "B3: SR-Average" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\ndescription: d\nsource: 'assumption: t'\ninclude: aall1731\narms:\n  A2: {extends: A, edits: [{remove: IM9}]}\n"
    )
    # through the real entry point: one error line on stderr, exit status 2
    proc = subprocess.run(
        [sys.executable, "-m", "blinasim", "protocol", "validate", str(bad)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "arms.A2.edits[0].remove: expected a phase of the arm being extended" in lines[0]
    assert str(bad) in lines[0]
