"""The web app started as a user starts it: ``blinasim serve`` in a subprocess, free port.

The results folder is a temporary one holding one run report and, beside it (outside the
folder), a file that no request may reach.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import reports.browser as browser_module
from reports.browser import Browser, find_chromium

SECRET = "top-secret-outside-results"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running ``blinasim serve``."""

    url: str
    results: Path
    log: Path


def start_server(tmp: Path, *, port: int | None = None) -> tuple[subprocess.Popen[bytes], Server]:
    """Start ``python -m blinasim serve`` with a results folder in ``tmp``; wait until it answers."""
    results = tmp / "results"
    run = results / "run-one"
    run.mkdir(parents=True)
    (run / "report.html").write_text("<!doctype html><title>r</title><p>run report one</p>")
    (run / "manifest.json").write_text(json.dumps({"kind": "run"}))
    (run / "summary.json").write_text(json.dumps({"ok": 1}))
    (run / "patients.parquet").write_bytes(b"PAR1 not served")
    (tmp / "secret.txt").write_text(SECRET)
    (results / ".hidden").mkdir()
    (results / ".hidden" / "report.html").write_text(SECRET)
    port = port or free_port()
    log = tmp / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "blinasim",
                "serve",
                "--port",
                str(port),
                "--results",
                str(results),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"blinasim serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc, Server(url, results, log)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the session; stopped (SIGTERM, then kill) at the end."""
    proc, srv = start_server(tmp_path_factory.mktemp("web"))
    try:
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def web_browser() -> Iterator[Browser]:
    """Headless Chromium (skipped when missing, as the report tests are; fails on CI)."""
    path = find_chromium()
    if path is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("CI is set but Chromium is not installed (make browser-deps)")
        pytest.skip("Chromium not found (make browser-deps)")
    with loopback_allowed(), Browser(path, width=1280, height=900, timeout=120) as b:
        yield b


@contextlib.contextmanager
def loopback_allowed() -> Iterator[None]:
    """The harness's flags with 127.0.0.1 reachable; every host name still resolves to nothing.

    The report tests open ``file:`` pages, so their browser resolves nothing at all; the web
    app is on 127.0.0.1, which the rule must leave out. Restored once the browser started.
    """
    saved = browser_module.CHROMIUM_FLAGS
    rule = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    browser_module.CHROMIUM_FLAGS = tuple(
        rule if f.startswith("--host-resolver-rules=") else f for f in saved
    )
    assert rule in browser_module.CHROMIUM_FLAGS
    try:
        yield
    finally:
        browser_module.CHROMIUM_FLAGS = saved
