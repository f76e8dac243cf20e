"""``blinasim serve``: the local web app (decision aid, scenario explorer, run reports).

A plain command (registered on the root app by :mod:`blinasim.cli`): check the options,
build :class:`blinasim.web.app.WebConfig`, run the app with uvicorn. It binds to
127.0.0.1 unless told otherwise, and says so loudly when told otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError
from blinasim.web.app import WebConfig, create_app

console = Console(stderr=True)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_config(host: str, port: int, results: Path) -> WebConfig:
    """The app's configuration for ``host``/``port``; one-line errors for bad options."""
    if not 0 <= port <= 65535:
        raise InputError("a port from 0 to 65535", field="--port", got=port)
    if not host or any(c.isspace() for c in host) or "/" in host:
        raise InputError("a host name or IP address (e.g. 127.0.0.1)", field="--host", got=host)
    if results.exists() and not results.is_dir():
        raise InputError("a folder of results", field="--results", got=str(results))
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    if host not in LOOPBACK:
        hosts = ("*",) if host in ("0.0.0.0", "::") else (*hosts, host)
    return WebConfig(results_dir=results, allowed_hosts=hosts)


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this computer only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    results: Annotated[
        Path, typer.Option(help="Folder of run results whose reports are linked (read-only).")
    ] = Path("results"),
) -> None:
    """Serve the decision aid and the scenario explorer on this computer (a local web app)."""
    cfg = serve_config(host, port, results)
    if host not in LOOPBACK:
        console.print(
            f"[bold yellow]warning:[/] listening on {escape(host)}: other computers on the "
            "network can reach this server (it has no login); use 127.0.0.1 unless you mean it",
            highlight=False,
            soft_wrap=True,
        )
    shown = f"[{host}]" if ":" in host else host
    console.print(f"blinasim web app: http://{escape(shown)}:{port}/  (Ctrl-C stops it)")
    console.print(f"[dim]{escape(DISCLAIMER)}[/]", soft_wrap=True)
    uvicorn.run(
        create_app(cfg),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        limit_concurrency=64,
    )
