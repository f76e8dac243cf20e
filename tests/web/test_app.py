"""The app in-process (raw ASGI calls): model calls never overlap, bounds answer 503, a fault
in the model's own files is a 500 page that says so, the aid page renders any prediction."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.parse
from typing import Any

import pytest

from blinasim.disclaimer import DISCLAIMER
from blinasim.errors import InputError, ParameterError
from blinasim.web.app import WebConfig, create_app

IV = {"estimate": 0.9, "lower": 0.85, "upper": 0.95}
ICONS = {
    "alive_disease_free": 90,
    "alive_after_relapse": 5,
    "died_of_leukemia": 3,
    "died_of_treatment": 1,
    "died_of_other_causes": 1,
}


def fake_prediction(facts: Any) -> dict[str, Any]:
    by_h = {h: dict(IV) for h in ("3", "5", "10")}
    option = {
        "dfs": by_h,
        "os": by_h,
        "relapse": by_h,
        "hsct": by_h,
        "toxicities_grade3plus": {"sepsis": dict(IV)},
        "icons": {h: dict(ICONS) for h in ("3", "5", "10")},
    }
    years = [i / 12 for i in range(121)]
    curve = {
        k: [1 - 0.001 * i for i in range(121)] for k in ("dfs", "dfs_lower", "dfs_upper", "os")
    }
    return {
        "risk_group": "SR-Average",
        "risk_group_shares": {"SR-Average": 1.0},
        "eligible_options": ["chemotherapy", "blinatumomab"],
        "unknown": ["day8_mrd"],
        "facts": {"age_years": facts.age_years, "eoi_flow": 0.0001, "down_syndrome": False},
        "options": {"chemotherapy": option, "blinatumomab": option},
        "comparison": {
            "dfs": {h: {"estimate": -0.004, "lower": -0.02, "upper": 0.03} for h in by_h},
            "os": by_h,
        },
        "curves": {
            "chemotherapy": {"years": years, **curve},
            "blinatumomab": {"years": years, **curve},
        },
        "notes": ["a <note>"],
        "limitations": ["a limitation"],
        "source": {"trial": "COG AALL1731", "model_version": "blinasim test", "posterior": "p"},
        "model_version": "blinasim test",
        "disclaimer": DISCLAIMER,
    }


class FakePrediction:
    def __init__(self, facts: Any) -> None:
        self.facts = facts

    def to_dict(self) -> dict[str, Any]:
        return fake_prediction(self.facts)


class Recorder:
    """A stand-in for predict: records how many calls overlap and which threads ran them."""

    def __init__(self, seconds: float = 0.05, error: Exception | None = None) -> None:
        self.seconds = seconds
        self.error = error
        self.active = 0
        self.most = 0
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, facts: Any, *, seed: int) -> FakePrediction:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.threads.add(threading.current_thread().name)
        try:
            time.sleep(self.seconds)
            if self.error is not None:
                raise self.error
            return FakePrediction(facts)
        finally:
            with self.lock:
                self.active -= 1


async def call(
    app: Any, method: str, path: str, form: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    body = urllib.parse.urlencode(form or {}).encode()
    headers = [(b"host", b"127.0.0.1:8000")]
    if form is not None:
        headers += [
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    try:
        await app(scope, receive, send)
    except RuntimeError:  # a bug is answered with a 500 page, then re-raised for the log
        assert out.get("status") == 500
    return out["status"], out["headers"], out["body"].decode()


def run_app(
    cfg: WebConfig, calls: list[tuple[str, str, dict[str, str] | None]]
) -> list[tuple[int, dict[str, str], str]]:
    app = create_app(cfg)

    async def main() -> list[tuple[int, dict[str, str], str]]:
        async with app.router.lifespan_context(app):
            return list(await asyncio.gather(*(call(app, m, p, f) for m, p, f in calls)))

    return asyncio.run(main())


def test_concurrent_predictions_run_one_at_a_time_off_the_event_loop() -> None:
    rec = Recorder()
    res = run_app(
        WebConfig(predict_fn=rec), [("POST", "/aid", {"age_years": str(2 + i)}) for i in range(6)]
    )
    assert [s for s, _, _ in res] == [200] * 6
    assert rec.most == 1
    assert all(t.startswith("model") for t in rec.threads)
    page = res[0][2]
    assert "a &lt;note&gt;" in page
    assert "about the same number would be alive and free of leukemia" in page
    assert page.count('class="icon ') == 100 * 2 * 3
    assert "-0" not in page.split('id="differences"')[1].split("</table>")[0]


def test_a_full_queue_answers_503_with_retry_after() -> None:
    rec = Recorder(seconds=0.3)
    cfg = WebConfig(predict_fn=rec, max_waiting=1)
    res = run_app(cfg, [("POST", "/aid", {"age_years": "4"}) for _ in range(5)])
    statuses = sorted(s for s, _, _ in res)
    assert statuses.count(200) == 2
    assert statuses.count(503) == 3
    busy = next(r for r in res if r[0] == 503)
    assert busy[1]["retry-after"] == "5"
    assert "the model is busy" in busy[2]
    assert DISCLAIMER in busy[2]


def test_a_slow_prediction_times_out_with_503() -> None:
    rec = Recorder(seconds=0.5)
    ((status, _, page),) = run_app(WebConfig(predict_fn=rec, timeout_s=0.1), [("POST", "/aid", {})])
    assert status == 503
    assert "took more than" in page


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (
            ParameterError("this parameter to be present", file="parameters.yaml", field="x.y"),
            500,
            "the model&#39;s own files could not be used",
        ),
        (
            InputError(
                "MRD readouts that at least one simulated child shows", field="MRD readouts"
            ),
            400,
            "MRD readouts that at least one simulated child shows",
        ),
        (RuntimeError("bug"), 500, "did not expect"),
    ],
)
def test_model_errors_are_pages_not_tracebacks(error: Exception, status: int, words: str) -> None:
    ((got, _, page),) = run_app(WebConfig(predict_fn=Recorder(error=error)), [("POST", "/aid", {})])
    assert got == status
    assert words in page
    assert "Traceback" not in page
    assert DISCLAIMER in page
