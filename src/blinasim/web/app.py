"""The ASGI app (Starlette): pages, their checks and the security headers.

Pages: ``/`` the decision aid's form, ``POST /aid`` its results, ``/explorer`` the scenario
explorer (``POST`` starts a bounded job, ``/explorer/{id}`` shows its progress then its
results, ``/explorer/{id}/status`` the progress as JSON), ``/reports`` the run reports under
the results folder (served read-only), ``/about`` what the model knows and does not.
Every page carries the not-medical-advice statement. Facts about a child are read from a
POST body (never the address, so no log line holds them) and kept nowhere.
"""

from __future__ import annotations

import contextlib
import tempfile
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from blinasim._version import __version__
from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import BlinasimError, InputError
from blinasim.jobs.predict import ChildFacts, predict
from blinasim.web import aid
from blinasim.web.explorer import (
    CYCLES,
    DOSE_RANGE,
    N_CHILDREN,
    N_DRAWS,
    PLACEMENTS,
    STRATA,
    parse_scenario,
)
from blinasim.web.folders import find_file, list_runs
from blinasim.web.forms import (
    BY_NAME,
    FIELDS,
    HORIZONS,
    FormError,
    label_of,
    parse_facts,
    parse_horizon,
)
from blinasim.web.security import SecurityHeaders, same_origin
from blinasim.web.work import Busy, ExplorerJobs, ModelPool

MAX_BODY_BYTES = 16 * 1024
MAX_FORM_FIELDS = 40
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class WebConfig:
    """What ``blinasim serve`` can set; every bound of the server's work is here."""

    results_dir: Path = Path("results")
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
    model_workers: int = 1
    max_waiting: int = 8
    timeout_s: float = 180.0
    max_jobs: int = 2
    cache_size: int = 32
    seed: int = 20241207
    predict_fn: Callable[..., Any] = field(default=predict)


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("blinasim.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        disclaimer=DISCLAIMER,
        version=__version__,
        fields=FIELDS,
        horizons=HORIZONS,
    )
    return env


class BadRequest(Exception):
    """A request the server will not read (too large, wrong type): answered 4xx."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body of a POST, bounded in size and number of fields."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise BadRequest(415, "expected a form (application/x-www-form-urlencoded)")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise BadRequest(413, f"the form is larger than {MAX_BODY_BYTES // 1024} KiB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadRequest(413, f"the form is larger than {MAX_BODY_BYTES // 1024} KiB")
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(
            400, "the form could not be read (not UTF-8, or too many fields)"
        ) from None
    out: dict[str, str] = {}
    for k, v in pairs:
        out.setdefault(k, v)
    return out


def create_app(config: WebConfig | None = None) -> Starlette:
    """The web app; its model pool and explorer queue live as long as the app."""
    cfg = config or WebConfig()
    env = _templates()
    pool = ModelPool(cfg.model_workers, max_waiting=cfg.max_waiting, timeout_s=cfg.timeout_s)
    workdir = tempfile.TemporaryDirectory(prefix="blinasim-web-")
    jobs = ExplorerJobs(pool, Path(workdir.name), max_jobs=cfg.max_jobs, cache_size=cfg.cache_size)
    results_root = cfg.results_dir

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(request_path=request.url.path, **context)
        return HTMLResponse(html, status_code=status)

    def error_page(request: Request, status: int, message: str) -> HTMLResponse:
        return page(request, "error.html", status, code=status, message=message)

    def form_page(
        request: Request, status: int, values: Mapping[str, str], error: str = "", where: str = ""
    ) -> HTMLResponse:
        return page(request, "index.html", status, values=values, error=error, error_field=where)

    async def index(request: Request) -> Response:
        return form_page(request, 200, {"horizon": "5"})

    async def aid_post(request: Request) -> Response:
        form = await read_form(request)
        values = {f.name: form.get(f.name, "") for f in FIELDS}
        values["horizon"] = form.get("horizon", "5")
        try:
            horizon = parse_horizon(form)
            facts = ChildFacts(**parse_facts(form))
        except FormError as exc:
            return form_page(
                request,
                400,
                values,
                f"{label_of(exc.field)}: {exc.message}" if exc.field else exc.message,
                exc.field,
            )
        except InputError as exc:
            where = exc.field or ""
            msg = f"{label_of(where)}: expected {exc.expected}" if where else str(exc)
            return form_page(request, 400, values, msg, where)
        try:
            pred = await pool.run(lambda: cfg.predict_fn(facts, seed=cfg.seed))
        except InputError as exc:
            if exc.field in BY_NAME or exc.field == "MRD readouts":  # facts the model refuses
                return form_page(request, 400, values, str(exc), exc.field or "")
            raise  # the model's own files are at fault, not the form: a 500 page
        view = aid.build_view(pred.to_dict(), horizon)
        return page(request, "aid.html", view=view, values=values, horizon=horizon)

    async def explorer(request: Request) -> Response:
        return page(
            request,
            "explorer.html",
            finished=jobs.finished(),
            values={"stratum": "SR-Average", "cycles": "2", "dose": "15", "placement": "spread"},
            error="",
            **_explorer_context(),
        )

    async def explorer_post(request: Request) -> Response:
        form = await read_form(request)
        values = {k: form.get(k, "") for k in ("stratum", "cycles", "dose", "placement")}
        try:
            scenario = parse_scenario(form)
        except InputError as exc:
            return page(
                request,
                "explorer.html",
                400,
                finished=jobs.finished(),
                values=values,
                error=str(exc),
                **_explorer_context(),
            )
        job = jobs.submit(scenario)
        return RedirectResponse(f"/explorer/{job.id}", status_code=303)

    def _job(request: Request) -> Any:
        job = jobs.get(str(request.path_params["job"]))
        if job is None:
            raise HTTPException(404, "no such scenario (it may have left the cache: run it again)")
        return job

    async def explorer_job(request: Request) -> Response:
        job = _job(request)
        return page(request, "job.html", job=job, view=aid.scenario_view(job.result))

    async def explorer_status(request: Request) -> Response:
        return JSONResponse(_job(request).status())

    async def reports(request: Request) -> Response:
        return page(request, "reports.html", runs=list_runs(results_root), root=str(results_root))

    async def report_file(request: Request) -> Response:
        found = find_file(results_root, str(request.path_params["path"]))
        if found is None:
            raise HTTPException(404, "no such report file under the results folder")
        path, media = found
        resp = FileResponse(path, media_type=media)
        resp.headers["content-security-policy"] = REPORT_CSP
        return resp

    async def about(request: Request) -> Response:
        return page(request, "about.html")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "version": __version__, "queued": pool.queued})

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        resp = error_page(request, exc.status_code, str(exc.detail))
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    async def on_bad(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return error_page(request, exc.status, exc.message)

    async def on_busy(request: Request, exc: Exception) -> Response:
        resp = error_page(request, 503, str(exc))
        resp.headers["retry-after"] = "5"
        return resp

    async def on_model_files(request: Request, exc: Exception) -> Response:
        # a user mistake is answered where it is made (400); one that reaches here is in
        # the model's own files (e.g. a parameter file that does not load)
        return error_page(request, 500, f"the model's own files could not be used: {exc}")

    async def on_error(request: Request, exc: Exception) -> Response:
        # a bug: this page, and Starlette re-raises so that uvicorn logs the traceback
        return error_page(request, 500, "the server met an error it did not expect")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        pool.shutdown()
        workdir.cleanup()

    static = Path(str(resources.files("blinasim.web") / "static"))
    routes = [
        Route("/", index),
        Route("/aid", aid_post, methods=["POST"]),
        Route("/aid", lambda r: RedirectResponse("/", status_code=303), methods=["GET"]),
        Route("/explorer", explorer),
        Route("/explorer", explorer_post, methods=["POST"]),
        Route("/explorer/{job:str}", explorer_job),
        Route("/explorer/{job:str}/status", explorer_status),
        Route("/reports", reports),
        Route("/reports/{path:path}", report_file),
        Route("/about", about),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(cfg.allowed_hosts)),
            Middleware(SecurityHeaders, check_origin=same_origin),
        ],
        exception_handlers={
            HTTPException: on_http,
            BadRequest: on_bad,
            Busy: on_busy,
            BlinasimError: on_model_files,
            Exception: on_error,
        },
        lifespan=lifespan,
    )


def _explorer_context() -> dict[str, Any]:
    return {
        "strata": list(STRATA),
        "cycles": CYCLES,
        "dose_range": DOSE_RANGE,
        "placements": PLACEMENTS,
        "n_children": N_CHILDREN,
        "n_draws": N_DRAWS,
    }
