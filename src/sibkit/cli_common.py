"""Terminal output and arguments shared by every area's ``cli.py``: tables, JSON, progress, STUDY.

Tables never cut an identifier (a case id such as ``INDIGO-POJ-0109`` is printed whole even at 80
columns), headers are words, shares are percentages and a missing figure is ``–``. Progress is a bar
on a terminal and one line per step elsewhere (CI logs, pipes).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.console import Console

if TYPE_CHECKING:
    import pandas as pd

MISSING = "–"
LOG_LINE_SECONDS = 1.0  # progress lines in a log (not a terminal): at most one a second

def _checked_executor(value: str | None) -> str | None:
    """``--executor`` checked as it is parsed, so a mistyped one is one line before anything loads."""
    from sibkit.parallel import parse_executor

    parse_executor(value)
    return value


StudyArgument = Annotated[Path, typer.Argument(help="The study file (YAML).", metavar="STUDY")]
JobsOption = Annotated[int, typer.Option(
    "--jobs", "-j", min=0, help="Worker processes for extraction/matching (0: one per core); one process writes.")]
ExecutorOption = Annotated[str, typer.Option(
    "--executor", metavar="WHERE", callback=_checked_executor,
    help="Where per-document work runs: local (this machine, --jobs processes) or dask://HOST:PORT "
         "(a dask.distributed scheduler; needs the 'dask' extra). One process here writes.")]
DataOption = Annotated[str | None, typer.Option(
    "--data", metavar="SOURCE",
    help="Dataset source: a held release (indigo@2025-05-20, latest), a CSV export folder, .zip, or API base "
         "URL (default: the latest release held; see `sibkit data list`).")]

# header words for column names that do not read well with underscores replaced by spaces
HEADERS = {
    "case_id": "case id", "capital_raised_usd": "capital raised (USD)", "capital_missing": "capital missing",
    "service_users_missing": "service users missing", "distinct_documents": "distinct documents",
    "payment_currency": "currency", "metrics_with_ratio": "metrics with a ratio",
}
_TOKEN = re.compile(r"^\S{1,40}$")


def _width(stream: TextIO) -> int | None:
    """COLUMNS when set; the terminal's width; else wide (files and pipes keep whole rows)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if stream.isatty() else 200


console = Console(width=_width(sys.stdout), highlight=False)
errors = Console(stderr=True, width=_width(sys.stderr), highlight=False)


def print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def json_records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame as JSON records, NaN as null."""
    return [{key: (None if isinstance(value, float) and value != value else value) for key, value in row.items()}
            for row in frame.to_dict("records")]


def warn(message: str) -> None:
    """One warning line on stderr, never wrapped or styled."""
    errors.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


def load_with_data(study_path: Path, data: str | None) -> Any:
    """The study (a ``sibkit.study.Study``), reading the dataset from ``--data`` instead of the study's own
    ``data`` when given (the study, web and qca commands)."""
    from sibkit.study.model import load_study

    study = load_study(study_path)
    if data is not None:
        from sibkit.indigo import load

        study._dataset = load(data)
    return study


REFUSED_ROWS_SHOWN = 10  # refused rows named one a line at load; the rest are counted


def warn_load_issues(dataset: Any, brief: bool = False) -> None:
    """What went wrong loading an INDIGO dataset, on stderr: each refused row (left out, not counted) and
    each problem with the export's shape (a file or column missing, a column it does not know) on a line of
    its own, then one line for the unreadable values (all of them: ``sibkit indigo quality``), with the
    first as an example unless ``brief`` (a command that shows figures, not the download)."""
    refused = [issue for issue in dataset.issues if issue.refused]
    for issue in refused[:REFUSED_ROWS_SHOWN]:
        warn(str(issue))
    if len(refused) > REFUSED_ROWS_SHOWN:
        warn(f"and {len(refused) - REFUSED_ROWS_SHOWN} more rows refused; see `sibkit indigo quality`")
    others = [issue for issue in dataset.issues if not issue.refused]

    def is_value(issue: Any) -> bool:
        return issue.column is not None and issue.row is not None and issue.row > 1

    # the export's shape (a table or column missing, a column renamed) is said on its own, a line each
    shape = [i for i in others if not is_value(i)]
    for issue in shape[:REFUSED_ROWS_SHOWN]:
        warn(str(issue))
    if len(shape) > REFUSED_ROWS_SHOWN:
        warn(f"and {len(shape) - REFUSED_ROWS_SHOWN} more problems with the export's files and columns; "
             "see `sibkit indigo quality`")
    values = [i for i in others if is_value(i)]
    if values and brief:  # unreadable values are counted
        warn(f"{len(values)} values of {dataset.source} could not be read and count as missing; "
             "`sibkit indigo quality` lists them")
    elif values:
        warn(f"{len(values)} {'other ' if refused or shape else ''}problems while loading {dataset.source} "
             f"(first: {values[0]}); see `sibkit indigo quality`")


def heading(column: object) -> str:
    """A column name as words: ``service_users`` -> ``service users``."""
    name = str(column)
    return HEADERS.get(name, name.replace("_", " "))


def is_share(column: object) -> bool:
    """Columns holding a share of 1 (printed as a percentage), by what the name means: its *words*
    (split at ``_`` and white space) include "share" (``share_successful``, ``struggling_share``,
    ``share at target``). A theme id such as ``shared-responsibility`` is one word, and not a share;
    other columns are printed as percentages only when a command names them (``print_frame(percent=)``)."""
    return "share" in re.split(r"[_\s]+", str(column).lower())


def format_value(value: object, percent: bool = False) -> str:
    """A cell as text: ``–`` when missing, grouped thousands, shares as percentages."""
    if value is None or (isinstance(value, str) and value == ""):
        return MISSING
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return MISSING
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(value, float) and value != value:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if percent and isinstance(value, int | float):
        return f"{value * 100:.0f}%" if abs(value * 100 - round(value * 100)) < 0.05 else f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 or value == int(value) else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value) or MISSING
    return str(value)


def _within_one(values: pd.Series) -> bool:
    """Numbers between 0 and 1 (missing allowed): what a share of 1 holds."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    present = values.dropna()
    return bool(((present >= 0) & (present <= 1)).all())


def _is_identifier_column(values: Sequence[str]) -> bool:
    present = [v for v in values if v != MISSING]
    return bool(present) and all(_TOKEN.match(v) for v in present)


def print_frame(frame: pd.DataFrame, title: str | None = None, *, percent: Sequence[str] = (),
                keep: Sequence[str] = (), hint: str | None = None) -> None:
    """A DataFrame as a terminal table.

    Identifier and number columns are never cut or wrapped; text columns wrap. When the table cannot
    fit the console even so, columns are left out from the right (never the first one nor those in
    ``keep``) and a line names them and ``hint``, the option that gives every column (``--json``).
    """
    import pandas as pd
    from rich.table import Table

    shares = {c for c in frame.columns if c in percent or (is_share(c) and _within_one(frame[c]))}
    cells = {c: [format_value(v, c in shares) for v in frame[c].tolist()] for c in frame.columns}
    numeric = {c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])}
    fixed = {c for c in frame.columns if c in numeric or _is_identifier_column(cells[c])}

    def narrowest(column: object) -> int:
        longest = max((len(v) for v in cells[column]), default=1)
        header = max((len(word) for word in heading(column).split()), default=1)
        return max(longest if column in fixed else min(longest, 16), header)

    def natural(column: object) -> int:
        return max([len(heading(column)), *(len(v) for v in cells[column])])

    shown = list(frame.columns)
    dropped: list[str] = []
    squeeze = sum(natural(c) + 3 for c in shown) + 1 > console.width
    if squeeze:
        protected = {shown[0], *keep} if shown else set(keep)
        while sum(narrowest(c) + 3 for c in shown) + 1 > console.width:
            removable = [c for c in shown if c not in protected]
            if not removable:
                break
            shown.remove(removable[-1])
            dropped.insert(0, heading(removable[-1]))
    table = Table(title=title, show_lines=False)
    for column in shown:
        table.add_column(heading(column), justify="right" if column in numeric else "left", overflow="fold",
                         width=narrowest(column) if squeeze and column in fixed else None,
                         min_width=narrowest(column))
    for index in range(len(frame)):
        table.add_row(*(cells[c][index] for c in shown))
    console.print(table)
    if dropped:
        more = f"; {hint} gives every column" if hint else ""
        console.print(f"(not shown at this width: {', '.join(dropped)}{more})", markup=False)


class StepProgress:
    """What ``progress()`` yields: call it with ``(done, total)`` after each item."""

    def __init__(self, bar: Any, task: Any, description: str) -> None:
        self.bar, self.task, self.description = bar, task, description
        self.last_line = 0.0

    def __call__(self, done: int, total: int | None = None, label: str = "") -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)
            return
        # In a log, a line for the first and the last item and at most one a second between them.
        now = time.monotonic()
        if done not in (0, 1, total) and now - self.last_line < LOG_LINE_SECONDS:
            return
        self.last_line = now
        of = f"/{total}" if total is not None else ""
        errors.print(f"{self.description} {done}{of}" + (f": {label}" if label else ""), markup=False,
                     highlight=False, soft_wrap=True)


@contextmanager
def progress(description: str) -> Iterator[StepProgress]:
    """A progress bar with its total on a terminal; one line per step on stderr otherwise (CI logs, pipes)."""
    if not errors.is_terminal:
        yield StepProgress(None, None, description)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=errors, transient=True) as bar:
        yield StepProgress(bar, bar.add_task(description, total=None), description)
