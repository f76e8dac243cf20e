"""Load on loopback: 200 page requests at concurrency 8, no error, p95 printed.

Once with the model idle and once while predictions run (pages never wait for the model:
only predictions and explorer draws go through the bounded model pool). Predictions under
load (8 different children at once) are the slow test; benchmarks/web.py prints
the same figures.
"""

from __future__ import annotations

import threading

import pytest

from .conftest import Server
from .load import Call, LoadResult, child, page_calls, run_load


def test_200_page_requests_at_concurrency_8(server: Server) -> None:
    run_load(server.url, page_calls(16), concurrency=8)  # warm
    res = run_load(server.url, page_calls(200), concurrency=8)
    print(res.line("pages, model idle"))
    assert not res.wrong
    assert res.quantile(0.95) < 1.0


def test_pages_stay_fast_while_the_model_works(server: Server) -> None:
    done: list[LoadResult] = []
    busy = threading.Thread(
        target=lambda: done.append(
            run_load(server.url, [Call("/aid", child(i)) for i in range(2)], concurrency=2)
        )
    )
    busy.start()
    try:
        res = run_load(server.url, page_calls(200), concurrency=8)
    finally:
        busy.join(timeout=300)
    print(res.line("pages, 2 predictions running"))
    assert not res.wrong
    assert done, "the predictions did not finish"
    assert not done[0].wrong
    assert res.quantile(0.95) < 1.0


@pytest.mark.slow
def test_predictions_under_load(server: Server) -> None:
    run_load(server.url, [Call("/aid", child(99))], concurrency=1)  # warm
    res = run_load(server.url, [Call("/aid", child(i)) for i in range(8)], concurrency=8)
    print(res.line("predictions, concurrency 8"))
    assert not res.wrong
