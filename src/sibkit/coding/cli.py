"""``sibkit code``, ``sibkit kwic``, ``sibkit reliability``, ``sibkit review export|import`` and ``sibkit codebook``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from sibkit.cli_common import (
    ExecutorOption,
    JobsOption,
    StudyArgument,
    console,
    errors,
    json_records,
    print_frame,
    print_json,
    progress,
    warn,
)
from sibkit.errors import SibkitError
from sibkit.words import counted

review_app = typer.Typer(no_args_is_help=True, help="Review automatic hits in a spreadsheet (export, import) and "
                         "audit what the keywords miss; in the browser: `sibkit serve STUDY`.")
codebook_app = typer.Typer(no_args_is_help=True, help="Look at, check, measure and compare codebooks; train and "
                           "run the learned second reader.")


def _store(study_path: Path):  # type: ignore[no-untyped-def]
    from sibkit.corpus import open_study_store
    from sibkit.study import load_study

    study = load_study(study_path)
    return study, open_study_store(study)


def code_command(study_path: StudyArgument, jobs: JobsOption = 1, executor: ExecutorOption = "local") -> None:
    """Code every document of the study with its codebook (only changed themes are re-coded)."""
    from sibkit.coding import code_documents, study_codebook
    from sibkit.parallel import parse_executor, resolve_jobs
    jobs = resolve_jobs(jobs)
    scheduler = parse_executor(executor)
    study, store = _store(study_path)
    codebook = study_codebook(study)
    with progress("Coding") as step:
        report = code_documents(store, codebook, progress=step, jobs=jobs, executor=scheduler)
    for problem in report.problems:
        errors.print(f"warning: {problem}", markup=False, highlight=False, soft_wrap=True)
    if report.documents_without_case:
        n = report.documents_without_case
        errors.print(f"note: {counted(n, 'readable document')} {'is' if n == 1 else 'are'} linked to no case, so "
                     "not coded (only a case's documents are evidence): link one with `sibkit corpus add STUDY "
                     "FILE --case ID` or a corpus/<case id>/ folder (from a QDA tool: `sibkit import qdpx FILE "
                     "STUDY --case ID`)",
                     markup=False, highlight=False, soft_wrap=True)
    console.print(f"Coded {counted(report.documents_coded, 'document')} ({report.documents_unchanged} unchanged): "
                  f"{counted(report.references_added, 'reference')} added, {report.references_removed} removed"
                  + (f"; themes re-coded: {', '.join(report.themes_changed)}" if report.themes_changed else ""),
                  markup=False)


def kwic_command(
    study_path: StudyArgument,
    theme: Annotated[str, typer.Argument(help="Theme id (see `sibkit codebook show`).")],
    case: Annotated[str | None, typer.Option("--case", help="Only this case's documents.")] = None,
    width: Annotated[int, typer.Option("--width", help="Characters of context either side.")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Keyword in context: every hit of a theme, with its document and page."""
    from sibkit.coding import kwic, study_codebook
    from sibkit.corpus import check_case_id

    study, store = _store(study_path)
    study_codebook(study).theme(theme)  # one clear error for an unknown theme
    if case is not None:
        check_case_id(study, case)
    table = kwic(store, theme, case, width, count_negated=study.count_negated)
    if as_json:
        print_json(table.assign(case_ids=table["case_ids"].map(list)).to_dict("records"))
        return
    for row in table.itertuples(index=False):  # document text is escaped: it may contain [markup]
        if row.counts_for is None:
            status = f"  [red]not counted: {escape(row.why_not or 'rejected')}[/red]"
        elif row.counts_for != row.theme:
            status = f"  counts for {escape(row.counts_for)}"
        else:
            status = "  counts (a coder overruled its negation or zone)" if row.overruled else ""
        marker = "[red]NOT[/red] " if row.negated else ""
        console.print(f"{escape(row.left):>{width}} {marker}[bold]{escape(row.text)}[/bold] "
                      f"{escape(row.right):<{width}}  "
                      f"({escape(row.title)}, p. {row.page}; {' '.join(row.case_ids)}){status}", highlight=False,
                      soft_wrap=True)
    kept = int(table["counts_for"].isna().sum())
    console.print(f"{len(table)} references; {kept} do not count (negated, outside the document's text, rejected "
                  "or undecided suggestions)", markup=False)


def _checked_review_file(path: Path) -> Path:
    """``-o``: a review file's kind checked as it is parsed, before the study's data loads."""
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise SibkitError(f"{path}: write the review file as .xlsx or .csv")
    return path


@review_app.command("export")
def review_export_command(
    study_path: StudyArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="The review file to write (.xlsx or .csv).",
                                         callback=_checked_review_file)],
    theme: Annotated[str | None, typer.Option("--theme", help="Only this theme.")] = None,
    case: Annotated[str | None, typer.Option("--case", help="Only this case.")] = None,
    width: Annotated[int, typer.Option("--width", help="Characters of context either side.")] = 80,
) -> None:
    """Write one row per unreviewed hit, with an empty decision column to fill in."""
    from sibkit.coding import export_rows, study_codebook, write_review_file
    from sibkit.corpus import check_case_id

    study, store = _store(study_path)
    if theme:
        study_codebook(study).theme(theme)
    if case is not None:
        check_case_id(study, case)
    frame = export_rows(store, theme=theme, case_id=case, width=width)
    write_review_file(frame, output)
    console.print(f"Wrote {len(frame)} hits to {output}; fill the decision column with accept, reject, a theme id "
                  "or overrule (accept, and count it although the negated or zone column says it would not), then "
                  "run `sibkit review import`.", markup=False, soft_wrap=True)


@review_app.command("import")
def review_import_command(
    study_path: StudyArgument,
    review_file: Annotated[Path, typer.Argument(help="A filled-in review file (.xlsx or .csv).")],
    coder: Annotated[str, typer.Option("--coder", help="Who made these decisions.")],
) -> None:
    """Append the decisions of a review file to the study's review log."""
    from sibkit.coding import import_decisions, study_codebook
    study, store = _store(study_path)
    themes = {t.id for t in study_codebook(study).themes}
    result = import_decisions(store, review_file, coder, themes)
    for problem in result.problems:
        errors.print(f"warning: {problem}", markup=False, highlight=False, soft_wrap=True)
    if result.already_imported:
        errors.print(f"note: {review_file.name} was imported before: all {counted(result.repeated, 'decision')} "
                     f"repeat {coder}'s latest ones, so nothing was stored again", markup=False, highlight=False)
    elif result.repeated:
        repeat = "repeats" if result.repeated == 1 else "repeat"
        errors.print(f"note: {counted(result.repeated, 'decision')} {repeat} {coder}'s latest ones and "
                     f"{'was' if result.repeated == 1 else 'were'} not stored again", markup=False, highlight=False)
    console.print(f"Stored {counted(result.decisions, 'decision')} by {coder} "
                  f"({counted(result.manual_references, 'manual reference')}); "
                  f"{counted(result.skipped, 'row')} skipped", markup=False)
    if result.problems:
        raise typer.Exit(1)


def reliability_command(
    study_path: StudyArgument,
    coders: Annotated[str | None, typer.Option("--coders", help="Comma-separated coders (default: all).")] = None,
    theme: Annotated[str | None, typer.Option("--theme", help="Only this theme.")] = None,
    unit: Annotated[str, typer.Option("--unit", help="reference, document or case.")] = "reference",
    automatic: Annotated[bool, typer.Option("--automatic", help="Count the codebook as one more coder.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How far coders agree: percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha (with a
    bootstrap interval), per theme and as the mean of the themes."""
    from sibkit.coding.agreement import POOLED_DEFINITION, reliability
    _, store = _store(study_path)
    table = reliability(store, coders=coders.split(",") if coders else None, theme=theme, unit=unit,
                        include_automatic=automatic)
    if as_json:
        print_json([{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                    for row in table.to_dict("records")])
        return
    chosen = table["coders"].iloc[0].split(", ") if len(table) else []
    rated = int(table["units"].iloc[-1]) if len(table) else 0
    kappa = ("Cohen's kappa is left blank where both coders gave one and the same code throughout (it is undefined)"
             if len(chosen) == 2 else "Cohen's kappa is left out: it needs exactly two coders")
    console.print(f"{len(chosen)} coders ({', '.join(chosen)}); {rated} {unit}s rated by two or more of them"
                  + (f" (theme {theme})" if theme else "") + f". {kappa}; Fleiss' kappa "
                  "uses only the units every coder rated (fleiss_units).", markup=False, soft_wrap=True)
    if rated < 30:
        warn(f"only {rated} units: the coefficients are very uncertain")
    print_frame(table.drop(columns=["unit", "coders"]).round(3), title=f"Agreement per theme ({unit}s)")
    if theme is None:
        console.print(POOLED_DEFINITION + ".", markup=False, soft_wrap=True)


@codebook_app.command("show")
def codebook_show_command(
    name: Annotated[str, typer.Argument(help="A built-in codebook name or a YAML file.")] = "relational-sib",
) -> None:
    """List a codebook's themes, definitions and terms."""
    from sibkit.coding import load_codebook
    codebook = load_codebook(name)
    import pandas as pd

    print_frame(pd.DataFrame([(t.id, t.parent or "", t.name, len(t.terms)) for t in codebook.themes],
                             columns=["id", "parent", "name", "terms"]), title=f"{codebook.name} {codebook.version}")


@codebook_app.command("check")
def codebook_check_command(path: Annotated[Path, typer.Argument(help="A codebook YAML file.")]) -> None:
    """Validate a codebook; one line per problem, naming the theme and term."""
    from sibkit.coding import load_codebook
    if not path.exists():
        raise SibkitError(f"{path}: no such codebook file")
    codebook = load_codebook(path)
    console.print(f"{path}: {counted(len(codebook.themes), 'theme')}, "
                  f"{counted(sum(len(t.terms) for t in codebook.themes), 'term')}: valid", markup=False)


#: ``[CODEBOOK] LABELLED``: one argument is the labelled file; two are a codebook, then the file
CodebookThenLabelled = Annotated[str, typer.Argument(
    metavar="[CODEBOOK] LABELLED",
    help="A codebook (built-in name or YAML file; default relational-sib), then a labelled file "
         "(.csv, .tsv or .xlsx).")]
LabelledAfterCodebook = Annotated[str | None, typer.Argument(metavar="", show_default=False)]


@codebook_app.command("evaluate")
def codebook_evaluate_command(
    first: CodebookThenLabelled,
    second: LabelledAfterCodebook = None,
    split: Annotated[str | None, typer.Option("--split", help="Only passages of this split (e.g. dev, test).")] = None,
    details: Annotated[bool, typer.Option("--details", help="Also list every miss and false alarm.")] = False,
    count_negated: Annotated[bool, typer.Option("--count-negated", help="Count hits in negated clauses.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    reader: Annotated[str | None, typer.Option("--reader", help="Also with the learned reader: 'packaged' (the one "
                                               "shipped for the codebook) or a reader file.")] = None,
    measured: Annotated[str | None, typer.Option("--measured", metavar="ON", help="Print the figures as a "
                                                 "codebook's 'measured:' block (YAML), ON saying what the passages "
                                                 "are, to paste into the codebook file.")] = None,
) -> None:
    """Measure a codebook on labelled passages: precision, recall and F1 per theme."""
    from sibkit.coding import evaluate_codebook, load_codebook
    codebook_name, labelled = (first, second) if second is not None else ("relational-sib", first)
    if reader is not None:
        print_reader_evaluation(load_codebook(codebook_name), Path(labelled), reader, split, count_negated, as_json)
        return
    evaluation = evaluate_codebook(load_codebook(codebook_name), Path(labelled), split=split,
                                   count_negated=count_negated)
    for problem in evaluation.problems:
        errors.print(f"warning: {problem}", markup=False, highlight=False, soft_wrap=True)
    if measured is not None:
        import yaml

        print(yaml.safe_dump({"measured": evaluation.measurement(measured)}, sort_keys=False, width=100,
                             allow_unicode=True), end="")
        return
    if as_json:
        payload = {"codebook": evaluation.codebook, "split": split, "passages": evaluation.passages,
                   "labelled_passages": evaluation.labelled_passages, "left_out": evaluation.left_out,
                   "themes": json_records(evaluation.themes), "averages": json_records(evaluation.averages),
                   "confusion": json_records(evaluation.confusion)}
        if details:
            payload["details"] = json_records(evaluation.details)
        print_json(payload)
        return
    console.print(evaluation.summary() + (f"; split {split}" if split else ""), markup=False, soft_wrap=True)
    print_frame(evaluation.themes.round(3), title="Per theme")
    print_frame(evaluation.averages.round(3), title="Averages")
    if not evaluation.confusion.empty:
        print_frame(evaluation.confusion, title="False alarms: the theme that fired, the passage's labels")
    if details:
        for row in evaluation.details.itertuples(index=False):
            fired = f" (fired: {row.fired_terms})" if row.fired_terms else ""
            console.print(f"{row.id} {row.kind} {row.theme}{fired} [labels: {row.labels or 'none'}] {row.text}",
                          markup=False, highlight=False, soft_wrap=True)


@codebook_app.command("agreement")
def codebook_agreement_command(
    first: Annotated[Path, typer.Argument(help="The first labelling (.csv, .tsv or .xlsx: id, text, themes).")],
    second: Annotated[Path, typer.Argument(help="A second labelling of the same passages (id, themes).")],
    split: Annotated[str | None, typer.Option("--split", help="Only passages of this split of the first.")] = None,
    details: Annotated[bool, typer.Option("--details", help="Also list every passage they differ on.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How far two people's labellings of the same passages agree: the second's precision, recall and
    F1 against the first per theme, and Cohen's kappa. The ceiling for any codebook measured against one."""
    from sibkit.coding import compare_labellings
    evaluation = compare_labellings(first, second, split=split, name=second.name)
    for problem in evaluation.problems:
        errors.print(f"warning: {problem}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        payload = {"first": str(first), "second": str(second), "split": split, "passages": evaluation.passages,
                   "labelled_passages": evaluation.labelled_passages,
                   "themes": json_records(evaluation.themes), "averages": json_records(evaluation.averages)}
        if details:
            payload["details"] = json_records(evaluation.details)
        print_json(payload)
        return
    console.print(f"{second.name} against {first.name} on {evaluation.passages} passages"
                  + (f" (split {split})" if split else "") + f" ({evaluation.labelled_passages} with at least one "
                  f"label in the first, {evaluation.passages - evaluation.labelled_passages} with none). "
                  "'passages': labelled in the first; 'fired': in the second; a 'false_pos' is a theme only the "
                  "second gave, a miss one only the first gave.", markup=False, soft_wrap=True)
    small = evaluation.themes[evaluation.themes["passages"] < 10]["theme"].tolist()
    if small:
        warn(f"fewer than 10 passages in the first labelling for {', '.join(small)}: their figures are "
             "very uncertain")
    print_frame(evaluation.themes.rename(columns={"fired": "second"}).round(3), title="Per theme")
    print_frame(evaluation.averages.round(3), title="Averages")
    if details:
        for row in evaluation.details.itertuples(index=False):
            side = "second only" if row.kind == "false alarm" else "first only"
            console.print(f"{row.id} {row.theme} ({side}) [first: {row.labels or 'none'}] {row.text}",
                          markup=False, highlight=False, soft_wrap=True)


@codebook_app.command("mine")
def codebook_mine_command(
    first: CodebookThenLabelled,
    second: LabelledAfterCodebook = None,
    theme: Annotated[str | None, typer.Option("--theme", help="Only this theme.")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Only passages of this split.")] = None,
    max_words: Annotated[int, typer.Option("--max-words", min=1, max=6, help="Longest phrase, in words.")] = 3,
    min_misses: Annotated[int, typer.Option("--min-misses", min=1, help="Least misses a phrase must find.")] = 2,
    top: Annotated[int, typer.Option("--top", min=1, help="Phrases per theme.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Candidate terms: the phrases of the labelled passages the codebook missed, per theme, with how often
    passages holding them carry the theme. Found on these passages: test a term made from one on others."""
    from sibkit.coding import load_codebook
    from sibkit.coding.mining import mine_terms
    codebook_name, labelled = (first, second) if second is not None else ("relational-sib", first)
    codebook = load_codebook(codebook_name)
    table = mine_terms(codebook, Path(labelled), theme=theme, split=split, max_words=max_words,
                       min_misses=min_misses, top=top)
    if as_json:
        print_json(json_records(table))
        return
    console.print(f"Phrases of the passages {codebook.name} {codebook.version} missed in {Path(labelled).name}"
                  + (f" (split {split})" if split else "") + ": misses_found of the theme's misses; passages "
                  "holding the phrase, with_theme of them labelled with it (precision, and the lower end of its "
                  "Wilson 95% interval). Mined from these passages, so these figures flatter every candidate: "
                  "measure a term made from one on passages you did not mine.", markup=False, soft_wrap=True)
    if table.empty:
        console.print("No phrase finds enough misses to list.", markup=False)
        return
    print_frame(table.round(3), title="Candidate phrases per theme")


@codebook_app.command("terms")
def codebook_terms_command(
    study_path: StudyArgument,
    theme: Annotated[str | None, typer.Option("--theme", help="Only this theme's terms.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per search term, from the study's review decisions: hits, accepted, rejected, precision, cases reached."""
    from sibkit.coding import study_codebook, term_table
    study, store = _store(study_path)
    codebook = study_codebook(study)
    if theme:
        codebook.theme(theme)
    table = term_table(store, codebook)
    if theme:
        table = table[table["theme"] == theme]
    if as_json:
        print_json(json_records(table))
        return
    reviewed = int(table["reviewed"].sum())
    console.print(f"{codebook.name} {codebook.version}: {int(table['hits'].sum())} automatic references, "
                  f"{reviewed} reviewed; precision is accepted / reviewed (empty where none was reviewed)",
                  markup=False)
    print_frame(table.round(3), title="Terms")


@codebook_app.command("diff")
def codebook_diff_command(
    old: Annotated[str, typer.Argument(help="The codebook in use (built-in name or YAML file).")],
    new: Annotated[str, typer.Argument(help="The changed codebook.")],
    study_path: StudyArgument,
    details: Annotated[bool, typer.Option("--details", help="List every added and removed reference.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which references a codebook change would add and remove in the study (nothing is stored)."""
    from sibkit.coding import codebook_diff, diff_summary, load_codebook
    _study, store = _store(study_path)
    old_book, new_book = load_codebook(old, Path.cwd()), load_codebook(new, Path.cwd())
    diff = codebook_diff(old_book, new_book, store)
    summary = diff_summary(diff, old_book, new_book)
    if as_json:
        print_json({"old": f"{old_book.name} {old_book.version}", "new": f"{new_book.name} {new_book.version}",
                    "themes": json_records(summary),
                    "references": json_records(diff.assign(case_ids=diff["case_ids"].map(list)))})
        return
    console.print(f"{old_book.name} {old_book.version} -> {new_book.name} {new_book.version}: "
                  f"{counted(int((diff['change'] == 'added').sum()), 'reference')} added, "
                  f"{int((diff['change'] == 'removed').sum())} removed", markup=False)
    print_frame(summary, title="Per theme")
    if details:
        for row in diff.itertuples(index=False):
            console.print(f"{row.change} {row.theme} ({row.term}): {row.text!r} in {row.title} "
                          f"[{' '.join(row.case_ids)}]" + (f" (review: {row.review})" if row.review else ""),
                          markup=False, highlight=False, soft_wrap=True)


def print_reader_evaluation(codebook: Any, labelled: Path, reader_spec: str, split: str | None, count_negated: bool,
                            as_json: bool) -> None:
    """``sibkit codebook evaluate --reader``: the codebook alone and with the learned reader, per theme."""
    from sibkit.secondreader.evaluate import evaluate_with_reader  # the reader's model, not its CLI
    from sibkit.secondreader.files import load_named, staleness

    reader = load_named(reader_spec, codebook, Path.cwd())
    stale = staleness(reader, codebook)
    result = evaluate_with_reader(codebook, labelled, reader, split=split, count_negated=count_negated)
    for problem in result.alone.problems:
        errors.print(f"warning: {problem}", markup=False, highlight=False, soft_wrap=True)
    table, averages = result.table(), result.averages()
    if as_json:
        print_json({"codebook": result.alone.codebook, "reader": result.reader, "split": split,
                    "passages": result.alone.passages, "cross_validated": result.cross_validated,
                    "propose_at": reader.propose_at, "flag_below": reader.flag_below, "warning": stale,
                    "themes": json_records(table), "averages": json_records(averages)})
        return
    if stale:
        warn(stale)
    console.print(f"{result.alone.summary()}{', split ' + split if split else ''}; learned reader {result.reader} "
                  f"(propose at >= {reader.propose_at:g}, flag below {reader.flag_below:g}), its judgements taken as "
                  "they are (as with reader.count_unreviewed)", markup=False, soft_wrap=True)
    if result.cross_validated:
        console.print(f"{result.cross_validated} of these passages were among the reader's training examples: "
                      "they are scored by 5-fold cross-validation (readers trained without them).", markup=False,
                      soft_wrap=True)
    print_frame(table.round(3), title="Per theme: codebook alone, and codebook + learned reader")
    print_frame(averages.round(3), title="Averages")


def register(app: typer.Typer) -> None:
    app.command("code")(code_command)
    app.command("kwic")(kwic_command)
    app.command("reliability")(reliability_command)
    app.add_typer(review_app, name="review")
    app.add_typer(codebook_app, name="codebook")
