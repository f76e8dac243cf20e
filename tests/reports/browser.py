"""Headless Chromium, driven over the Chrome DevTools Protocol (CDP) with websocket-client.

Opens a page as a user would and records what a user (and the network) would see: every
request the page makes, every console message and uncaught exception, and a PNG screenshot.
Uses the system Chromium (Debian ``chromium``); it never downloads a browser build.

Why raw CDP and not Playwright: Playwright's wheel carries its own Node.js driver (~40 MB),
is tested against its own pinned Chromium build rather than Debian's, and its driver
protocol changes between releases; here we need five CDP methods and three event types, which
websocket-client (one small pure-Python package) speaks directly against whatever Chromium the
machine has.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websocket

# Flags for a headless browser on a closed network: no sandbox (we run as root in CI),
# no background connections (updates, sync, field trials, safe browsing, QUIC probes), and
# every host name resolves to nothing, so even a page that tried could not reach a server.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_chromium() -> str | None:
    """Path of a Chromium executable (``BLINASIM_CHROMIUM`` first), or None."""
    env = os.environ.get("BLINASIM_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    """Chromium did not start, or did not answer in time."""


@dataclass(frozen=True)
class ConsoleMessage:
    """One console message, uncaught exception or browser log entry."""

    source: str  # "console", "exception" or "log"
    level: str  # "error", "warning", "info", ...
    text: str
    url: str = ""

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"[{self.source}:{self.level}] {self.text}{where}"


@dataclass(frozen=True)
class PageVisit:
    """What happened while a page loaded."""

    url: str
    requests: tuple[str, ...]
    messages: tuple[ConsoleMessage, ...]
    load_seconds: float

    @property
    def errors(self) -> tuple[ConsoleMessage, ...]:
        """Console errors, uncaught exceptions and error-level log entries."""
        return tuple(m for m in self.messages if m.level in ("error", "assert"))

    @property
    def remote_requests(self) -> tuple[str, ...]:
        """Requests whose URL is neither ``file:`` nor ``data:``."""
        return tuple(u for u in self.requests if not u.startswith(("file:", "data:")))


def _short(url: str) -> str:
    """A URL as recorded: ``data:`` URLs cut after their media type."""
    return url[: url.find(",") + 1] + "…" if url.startswith("data:") and "," in url else url


class _Cdp:
    """A minimal synchronous CDP client over one browser-level websocket (flat sessions)."""

    def __init__(self, ws_url: str, timeout: float) -> None:
        self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        self._ws.close()

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Call ``method`` and return its result; events that arrive meanwhile are kept."""
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._ws.send(json.dumps(msg))
        while True:
            reply = self._recv()
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(
        self, method: str, session: str, deadline: float, start: int = 0
    ) -> dict[str, Any]:
        """Block until event ``method`` is kept for ``session`` at index ``start`` or later."""
        seen = start
        while True:
            for ev in self.events[seen:]:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            seen = len(self.events)
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {method}")
            self._ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                self._recv()
            except websocket.WebSocketTimeoutException:
                continue

    def _recv(self) -> dict[str, Any]:
        reply: dict[str, Any] = json.loads(self._ws.recv())
        if "method" in reply and "id" not in reply:
            self.events.append(reply)
        return reply


class Browser:
    """One headless Chromium process with a fresh, empty profile; use as a context manager."""

    def __init__(
        self, executable: str, *, width: int = 1280, height: int = 900, timeout: float = 30.0
    ) -> None:
        self.executable = executable
        self.width = width
        self.height = height
        self.timeout = timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="blinasim-chromium-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._cdp: _Cdp | None = None

    def __enter__(self) -> Browser:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        profile = Path(self._tmp.name) / "profile"
        profile.mkdir()
        log_path = Path(self._tmp.name) / "chromium.log"
        args = [
            self.executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        env = {**os.environ, "HOME": self._tmp.name}  # nothing read from or left in ~/.config
        with log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env
            )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while True:
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) >= 2:
                break
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise BrowserError(f"Chromium did not start ({args[0]}):\n{tail}")
            time.sleep(0.05)
        self._cdp = _Cdp(f"ws://127.0.0.1:{lines[0]}{lines[1]}", self.timeout)

    def close(self) -> None:
        """Close the browser, wait for it, and delete its profile."""
        if self._cdp is not None:
            with contextlib.suppress(Exception):
                self._cdp.send("Browser.close")
            with contextlib.suppress(Exception):
                self._cdp.close()
            self._cdp = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            self._proc = None
        self._tmp.cleanup()

    @property
    def cdp(self) -> _Cdp:
        if self._cdp is None:
            raise BrowserError("browser is not running")
        return self._cdp

    @contextlib.contextmanager
    def page(self) -> Iterator[Page]:
        """A new tab with the Network, Runtime, Log and Page domains enabled."""
        target = self.cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.cdp.send(f"{domain}.enable", session=session)
        self.cdp.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        try:
            yield Page(self, session)
        finally:
            with contextlib.suppress(Exception):
                self.cdp.send("Target.closeTarget", {"targetId": target})


class Page:
    """One tab, attached through a flat CDP session."""

    def __init__(self, browser: Browser, session: str) -> None:
        self._browser = browser
        self._session = session

    def _send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self._browser.cdp.send(method, params, session=self._session)

    def open(self, url: str) -> PageVisit:
        """Navigate to ``url``, wait for the load event and for every image to decode."""
        cdp = self._browser.cdp
        first = len(cdp.events)
        t0 = time.monotonic()
        nav = self._send("Page.navigate", {"url": url})
        if nav.get("errorText"):
            raise BrowserError(f"navigation to {url} failed: {nav['errorText']}")
        # Only events from `first` on count: the tab's earlier about:blank load is ignored.
        cdp.wait_for("Page.loadEventFired", self._session, t0 + self._browser.timeout, first)
        self.evaluate(
            "Promise.all(Array.from(document.images, i => i.decode().catch(() => null)))"
            ".then(() => true)"
        )
        # Let late console messages (e.g. from timers set at load) arrive.
        self.evaluate("new Promise(r => setTimeout(() => r(true), 100))")
        return self._visit(url, cdp.events[first:], time.monotonic() - t0)

    def _visit(self, url: str, events: list[dict[str, Any]], seconds: float) -> PageVisit:
        requests: list[str] = []
        messages: list[ConsoleMessage] = []
        for ev in events:
            if ev.get("sessionId") != self._session:
                continue
            method, p = ev["method"], ev.get("params", {})
            if method == "Network.requestWillBeSent":
                requests.append(_short(p["request"]["url"]))
            elif method == "Network.webSocketCreated":
                requests.append(p["url"])
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", [])
                )
                messages.append(ConsoleMessage("console", p["type"], text))
            elif method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                text = d.get("exception", {}).get("description") or d.get("text", "")
                messages.append(ConsoleMessage("exception", "error", text, d.get("url", "")))
            elif method == "Log.entryAdded":
                e = p["entry"]
                messages.append(ConsoleMessage("log", e["level"], e["text"], e.get("url", "")))
        return PageVisit(url, tuple(requests), tuple(messages), seconds)

    def evaluate(self, expression: str) -> Any:
        """Evaluate a JavaScript expression (promises awaited) and return its JSON value."""
        res = self._send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in res:
            raise BrowserError(f"JavaScript error: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """Save a PNG of the viewport, or of the whole page."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self._send("Page.getLayoutMetrics")["cssContentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": max(1, round(size["width"])),
                "height": max(1, round(size["height"])),
                "scale": 1,
            }
        data = self._send("Page.captureScreenshot", params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
