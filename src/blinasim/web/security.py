"""Security headers on every response, and a same-origin check on every form post.

The pages load nothing from another host, run no inline script and no inline style, so the
policy is ``default-src 'self'`` (images may also be ``data:``). A POST whose ``Origin``
header names another site (a page elsewhere trying to drive this local server) is refused
with 403 before it reaches the app.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blinasim.disclaimer import DISCLAIMER

CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # "no-referrer" makes Chromium post Origin: null
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def same_origin(scope: Scope) -> bool:
    """True when the request has no ``Origin`` or one whose host:port is the request's."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


class SecurityHeaders:
    """ASGI middleware: refuse cross-origin posts; add the policy and hardening headers."""

    def __init__(self, app: ASGIApp, check_origin: Callable[[Scope], bool] = same_origin):
        self.app = app
        self.check_origin = check_origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the origin of a post, then pass on with the headers added."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and not self.check_origin(scope):
            resp = PlainTextResponse(
                f"forbidden: a form from another site cannot post here. {DISCLAIMER}",
                status_code=403,
            )
            await self._with_headers(resp, scope, receive, send)
            return
        await self._with_headers(self.app, scope, receive, send)

    async def _with_headers(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        static = scope["path"].startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = CSP
                for k, v in HEADERS.items():
                    headers.setdefault(k, v)
                headers["cache-control"] = "max-age=3600" if static else "no-store"
            await send(message)

        await app(scope, receive, send_wrapper)
