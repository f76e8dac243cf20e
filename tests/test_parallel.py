"""Process pools stop cleanly on Ctrl-C and SIGTERM, whenever the signal arrives.

A SIGINT raised at an arbitrary bytecode inside ``concurrent.futures`` could leave a
future's lock held, and the interpreter hung at exit joining the pool's manager thread
(a CI run printed its one-line message and never ended). The pool now records the signal
and acts on it between calls into the pool.
"""

import os
import signal
import threading
import time

import pytest

from blinasim.parallel import map_tasks, stream_tasks


def _managers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if type(t).__name__ == "_ExecutorManagerThread"]


def test_pool_results_are_the_serial_results_in_task_order():
    tasks = [3.0, 1.0, 4.0, 1.5, 9.0]
    assert map_tasks(abs, [-t for t in tasks], workers=2) == tasks
    assert not _managers()


class _Stop(BaseException):
    pass


@pytest.mark.parametrize("where", ["in-callback", "while-waiting"])
def test_a_signal_stops_the_pool_and_reaches_the_previous_handler(where):
    seen: list[int] = []
    calls: list[int] = []

    def handler(signum, frame):
        calls.append(signum)
        raise _Stop()

    old = signal.signal(signal.SIGTERM, handler)
    timer = None
    try:
        if where == "while-waiting":
            timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
            timer.start()

        def on_result(i: int, r: object) -> None:
            seen.append(i)
            if where == "in-callback" and len(seen) == 1:
                os.kill(os.getpid(), signal.SIGTERM)  # deferred: this callback completes
                seen.append(-1)

        t0 = time.monotonic()
        with pytest.raises(_Stop):
            stream_tasks(time.sleep, [0.4] * 40, on_result, workers=2)
        took = time.monotonic() - t0
        assert signal.getsignal(signal.SIGTERM) is handler  # put back before acting
    finally:
        if timer is not None:
            timer.join()
        signal.signal(signal.SIGTERM, old)
    assert calls == [signal.SIGTERM]  # delivered once, to the handler that was installed
    assert took < 6.0, f"40 x 0.4 s on 2 workers would take 8 s; stopped after {took:.1f} s"
    if where == "in-callback":
        assert seen[:2] == [seen[0], -1]  # the callback ran to its end
    assert not _managers(), "the pool's manager thread was left running"


def test_ctrl_c_becomes_keyboard_interrupt_and_the_handler_is_restored():
    # Python's own Ctrl-C handler, as in a terminal (a shell's background job, e.g. a test
    # run started with '&', inherits an ignored SIGINT: the next test covers that case)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:

        def on_result(i: int, r: object) -> None:
            os.kill(os.getpid(), signal.SIGINT)

        with pytest.raises(KeyboardInterrupt):
            stream_tasks(time.sleep, [0.2] * 20, on_result, workers=2)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, old)
    assert not _managers()


def test_an_ignored_signal_stays_ignored():
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        got: list[int] = []

        def on_result(i: int, r: object) -> None:
            got.append(i)
            if len(got) == 1:
                os.kill(os.getpid(), signal.SIGINT)

        stream_tasks(time.sleep, [0.05] * 6, on_result, workers=2)
        assert sorted(got) == list(range(6))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)
