"""``blinasim serve`` options: bad ones are one line and exit 2; another address warns."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from blinasim.commands.serve import serve_config

from .conftest import free_port


def blinasim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blinasim", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--port", "70000"], "--port: expected a port from 0 to 65535"),
        (["--host", "bad host"], "--host: expected a host name or IP address"),
        (["--results", "pyproject.toml"], "--results: expected a folder of results"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], words: str) -> None:
    r = blinasim("serve", *args)
    assert r.returncode == 2
    assert words in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_help_names_the_options() -> None:
    r = blinasim("serve", "--help")
    assert r.returncode == 0
    for opt in ("--host", "--port", "--results"):
        assert opt in r.stdout


def test_allowed_hosts_follow_the_address() -> None:
    assert serve_config("127.0.0.1", 8000, Path("results")).allowed_hosts == (
        "127.0.0.1",
        "localhost",
    )
    assert serve_config("0.0.0.0", 8000, Path("results")).allowed_hosts == ("*",)
    assert serve_config("10.1.2.3", 8000, Path("results")).allowed_hosts[-1] == "10.1.2.3"


def test_listening_beyond_this_computer_warns(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "blinasim",
                "serve",
                "--host",
                "0.0.0.0",
                "--port",
                str(port),
                "--results",
                str(tmp_path),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    text = log.read_text()
    assert "warning: listening on 0.0.0.0" in text
    assert "not medical advice" in text
