"""Interruptions become one line saying what is saved, whatever raised them."""

import pytest

from blinasim.interrupt import Interrupted, Terminated, resumable


def _wrapped(exc: BaseException) -> SystemError:
    """What numba surfaces when a signal handler raised during a kernel."""
    try:
        try:
            raise exc
        except BaseException as inner:
            raise SystemError("returned a result with an exception set") from inner
    except SystemError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "code", "word"),
    [
        (KeyboardInterrupt(), 130, "interrupted"),
        (Terminated(), 143, "terminated"),
        (_wrapped(KeyboardInterrupt()), 130, "interrupted"),
        (_wrapped(Terminated()), 143, "terminated"),
    ],
)
def test_resumable_says_what_is_saved(exc, code, word):
    state = {"n": 1}

    def work() -> None:
        with resumable(lambda: f"{state['n']} of 3 saved"):
            state["n"] = 2
            raise exc

    with pytest.raises(Interrupted) as err:
        work()
    assert err.value.exit_code == code
    assert err.value.message == f"{word}: 2 of 3 saved"


def test_other_system_errors_pass_through():
    with pytest.raises(SystemError, match="other"), resumable(lambda: "x"):
        raise SystemError("other")
