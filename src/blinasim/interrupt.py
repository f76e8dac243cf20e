"""Interruptions (Ctrl-C, SIGTERM) of long jobs: one line on what is saved, no traceback.

A long job wraps its work in :func:`resumable`::

    with resumable(lambda: f"{n_done} of {n} replicates saved in {out}; run the same "
                   "command again to resume"):
        ...

If the user presses Ctrl-C (SIGINT) or the process gets SIGTERM inside the block, the job
stops and :class:`Interrupted` is raised carrying the line to print and the exit status
(130 for SIGINT, 143 for SIGTERM, the shell's convention). The CLI prints that line and
exits with that status. :func:`handle_sigterm` (installed by the CLI's entry point only,
never at import) turns SIGTERM into :class:`Terminated` so that ``finally`` blocks run and
pools are shut down as for Ctrl-C.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(BaseException):
    """SIGTERM received (raised in the main thread by :func:`handle_sigterm`)."""


class Interrupted(BaseException):
    """A job stopped by SIGINT or SIGTERM; ``str()`` is the line to print."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def handle_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread (call once, from ``main``)."""
    signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def resumable(saved: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C / SIGTERM inside the block into :class:`Interrupted` with ``saved()``.

    ``saved`` is called after the interruption, so it can report the state at that moment
    (e.g. how many replicates had been checkpointed).
    """
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: {saved()}", 130) from None
    except Terminated:
        raise Interrupted(f"terminated: {saved()}", 143) from None
    except SystemError as exc:
        # a signal handler that raised while compiled (numba) code ran surfaces as a chain of
        # "SystemError: ... returned a result with an exception set" around the interrupt
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, KeyboardInterrupt):
                raise Interrupted(f"interrupted: {saved()}", 130) from None
            if isinstance(cause, Terminated):
                raise Interrupted(f"terminated: {saved()}", 143) from None
            cause = cause.__cause__ or cause.__context__
        raise


__all__ = ["Interrupted", "Terminated", "handle_sigterm", "resumable"]
