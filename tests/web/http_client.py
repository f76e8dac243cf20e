"""A tiny HTTP client for the tests (urllib: no redirects followed, errors returned)."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message


@dataclass(frozen=True)
class Reply:
    """Status, headers, body text and the time the request took."""

    status: int
    headers: Message
    text: str
    seconds: float


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def request(
    url: str,
    *,
    form: dict[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
    timeout: float = 180.0,
) -> Reply:
    """One request; a form is sent urlencoded as POST."""
    hdrs = dict(headers or {})
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
    t0 = time.perf_counter()
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return Reply(
                r.status, r.headers, r.read().decode("utf-8", "replace"), time.perf_counter() - t0
            )
    except urllib.error.HTTPError as e:
        return Reply(
            e.code, e.headers, e.read().decode("utf-8", "replace"), time.perf_counter() - t0
        )
