"""Following a long import: the ``progress`` hook of :func:`volreg.import_file`, and the bar on stderr.

The hook is any function called as ``progress(rows_done, rows_total)``, so a notebook can drive tqdm or rich
and an application its own status line; the command line's bar (:class:`StderrBar`) is such a function too.

    from tqdm import tqdm
    bar = tqdm(unit="rows")

    def follow(done: int, total: int | None) -> None:
        bar.total = total
        bar.update(done - bar.n)

    volreg.import_file(registry, "records.csv", kind="service_records", progress=follow)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from ..errors import InvalidValue

__all__ = ["ProgressHook", "StderrBar", "progress_hook"]

ProgressHook = Callable[[int, "int | None"], Any]
"""``progress(rows_done, rows_total)``: rows read so far, and the rows the file holds (None when unknown)."""


class StderrBar:
    """A progress bar on stderr (click's), drawn at most ten times a second; usable as a progress hook.

    Args:
        label: what is shown before the bar, e.g. ``importing records.csv``.
        file: where to draw (default: stderr).
    """

    def __init__(self, label: str, file: TextIO | None = None) -> None:
        self.label = label
        self.file = file if file is not None else sys.stderr
        self._bar: Any = None
        self._shown = 0
        self._drawn_at = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        """Move the bar to ``done`` of ``total`` rows (a count of rows when the total is unknown)."""
        now = time.monotonic()
        if now - self._drawn_at < 0.1 and done != total:
            return
        self._drawn_at = now
        if total is None:
            self.file.write(f"\r{self.label}: {done} rows")
            self.file.flush()
            self._shown = done
            return
        if self._bar is None:
            import click

            self._bar = click.progressbar(length=max(total, 1), label=self.label, file=self.file)
            self._bar.__enter__()
        if total != self._bar.length:
            self._bar.length = max(total, 1)
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        """Finish the bar (the line ends, so what is printed next starts on its own line)."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        elif self._shown:
            self.file.write("\n")
            self.file.flush()


def progress_hook(progress: Any, label: str) -> ProgressHook | None:
    """The hook :func:`volreg.import_file` calls for its ``progress`` argument.

    ``None`` means a bar on stderr when stderr is a terminal; ``True`` a bar on stderr; ``False`` nothing;
    a function is called as it is.

    Raises:
        InvalidValue: anything else.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    if progress is True:
        return StderrBar(label)
    if progress is False:
        return None
    if callable(progress):
        return progress  # type: ignore[no-any-return]
    raise InvalidValue("progress", "must be a function called with (rows_done, rows_total), True or False",
                       shown=type(progress).__name__)
