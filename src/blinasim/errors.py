"""Exceptions for user mistakes: each renders as one line naming file, field and expectation."""

from __future__ import annotations

from pathlib import Path


class BlinasimError(ValueError):
    """Base class of every error caused by user input (bad file, bad argument, bad data).

    The CLI prints ``str(error)`` on one line and exits with status 2; library users can
    catch it like any ``ValueError``.
    """


class InputError(BlinasimError):
    """A bad value in a user-supplied file or argument.

    The message reads ``<file>: <field>: expected <expected>[, got <got>]``.
    """

    def __init__(
        self,
        expected: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        got: object = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.field = field
        self.expected = expected
        self.got = got
        parts = [p for p in (self.file, field) if p]
        where = ": ".join(parts)
        msg = f"expected {expected}"
        if got is not None:
            shown = repr(got)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            msg += f", got {shown}"
        text = f"{where}: {msg}" if where else msg
        # one line whatever the input: a field name or value may itself hold line breaks
        super().__init__(text.replace("\r", "\\r").replace("\n", "\\n"))


class ParameterError(InputError):
    """A bad or missing model parameter (``data/parameters.yaml`` or an override)."""


class ProtocolError(InputError):
    """A bad treatment-protocol file."""


class OutputError(BlinasimError):
    """Results could not be written (disk full, folder removed): one line, what is saved."""
