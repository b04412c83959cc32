"""Measure a codebook against passages a person has labelled: precision, recall and F1 per theme.

A labelled file (CSV, TSV or XLSX) has one passage per row: a ``text`` column and a ``themes``
column with zero or more theme ids separated by ``;`` (or ``,``). Optional columns: ``id``
(defaults to the row number), ``split`` (e.g. dev / test; ``split=`` picks rows), and any others,
which are ignored. A theme *fires* on a passage when the codebook finds at least one counted hit
of it there, as in a study: hits in a negated clause do not count unless ``count_negated``, nor
do hits in a zone outside the passage's own text (a reference list, a table of contents, a
repeated sentence: ``sibkit.text.structure``). Only themes with terms are measured. A passage with a
label that is not a theme of the codebook (a misspelling) is left out of the figures, and said: counted
as unlabelled, a hit there would be a false alarm. A label naming a theme without terms is set aside.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sibkit import spreadsheet
from sibkit.coding.codebook import Codebook
from sibkit.coding.matcher import compile_codebook
from sibkit.errors import SibkitError, in_one_line
from sibkit.text.structure import document_structure
from sibkit.words import counted

_LABEL_SEPARATOR = re.compile(r"[;,]")
#: the size a labelled workbook is measured against (``spreadsheet.check_workbook``: no zip bomb, no DOCTYPE)
MAX_LABELLED_BYTES = 200 * 1024 * 1024
THEME_COLUMNS = ["theme", "passages", "fired", "true_pos", "false_pos", "misses", "precision", "recall", "f1"]


@dataclass
class Evaluation:
    """The result of :func:`evaluate_codebook`.

    themes: one row per theme (columns in ``THEME_COLUMNS``); precision is NaN when the theme
    never fired, recall NaN when no passage carries it. averages: micro (pooled counts) and macro
    (mean over themes, NaN values left out) precision, recall and F1. confusion: fired theme,
    the labels of the passage it fired on wrongly (``(none)`` for an unlabelled passage), count.
    details: every miss and false alarm with the passage and the term that fired. passages: those the
    figures rest on; left_out: those left out because a label is not a theme (``problems`` names them).
    """

    codebook: str
    passages: int
    labelled_passages: int
    themes: pd.DataFrame
    averages: pd.DataFrame
    confusion: pd.DataFrame
    details: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    left_out: int = 0
    #: rows of the labelled file that could not be read as a passage (wrong width, no id or text, an id again)
    rows_left_out: int = 0

    def summary(self) -> str:
        return (f"{self.codebook} on {self.passages} passages ({self.labelled_passages} with at least one label, "
                f"{self.passages - self.labelled_passages} with none)"
                + (f"; {self.left_out} left out (a label that is not a theme)" if self.left_out else "")
                + (f"; {counted(self.rows_left_out, 'row')} of the file left out (see the warnings)"
                   if self.rows_left_out else ""))

    def measurement(self, on: str) -> dict[str, object]:
        """These figures as a codebook's ``measured:`` block (``on``: what the passages are, in words):
        per theme precision and recall to two places, passages and fired, so a report can draw their
        sampling error; a figure with nothing under it (never fired, no passage) is left out."""
        themes: dict[str, dict[str, object]] = {}
        for row in self.themes.itertuples(index=False):
            figures: dict[str, object] = {}
            if int(row.fired):
                figures["precision"] = round(float(row.precision), 2)
            if int(row.passages):
                figures["recall"] = round(float(row.recall), 2)
            figures.update(passages=int(row.passages), fired=int(row.fired))
            themes[str(row.theme)] = figures
        return {"on": on, "themes": themes}


def _read_table(path: Path, needed: tuple[str, ...], what: str) -> pd.DataFrame:
    """A .csv, .tsv or .xlsx file as strings, column names lower-cased, with the ``needed`` columns; a
    column ``_row`` holds each row's line in the file. A CSV/TSV row with more or fewer fields than the
    header is left out, each with a line in ``attrs["problems"]``; the file may be UTF-8, UTF-16 with
    its byte-order mark, or cp1252 (``corpus.importer.decode_table_bytes``)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".xlsx"):
        raise SibkitError(f"{path}: a labelled file is .csv, .tsv or .xlsx")
    problems: list[tuple[int, str]] = []
    try:
        if suffix == ".xlsx":
            if not path.exists():
                raise FileNotFoundError(path)
            spreadsheet.check_workbook(path, MAX_LABELLED_BYTES)
            raw = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
            raw["_row"] = range(2, len(raw) + 2)
        else:
            raw = _read_delimited(path, "\t" if suffix == ".tsv" else None, problems)
    except FileNotFoundError:
        raise SibkitError(f"{path}: no such file") from None
    except SibkitError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SibkitError(f"{path}: cannot read the {what} ({in_one_line(exc)})") from None
    raw.columns = [str(c).strip().lower() if c != "_row" else c for c in raw.columns]
    raw.attrs["problems"] = [problem for _, problem in problems]
    raw.attrs["bad_rows"] = problems
    for column in needed:
        if column not in raw.columns:
            found = ", ".join(c for c in raw.columns if c != "_row")
            raise SibkitError(f"{path}: no {column!r} column (found: {found})")
    return raw


def _read_delimited(path: Path, delimiter: str | None, problems: list[tuple[int, str]]) -> pd.DataFrame:
    from sibkit.corpus.importer import (
        CSV_FIELD_LIMIT,
        UNCLOSED,
        decode_table_bytes,
        refuse_unclosed_quotes,
        table_delimiter,
    )

    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    text = decode_table_bytes(path.read_bytes())
    delimiter = delimiter or table_delimiter(text)
    rows = csv.reader(io.StringIO(refuse_unclosed_quotes(text, delimiter), newline=""), delimiter=delimiter)
    header = next(rows, None)
    if not header:
        raise SibkitError(f"{path}: the file is empty (no header row with text and themes columns)")
    kept: list[list[object]] = []
    for line, cells in enumerate(rows, start=2):  # rows as a spreadsheet numbers them (the header is row 1)
        if not "".join(cells).strip():
            continue
        if cells[0] == UNCLOSED:
            problems.append((line, f"{path.name} row {line}: a quote opened in this row is never closed (it would "
                                   "swallow every row after it); row left out"))
            continue
        if len(cells) != len(header):
            problems.append((line, f"{path.name} row {line}: {counted(len(cells), 'field')}, the header has "
                                   f"{len(header)}; row left out"))
            continue
        kept.append([*cells, line])
    return pd.DataFrame(kept, columns=[*header, "_row"], dtype=object)


def only_split(frame: pd.DataFrame, split: str | None) -> pd.DataFrame:
    """The passages of ``split`` (all when None); an error naming the split when it has none."""
    if not split:
        return frame
    chosen = frame[frame["split"] == split.lower()]
    if chosen.empty:
        raise SibkitError(f"no passage has split {split!r}")
    return chosen


def read_labelled(path: Path) -> pd.DataFrame:
    """A labelled file as a DataFrame with columns id, split, text, themes (a tuple of ids)."""
    raw = _read_table(path, ("text", "themes"), "labelled passages")
    problems: list[tuple[int, str]] = list(raw.attrs["bad_rows"])
    has_ids = "id" in raw.columns
    kept, first_on = [], {}
    for row in raw.to_dict("records"):
        line = int(row["_row"])
        where = f"{path.name} row {line}"
        passage_id = str(row["id"]).strip() if has_ids else str(line)
        if not passage_id:
            problems.append((line, f"{where}: no id; row left out"))
        elif not str(row["text"]).strip():
            problems.append((line, f"{where} (passage {passage_id}): no text; row left out"))
        elif passage_id in first_on:
            problems.append((line, f"{where}: passage {passage_id} is given again (first on row "
                                   f"{first_on[passage_id]}); row left out"))
        else:
            first_on[passage_id] = line
            kept.append((passage_id, str(row.get("split", "")).strip().lower(), str(row["text"]),
                         parse_labels(row["themes"])))
    frame = pd.DataFrame(kept, columns=["id", "split", "text", "themes"], dtype=object)
    frame.attrs["problems"] = [problem for _, problem in sorted(problems, key=lambda item: item[0])]
    return frame


def parse_labels(value: object) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    return tuple(sorted({part.strip() for part in _LABEL_SEPARATOR.split(str(value)) if part.strip()}))


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def _f1(precision: float, recall: float) -> float:
    if math.isnan(precision) or math.isnan(recall) or precision + recall == 0:
        return math.nan if math.isnan(precision) or math.isnan(recall) else 0.0
    return 2 * precision * recall / (precision + recall)


#: a second reader's say on one passage: (passage id, text, {theme: terms that fired}) -> the themes that fire
Adjust = Callable[[str, str, dict[str, list[str]]], dict[str, list[str]]]


def evaluate_codebook(codebook: Codebook, labelled: pd.DataFrame | Path | str, *, split: str | None = None,
                      count_negated: bool = False, adjust: Adjust | None = None) -> Evaluation:
    """Run the codebook over every labelled passage and compare what fires with the labels (after
    ``adjust``, e.g. the learned reader of ``sibkit.secondreader``, where given)."""
    frame = labelled if isinstance(labelled, pd.DataFrame) else read_labelled(Path(labelled))
    unreadable = list(frame.attrs.get("problems", []))
    frame = only_split(frame, split)
    measured = [t.id for t in codebook.themes if t.terms]
    compiled = compile_codebook(codebook)

    def fired_on(passage_id: str, text: str) -> dict[str, list[str]]:
        fired: dict[str, list[str]] = {}
        hits = compiled.match(text)
        structure = document_structure(text) if hits else None
        for hit in hits:
            if hit.negated and not count_negated:
                continue
            if structure is not None and structure.zone_of(hit.start, hit.end) != "body":
                continue
            terms = fired.setdefault(hit.theme, [])
            if hit.term not in terms:
                terms.append(hit.term)
        return adjust(passage_id, text, fired) if adjust is not None else fired

    passages = ((passage_id, text, labels, fired_on(passage_id, text))
                for passage_id, text, labels in zip(frame["id"], frame["text"], frame["themes"], strict=True))
    unmeasured = {t.id for t in codebook.themes if not t.terms}
    evaluation = _tally(f"{codebook.name} {codebook.version}", measured, passages, f"a theme of {codebook.name}",
                        unmeasured=unmeasured, unmeasured_as=f"a theme without terms in {codebook.name} (not measured)")
    evaluation.problems[:0] = unreadable
    evaluation.rows_left_out = len(unreadable)
    return evaluation


def _tally(name: str, measured: list[str], passages: Iterable[tuple[str, str, tuple[str, ...], dict[str, list[str]]]],
           known_as: str, *, unmeasured: Collection[str] = (), unmeasured_as: str = "") -> Evaluation:
    """Count agreement theme by theme: each passage's id, text, labels and the themes that fired on it
    (with the terms, or other words, that say why). A passage with a label neither measured nor in
    ``unmeasured`` is left out; a label in ``unmeasured`` is set aside."""
    known = set(measured)
    problems: list[str] = []
    tp = dict.fromkeys(measured, 0)
    fp = dict.fromkeys(measured, 0)
    fn = dict.fromkeys(measured, 0)
    support = dict.fromkeys(measured, 0)
    fired_count = dict.fromkeys(measured, 0)
    confusion: dict[tuple[str, str], int] = {}
    details = []
    labelled_passages = 0
    used = 0
    left_out = 0
    for passage_id, text, labels, fired in passages:
        unknown = [label for label in labels if label not in known and label not in unmeasured]
        if unknown:
            left_out += 1
            problems.append(f"passage {passage_id} left out: label {unknown[0]!r} is not {known_as}"
                            + (f" (nor {', '.join(repr(u) for u in unknown[1:])})" if len(unknown) > 1 else ""))
            continue
        for label in labels:
            if label in unmeasured and label not in known:
                problems.append(f"passage {passage_id}: label {label!r} is {unmeasured_as}; label set aside")
        used += 1
        labels = tuple(label for label in labels if label in known)
        labelled_passages += bool(labels)
        for theme in measured:
            on, wanted = theme in fired, theme in labels
            support[theme] += wanted
            fired_count[theme] += on
            if on and wanted:
                tp[theme] += 1
            elif on:
                fp[theme] += 1
                key = (theme, "; ".join(labels) or "(none)")
                confusion[key] = confusion.get(key, 0) + 1
                details.append((passage_id, theme, "false alarm", "; ".join(fired[theme]), "; ".join(labels), text))
            elif wanted:
                fn[theme] += 1
                details.append((passage_id, theme, "miss", "", "; ".join(labels), text))
    rows = []
    for theme in measured:
        precision = _ratio(tp[theme], tp[theme] + fp[theme])
        recall = _ratio(tp[theme], tp[theme] + fn[theme])
        rows.append((theme, support[theme], fired_count[theme], tp[theme], fp[theme], fn[theme], precision, recall,
                     _f1(precision, recall)))
    themes = pd.DataFrame(rows, columns=THEME_COLUMNS)
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    micro_p, micro_r = _ratio(total_tp, total_tp + total_fp), _ratio(total_tp, total_tp + total_fn)
    averages = pd.DataFrame([
        ("micro", micro_p, micro_r, _f1(micro_p, micro_r)),
        ("macro", themes["precision"].mean(), themes["recall"].mean(), themes["f1"].mean()),
    ], columns=["average", "precision", "recall", "f1"])
    confusion_frame = pd.DataFrame([(fired_theme, labels, count) for (fired_theme, labels), count in
                                    sorted(confusion.items(), key=lambda kv: (-kv[1], kv[0]))],
                                   columns=["fired", "labelled", "passages"])
    details_frame = pd.DataFrame(details, columns=["id", "theme", "kind", "fired_terms", "labels", "text"])
    return Evaluation(codebook=name, passages=used,
                      labelled_passages=labelled_passages, themes=themes, averages=averages,
                      confusion=confusion_frame, details=details_frame, problems=problems, left_out=left_out)


def compare_labellings(reference: pd.DataFrame | Path | str, other: pd.DataFrame | Path | str, *,
                       split: str | None = None, name: str = "second labelling") -> Evaluation:
    """How far a second labelling of the same passages agrees with a first: the second's precision,
    recall and F1 against the first, per theme and pooled, and Cohen's kappa per theme (``kappa``).

    Passages are matched by ``id``; the second file needs only ``id`` and ``themes`` columns (its
    ``text`` is ignored). Two careful people's agreement is the ceiling for any instrument measured
    against one of them: a codebook cannot be shown to agree with a labeller better than another
    labeller does. Themes are those either labelling uses."""
    first = reference if isinstance(reference, pd.DataFrame) else read_labelled(Path(reference))
    second = other if isinstance(other, pd.DataFrame) else _read_labels_only(Path(other))
    problems: list[str] = [*first.attrs.get("problems", []), *second.attrs.get("problems", [])]
    first = only_split(first, split)
    second_labels: dict[str, tuple[str, ...]] = {}
    for passage_id, labels in zip(second["id"], second["themes"], strict=True):
        if passage_id in second_labels:
            problems.append(f"passage {passage_id}: labelled twice in the second labelling; the first row kept")
            continue
        second_labels[passage_id] = labels
    missing = [passage_id for passage_id in first["id"] if passage_id not in second_labels]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise SibkitError(f"the second labelling lacks {len(missing)} of the first's passages ({shown}); "
                          "label every passage, or compare a split both hold")
    measured = sorted({label for labels in first["themes"] for label in labels}
                      | {label for passage_id in first["id"] for label in second_labels[passage_id]})
    passages = ((passage_id, text, labels, {theme: ["(labelled)"] for theme in second_labels[passage_id]})
                for passage_id, text, labels in zip(first["id"], first["text"], first["themes"], strict=True))
    evaluation = _tally(name, measured, passages, "a theme")
    evaluation.problems[:0] = problems
    themes = evaluation.themes
    negatives = len(first) - themes["true_pos"] - themes["false_pos"] - themes["misses"]
    themes["kappa"] = [_binary_kappa(int(tp), int(fp), int(fn), int(tn)) for tp, fp, fn, tn in
                       zip(themes["true_pos"], themes["false_pos"], themes["misses"], negatives, strict=True)]
    return evaluation


def _read_labels_only(path: Path) -> pd.DataFrame:
    """A labelling with ``id`` and ``themes`` columns (``text`` optional)."""
    raw = _read_table(path, ("id", "themes"), "labels")
    frame = pd.DataFrame({"id": raw["id"].astype(str).str.strip().values,
                          "themes": [parse_labels(v) for v in raw["themes"]]})
    frame.attrs["problems"] = raw.attrs["problems"]
    return frame


def _binary_kappa(both: int, second_only: int, first_only: int, neither: int) -> float:
    """Cohen's kappa of two labellings on one theme's presence (NaN when both never vary)."""
    total = both + second_only + first_only + neither
    if total == 0:
        return math.nan
    observed = (both + neither) / total
    first_yes, second_yes = both + first_only, both + second_only
    expected = (first_yes * second_yes + (total - first_yes) * (total - second_yes)) / total**2
    if math.isclose(expected, 1.0):
        return math.nan
    return (observed - expected) / (1 - expected)
