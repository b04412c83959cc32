"""``sibkit corpus add | add-indigo | fetch | status``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sibkit.corpus import ImportOutcome, ImportReport

from sibkit.cli_common import (
    ExecutorOption,
    JobsOption,
    StudyArgument,
    console,
    errors,
    print_frame,
    print_json,
    progress,
)
from sibkit.kinds import STUDY_KINDS, check_kind, help_list

KIND_HELP = help_list()

corpus_app = typer.Typer(no_args_is_help=True, help="Gather a study's documents into its database.")

AllowPrivateOption = Annotated[bool, typer.Option(
    "--allow-private", help="Also download from loopback, private and link-local addresses (your own network).")]

FINE = ("added", "linked", "unchanged")
#: outcomes that are explained, not failures: a landing page followed, a login-only link, robots.txt,
#: an item settled by an earlier run, a dead live URL (its archive copy's outcome is reported separately)
EXPLAINED = ("landing", "not_public", "disallowed", "skipped", "empty", "dead")


def report(outcomes: list[ImportOutcome] | ImportReport, *, skipped_rows: int = 0,
           nothing: str = "nothing to do") -> None:
    """A summary line (``nothing`` when there was no item at all), and one line per problem (the batch
    has gone on regardless); exit status 1 when any item failed or was refused, so a script sees it."""
    from sibkit.corpus import ImportReport

    result = outcomes if isinstance(outcomes, ImportReport) else ImportReport(list(outcomes))
    counts = dict(result.counts)
    for outcome in result.outcomes:
        if outcome.warns:
            errors.print(f"warning: {outcome.line()}", markup=False, highlight=False, soft_wrap=True)
        elif outcome.status == "skipped" and not outcome.origin.startswith(("http://", "https://")):
            errors.print(f"note: {outcome.line()}", markup=False, highlight=False, soft_wrap=True)  # a file left out
    console.print(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or nothing,
                  markup=False, soft_wrap=True)
    failed = skipped_rows + sum(n for status, n in counts.items() if status not in (*FINE, *EXPLAINED))
    if failed:
        errors.print(f"{failed} item(s) not imported; see the warnings above", markup=False, highlight=False)
        raise typer.Exit(1)


@corpus_app.command("add")
def add_command(
    study_path: StudyArgument,
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: the study's corpus "
                                                       "folder, where corpus/<case id>/... links to that case).")]
    = None,
    case: Annotated[list[str] | None, typer.Option("--case", help="Link the documents to this case (repeatable).")]
    = None,
    doc_type: Annotated[str, typer.Option("--type", help=f"The kind of document: {KIND_HELP} (spaces or hyphens "
                                          "also accepted). A study's min_documents counts only the kinds it names "
                                          f"(by default {', '.join(STUDY_KINDS)}).", callback=check_kind)]
    = "other",
    manifest: Annotated[Path | None, typer.Option("--manifest", help="CSV of path (or URL), case_ids, title, "
                                                  "type, date.")] = None,
    allow_private: AllowPrivateOption = False,
    allow_outside: Annotated[bool, typer.Option("--allow-outside", help="Let manifest rows name files outside "
                                                "the manifest's folder.")] = False,
    follow_links: Annotated[bool, typer.Option("--follow-links", help="Read files that a symlink leads out of "
                                               "the folder they are named or found in (refused by default).")]
    = False,
    jobs: JobsOption = 1,
    executor: ExecutorOption = "local",
) -> None:
    """Import PDF, DOCX, HTML, TXT and Markdown documents and link them to cases."""
    from sibkit.corpus import (
        ImportOutcome,
        ImportReport,
        add_paths,
        check_case_ids,
        check_type,
        open_study_store,
        read_manifest,
    )
    from sibkit.corpus.fetch import FetchSettings, fetch_reading_list
    from sibkit.corpus.importer import ImportItem, import_items
    from sibkit.parallel import parse_executor, resolve_jobs
    from sibkit.study import load_study
    jobs = resolve_jobs(jobs)
    scheduler = parse_executor(executor)
    study = load_study(study_path)
    doc_type = check_type(doc_type)
    known = check_case_ids(study, case or ())
    store = open_study_store(study)
    outcomes = ImportReport(keep_all=False)  # counts, and only the outcomes worth a warning line
    skipped_rows = 0
    if manifest is not None:
        rows, problems = read_manifest(manifest, allow_outside=allow_outside, follow_links=follow_links)
        skipped_rows += len(problems)
        for problem in problems:
            errors.print(f"warning: {problem}", markup=False, highlight=False, soft_wrap=True)
        urls = []
        items: list[ImportItem] = []
        for row in rows:
            if row["note"]:
                errors.print(f"warning: {row['note']}", markup=False, highlight=False, soft_wrap=True)
            bad = [c for c in row["case_ids"] if c not in known]  # type: ignore[union-attr]
            if bad:
                errors.print(f"warning: {row['where']}: case {bad[0]!r} is not in the dataset; row skipped",
                             markup=False, highlight=False, soft_wrap=True)
                skipped_rows += 1
                continue
            target = str(row["path"])
            if target.lower().startswith(("http://", "https://")):
                urls.append({"url": target, "title": row["title"], "case_ids": row["case_ids"], "type": row["type"]})
                continue
            items.append(ImportItem(Path(target), None if allow_outside or follow_links else manifest.parent,
                                    tuple(row["case_ids"]), str(row["title"]), str(row["type"]),  # type: ignore[arg-type]
                                    row["date"]))  # type: ignore[arg-type]
        if items:
            with progress("Importing") as step:
                import_items(store, items, jobs=jobs, total=len(items), progress=step, report=outcomes,
                             executor=scheduler)
        if urls:
            from sibkit import paths as sibkit_paths

            outcomes.add(fetch_reading_list(store, urls, sibkit_paths.data_dir() / "fetch-cache",
                                            FetchSettings(allow_private=allow_private)))
    corpus_folder = study.resolve(study.corpus.folder)
    targets = list(paths or ([] if manifest else [corpus_folder]))
    missing = [p for p in targets if not p.exists() and not p.is_symlink()]
    for path in missing:
        outcomes.add([ImportOutcome(str(path), "failed", "no such file or folder")])
    existing = [p for p in targets if p not in missing]
    if existing:
        with progress("Importing") as step:
            add_paths(store, existing, case_ids=case or [], doc_type=doc_type, corpus_folder=corpus_folder,
                      known_cases=known, progress=step, jobs=jobs, report=outcomes, executor=scheduler,
                      follow_links=follow_links)
    nothing = "nothing to do"
    if not paths and manifest is None:
        nothing = (f"no documents in {corpus_folder}: put each case's files in {corpus_folder}/<case id>/ "
                   "(the folder links them to that case), or name files with --case ID, or a --manifest")
    report(outcomes, skipped_rows=skipped_rows, nothing=nothing)


@corpus_app.command("add-indigo")
def add_indigo_command(study_path: StudyArgument) -> None:
    """Add each selected case's INDIGO record (its narrative fields) as a document."""
    from sibkit.corpus import add_indigo_records, open_study_store, selected_cases
    from sibkit.study import load_study
    study = load_study(study_path)
    store = open_study_store(study)
    cases = selected_cases(study, store)
    report(add_indigo_records(store, study.dataset(), cases))


@corpus_app.command("fetch")
def fetch_command(
    study_path: StudyArgument,
    show_plan: Annotated[bool, typer.Option("--plan", help="List what would be fetched and why; fetch nothing.")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --plan: print the plan as JSON.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Fetch again URLs settled by an earlier run.")] = False,
    delay: Annotated[float | None, typer.Option("--delay", help="Seconds between requests to one host "
                                                "(default: the study's corpus.fetch.delay, 1).")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds before a download gives up "
                                                  "(default: corpus.fetch.timeout, 30).")] = None,
    max_mb: Annotated[float | None, typer.Option("--max-mb", help="Largest file to download, in MB "
                                                 "(default: corpus.fetch.max_mb, 100).")] = None,
    allow_private: AllowPrivateOption = False,
) -> None:
    """Gather the selected cases' reading list: documents, landing pages' attachments, archive copies
    of dead links; login-only links marked not public; robots.txt respected; resumes where it stopped."""
    from sibkit.corpus import fetch_plan, fetch_study, open_study_store
    from sibkit.corpus.gather import settings_from
    from sibkit.study import load_study
    study = load_study(study_path)
    store = open_study_store(study)
    if show_plan:
        table = fetch_plan(study, store)
        if as_json:
            print_json({"items": table.to_dict("records")})
            return
        print_frame(table[["url", "cases", "kind", "action", "why", "fallback"]], title="Fetch plan")
        counts = table["action"].value_counts().to_dict()
        console.print(f"{len(table)} listed URLs: " + ", ".join(f"{n} {a}" for a, n in counts.items()), markup=False)
        return
    policy = study.corpus.fetch
    overrides = {key: value for key, value in (("delay", delay), ("timeout", timeout), ("max_mb", max_mb))
                 if value is not None}
    if allow_private:
        overrides["allow_private"] = True
    settings = settings_from(policy.model_copy(update=overrides))
    with progress("Fetching") as step:
        outcomes = fetch_study(study, store, settings=settings, refresh=refresh, progress=step)
    report(outcomes)


@corpus_app.command("status")
def status_command(
    study_path: StudyArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Per selected case: documents *listed* (INDIGO's reading list) and *held* (readable in the study's
    corpus), how many of each the study counts, problems, and cases still lacking documents."""
    from sibkit.corpus import open_study_store, study_status
    from sibkit.study import load_study
    study = load_study(study_path)
    store = open_study_store(study)
    table = study_status(study, store).rename(columns=STATUS_HEADINGS)
    if as_json:
        print_json({"cases": table.to_dict("records"),
                    "lacking": table.loc[table["lacking"] > 0, "case_id"].tolist()})
        return
    print_frame(table, title="Corpus by case: listed = on INDIGO's reading list, held = readable in the study's "
                "corpus (INDIGO records not counted), counted = of the kinds the study counts")
    lacking = table[table["lacking"] > 0]
    listed_only = int((table["listed"] > table["held"]).sum())
    console.print(f"{len(lacking)} of {len(table)} selected cases lack counted documents; {listed_only} list more "
                  "documents on INDIGO than the corpus holds (sibkit corpus fetch gathers them)", markup=False)


STATUS_HEADINGS = {"listed_in_indigo": "listed", "documents": "held"}


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")
