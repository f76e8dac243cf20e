"""Fixtures for the browser tests: one headless Chromium for the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .browser import Browser, find_chromium


def ci_is_set() -> bool:
    """True on CI (``CI`` set to anything but empty, 0, false or no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the system Chromium; skips without one (fails on CI, where it must exist)."""
    path = find_chromium()
    if path is None:
        why = (
            "Chromium not found (BLINASIM_CHROMIUM, /usr/bin/chromium, chromium on PATH); "
            "install it with `make browser-deps` (as root: apt-get install chromium "
            "chromium-driver)"
        )
        if ci_is_set():
            pytest.fail(f"CI is set but {why}", pytrace=False)
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    """A running headless Chromium with a fresh profile, closed after the session."""
    with Browser(chromium_path, width=1280, height=900) as b:
        yield b
