"""The progress bar of a long job on the terminal (stderr), shared by the commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

Update = Callable[[int, int], None]
"""``update(done, total)``: what a job's ``progress`` callback receives."""


@contextmanager
def progress_bar(console: Console, description: str, total: int | None) -> Iterator[Update]:
    """A transient bar ``description  [####   ] done/total  elapsed`` on ``console``."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
