import subprocess
import sys

from blinasim import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blinasim", *args], capture_output=True, text=True, check=False
    )


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"blinasim {__version__}"


def test_help_mentions_not_medical_advice():
    out = run("--help")
    assert out.returncode == 0
    assert "not medical advice" in out.stdout


def test_unknown_command_exits_2_without_traceback():
    out = run("no-such-command")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
