"""Progress of long batches, as the phases of a command see it.

The API functions take a :class:`Progress` (default: silent). The command line passes a
:class:`TerminalProgress` when stderr is a terminal (never on a pipe, under ``CI`` or with
``--quiet``): a bar with the count, the total and the time left, in Chinese
(``读取 1,234/3,000 ━━━━━ · 剩余 0:00:07``), and a spinner for phases without a count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """Silent progress: the protocol, and what the API uses by default."""

    def track(self, items: Iterable[T], what: str, total: int | None = None) -> Iterator[T]:
        """Pass ``items`` through, counting them against ``total`` under the label ``what``."""
        return iter(items)

    @contextlib.contextmanager
    def phase(self, what: str):
        """A step without a count (e.g. the rule checks after reading)."""
        yield


SILENT = Progress()


class _Callable(Progress):
    """An old-style progress: a function wrapping an iterator."""

    def __init__(self, fn):
        self.fn = fn

    def track(self, items, what, total=None):
        return iter(self.fn(items))


def as_progress(progress) -> Progress:
    if progress is None:
        return SILENT
    if isinstance(progress, Progress):
        return progress
    return _Callable(progress)


class TerminalProgress(Progress):
    """rich progress bars on stderr; each phase is shown while it runs and then removed."""

    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=True)

    def _bar(self, counted: bool):
        from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        if counted:
            columns = [TextColumn("{task.description}"), BarColumn(),
                       TextColumn("{task.completed:,.0f}/{task.total:,.0f}"), TextColumn("· 剩余"),
                       TimeRemainingColumn()]
        else:
            columns = [SpinnerColumn(), TextColumn("{task.description}"), TextColumn("· 已用"), TimeElapsedColumn()]
        return Bar(*columns, console=self.console, transient=True)

    def track(self, items, what, total=None):
        if total is None:
            try:
                total = len(items)  # type: ignore[arg-type]
            except TypeError:
                total = None
        with self._bar(total is not None) as bar:
            task = bar.add_task(what, total=total)
            for item in items:
                yield item
                bar.advance(task)

    @contextlib.contextmanager
    def phase(self, what):
        with self._bar(False) as bar:
            bar.add_task(what, total=None)
            yield
