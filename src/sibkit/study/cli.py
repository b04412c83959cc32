"""``sibkit study init|check``, ``sibkit select`` and ``sibkit classify``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sibkit.cli_common import DataOption, StudyArgument, console, errors, load_with_data, print_frame, print_json, warn
from sibkit.errors import SibkitError
from sibkit.words import counted

if TYPE_CHECKING:
    import pandas as pd

    from sibkit.study.model import Study

study_app = typer.Typer(no_args_is_help=True, help="Create and check study files.")


@study_app.command("init")
def init_command(path: Annotated[Path, typer.Argument(help="Where to write the example study file.")],
                 force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False) -> None:
    """Write a commented example study file to start from, and make the corpus folder it names."""
    from sibkit.study.model import load_study

    if path.exists() and not force:
        raise SibkitError(f"{path} already exists; pass --force to overwrite it")
    text = resources.files("sibkit.study").joinpath("template.yaml").read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    study = load_study(path)
    corpus = study.resolve(study.corpus.folder)
    try:
        corpus.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SibkitError(f"wrote {path}, but cannot make its corpus folder {corpus} ({exc.strerror or exc})") from None
    console.print(f"Wrote {path} and made its corpus folder {corpus} (put documents in {corpus}/<case id>/); "
                  f"edit the study, then run `sibkit select {path}`.", markup=False, soft_wrap=True)


@study_app.command("check")
def check_command(study_path: StudyArgument,
                  as_json: Annotated[bool, typer.Option("--json", help="Print every setting, defaults included, "
                                                        "as JSON.")] = False) -> None:
    """Validate a study file and summarise what it will do (paths resolved, unset options left out)."""
    from sibkit.study.model import load_study

    study = load_study(study_path)
    problems = theme_problems(study)
    missing = _missing_data(study)
    if as_json:
        print_json(study.model_dump(mode="json", by_alias=True))
    else:
        for problem in problems:
            warn(problem)
        if missing is not None:
            warn(f"data: {missing}: no such file or folder; `sibkit data list` shows the releases held, "
                 "and `sibkit data download --from FOLDER` keeps an export as one")
        for line in study_summary(study, problems):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if problems or missing is not None:
        raise typer.Exit(1)


def _missing_data(study: Study) -> Path | None:
    """The folder or zip the study's ``data`` names, when it is not there (a release or URL is never)."""
    source = study.data_source()
    return source if isinstance(source, Path) and not source.exists() else None


def theme_problems(study: Study) -> list[str]:
    """The study's codebook read (an error naming the study's ``codebook`` field when it cannot be), and a
    line for each theme id a setting names that the codebook lacks (``sibkit run`` would leave it out,
    ``sibkit qca`` refuses it)."""
    from sibkit.coding import study_codebook

    source = study._path.name if study._path is not None else "study"
    try:
        codebook = study_codebook(study)
    except SibkitError as exc:
        raise SibkitError(f"{source}: codebook: {exc}") from None
    ids = {theme.id for theme in codebook.themes}
    named = [("analysis.primary_themes", study.analysis.primary_themes or []),
             *((f"analysis.published[{n}].themes", item.themes) for n, item in enumerate(study.analysis.published)),
             ("qca.conditions", study.qca.conditions), ("qca.expectations", list(study.qca.expectations)),
             ("qca.theme_anchors", list(study.qca.theme_anchors))]
    return [f"{source}: {where}: {theme!r} is not a theme of {codebook.name}"
            for where, themes in named for theme in dict.fromkeys(themes) if theme not in ids]


def _compact(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_compact(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "; ".join(_compact(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def study_summary(study: Study, problems: list[str] | None = None) -> list[str]:
    """The resolved study in a few readable lines: what data, which steps, which choices (``problems``: the
    lines ``theme_problems`` found, said instead of "OK")."""
    from sibkit.coding.matcher import describe_engine
    from sibkit.releases.store import describe_source
    from sibkit.study.selection import Counting, describe_step

    data = describe_source(study.data_source())
    verdict = "OK: the study file is valid."
    if problems:
        verdict = (f"The study file is read, but {counted(len(problems), 'setting')} "
                   f"{'names' if len(problems) == 1 else 'name'} a theme its codebook lacks (the warnings above).")
    elif _missing_data(study) is not None:
        verdict = "The study file is read, but the data it names cannot be found (the warning above)."
    lines = [f"{study.title}  ({study.path})", verdict, f"data: {data}", "selection:"]
    lines += [f"  {n}. {describe_step(step)[0]}" + (f": {Counting.of(step).phrase()}" if step.min_documents is not None
                                                     else "")
              for n, step in enumerate(study.selection, 1)] or ["  (all projects)"]
    lines.append(f"database: {study.database_url()}")
    lines.append(f"matcher engine: {describe_engine()}")
    lines.append(f"corpus folder: {study.resolve(study.corpus.folder)}")
    lines.append(f"report folder: {study.resolve(study.report.folder)}")
    dump = study.model_dump(mode="json", by_alias=True, exclude_none=True)
    for section in dump:
        if section in ("title", "data", "selection", "report"):
            continue
        if section == "follow_links" and section not in study.model_fields_set:  # said only when set
            continue
        value = dump[section]
        if section == "corpus":
            value = {k: v for k, v in value.items() if k not in ("database", "folder")}
        if section in ("suggest", "reader"):  # one line, when the study sets it: side roads of the study
            if section not in study.model_fields_set:
                continue
            settings = [f"{key} {_compact(item)}" for key, item in value.items() if item != {}]
            lines.append(f"{section}: " + "; ".join(settings))
            continue
        if section in ("analysis", "qca"):  # settings the file leaves unset keep their defaults: left out
            chosen = getattr(study, section).model_fields_set
            value = {key: item for key, item in value.items() if key in chosen}
        if isinstance(value, dict):
            lines.append(f"{section}:")
            lines += [f"  {key}: {_compact(item)}" for key, item in value.items()]
        else:
            lines.append(f"{section}: {_compact(value)}")
    return lines


def select_command(
    study_path: StudyArgument,
    data: DataOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {flow (with the kinds counted), selected, "
                                          "documents} as JSON.")] = False,
    reading_list: Annotated[bool, typer.Option("--reading-list", help="List each selected case's candidate "
                                               "documents (title, URL, kind, whether it counts).")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FOLDER", help="Folder for selection.csv "
                                                "and selection-documents.csv (default: the study's report "
                                                "folder).")] = None,
    show_excluded: Annotated[bool, typer.Option("--show-excluded", help="Also list the ids excluded at each step "
                                                "(selection.csv always has them).")] = False,
) -> None:
    """Apply the study's selection criteria in order and show the flow of exclusions, with the kinds of
    document each min_documents step counted, and why the others did not count."""
    from sibkit import spreadsheet
    from sibkit.releases import release_of
    from sibkit.study.selection import Counting, select

    study = load_with_data(study_path, data)
    selection = select(study, extra_documents=held_documents(study))
    folder = output or study.resolve(study.report.folder)
    folder.mkdir(parents=True, exist_ok=True)
    spreadsheet.to_csv(selection.cases, folder / "selection.csv")
    documents = selection.items[selection.items["case_id"].isin(selection.entering[-1] if selection.entering
                                                                 else selection.selected)]
    document_columns = ["case_id", "kind", "kind_label", "counted", "why_not_counted", "title", "url", "listed_in",
                        "held"]
    spreadsheet.to_csv(documents[document_columns], folder / "selection-documents.csv")
    listing = selection.items[selection.items["case_id"].isin(selection.selected)]
    listing_columns = ["case_id", "title", "url", "listed_in", "kind_label", "counted", "why_not_counted"]
    if reading_list:
        spreadsheet.to_csv(listing[listing_columns], folder / "reading-list.csv")
    if as_json:
        payload = selection.to_json()
        if reading_list:
            payload["reading_list"] = listing[listing_columns].to_dict("records")
        print_json(payload)
        return
    console.print(f"[bold]{study.title}[/bold]")
    total = int(selection.flow["in"].iloc[0]) if len(selection.flow) else len(selection.cases)
    console.print(f"{total} impact bonds in {release_of(study.dataset()).named}", markup=False, highlight=False)
    for row, entering in zip(selection.flow.to_dict("records"), selection.entering, strict=True):
        if row["criterion"] == "include":
            console.print(f"  + {row['added']} added ({', '.join(row['added_ids']) or 'already in'}): "
                          f"{row['step']} -> {row['out']}", markup=False)
            continue
        console.print(f"  - {row['excluded']} excluded ({row['reason']}) -> {row['out']} {row['step']}",
                      markup=False)
        if show_excluded and row["excluded_ids"]:
            console.print(f"      {', '.join(row['excluded_ids'])}", markup=False)
        if row["criterion"] == "min_documents":
            table = selection.kind_table(entering)
            counting = selection.counting or Counting.of(None)
            print_frame(_kind_rows(table), title=f"Documents of the {len(entering)} cases entering this step, "
                        "by kind")
            if not counting.without_url and int(table["not_counted_no_url"].sum()):
                console.print("  Items INDIGO lists without a URL (a citation only) count with `without_url: true` "
                              "in the step.", markup=False)
    cases = selection.cases.set_index("case_id").loc[selection.selected].reset_index()
    print_frame(cases[["case_id", "name", "distinct_documents", "counted_documents", "counted"]],
                title=f"{len(cases)} selected cases")
    if reading_list:
        print_frame(listing[listing_columns], title="Candidate reading list")
    if not show_excluded and any(row["excluded_ids"] for row in selection.flow.to_dict("records")):
        console.print("Excluded ids: --show-excluded, or the step and reason per case in selection.csv.",
                      markup=False)
    console.print(f"Flow written to {folder / 'selection.csv'}, each document's kind and whether it counted to "
                  f"{folder / 'selection-documents.csv'}"
                  + (f", reading list to {folder / 'reading-list.csv'}" if reading_list else ""), markup=False)


def _kind_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The kind table for the terminal: kind, counted kind?, documents, counted, not counted and why."""
    import pandas as pd

    rows = []
    for row in table.to_dict("records"):
        why = [f"{n} {what}" for n, what in ((row["not_counted_kind"], "kind not counted"),
                                               (row["not_counted_no_url"], "no URL"),
                                               (row["not_counted_no_title"], "no title")) if n]
        rows.append({"kind": row["kind_label"], "counts": "yes" if row["counted_kind"] else "no",
                     "documents": row["documents"], "held": row["held"], "counted": row["counted"],
                     "not counted, why": ", ".join(why)})
    return pd.DataFrame(rows, columns=["kind", "counts", "documents", "held", "counted", "not counted, why"])


def held_documents(study: Study) -> dict[str, set[str]] | None:
    """Document keys held in the study's corpus, when its database already exists (never created here)."""
    url = study.database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    from sibkit.corpus import held_document_keys
    from sibkit.store import open_store

    store = open_store(url)
    try:
        return held_document_keys(store)
    finally:
        store.close()


def classify_command(
    study_path: Annotated[Path | None, typer.Argument(help="The study file (or use --data and --project).",
                                                      metavar="[STUDY]")] = None,
    data: DataOption = None,
    project: Annotated[list[str] | None, typer.Option("--project", help="Project id (repeatable).")] = None,
    tolerance: Annotated[float | None, typer.Option("--tolerance", help="Tolerance, e.g. 0.15.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {id: {ratios, class, evidence}} as JSON.")] = False,
    evidence: Annotated[bool, typer.Option("--evidence", help="Also show each outcome metric's evidence.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder for the classification tables "
                                                "(default with a study: its report folder).")] = None,
    explain_id: Annotated[str | None, typer.Option("--explain", metavar="ID", help="Explain one case in words: "
                                                   "every metric, its target and the kind of target, each result "
                                                   "by period, payments and those left out, the rule that decided "
                                                   "and any missing evidence.")] = None,
    evidence_template: Annotated[Path | None, typer.Option(
        "--evidence-template", metavar="FILE.xlsx", help="Write a workbook with one row per case (what INDIGO "
        "holds, its class and why) and blank columns for your own judgement from an evaluation (class, document, "
        "page, quote, reason); name it in the study's outcomes.overrides to use them.")] = None,
) -> None:
    """Classify cases as successful, struggling or insufficient data, with the evidence."""
    from sibkit.indigo import load
    from sibkit.outcomes import INDICES, classify, classify_study, explain, explain_lines
    from sibkit.outcomes.classify import rule_order_counts
    from sibkit.releases import release_of
    from sibkit.study.model import tolerance_problem
    from sibkit.study.selection import select

    if tolerance is not None and (problem := tolerance_problem(tolerance)):
        raise SibkitError(f"--tolerance: {problem}")
    documents = None
    if study_path is not None:
        if project:
            raise SibkitError("give a study file or --project ids, not both")
        study = load_with_data(study_path, data)
        if tolerance is not None:
            study.outcomes.tolerance = tolerance
        selection = select(study, extra_documents=held_documents(study))
        result = classify_study(study, selection)
        documents = selection.items
        dataset = study.dataset()
        folder = output or study.resolve(study.report.folder)
    else:
        if not project:
            raise SibkitError("give a study file, or --project ID (with --data SOURCE if not using the local copy)")
        dataset = load(data)
        result = classify(dataset, project, tolerance=0.15 if tolerance is None else tolerance,
                          sensitivity=[0.15 if tolerance is None else tolerance])
        folder = output
    if explain_id is not None:
        account = explain(dataset, result, explain_id)
        if as_json:
            print_json(account)
        else:
            for line in explain_lines(account):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        return
    if evidence_template is not None:
        from sibkit.outcomes import write_evidence_template

        write_evidence_template(dataset, result, evidence_template, documents)
    if folder is not None:
        written = result.write_tables(folder)
    for warning in result.warnings:
        errors.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print_json(result.to_json())
        return
    columns = ["case_id", "stage", "evidence_stage", "achievement_ratio", "metrics_with_ratio", "payments_made",
               "maximum_payment", "payment_currency", "payment_ratio", "class", "decided_by"]
    print_frame(result.cases[columns], title=f"Classification of {release_of(dataset).named} (tolerance "
                f"{result.tolerance:g})",
                keep=["class", "decided_by"], hint="--json (or the CSV tables)")
    if evidence and len(result.metrics):
        print_frame(result.metrics[["case_id", "metric_id", "target", "target_kind", "achieved", "result_type",
                                    "period_end", "result_stage", "ratio", "note"]], title="Outcome metrics")
    overridden = result.cases[result.cases["overridden"]]
    if len(overridden):
        print_frame(overridden[["case_id", "computed_class", "class", "override_reason", "override_source"]],
                    title="Manual overrides")
    stages = result.stage_table()
    console.print("Cases per class and stage of evidence: " + "; ".join(
        f"{r['class']} {r['cases']} ({r['stage']})" for r in stages.to_dict("records")), markup=False)
    left = result.left_out_summary()
    console.print(_left_out_line(left), markup=False, soft_wrap=True)
    by_index = {name: result.cases[f"class_by_{name}"].value_counts().to_dict() for name in INDICES}
    console.print("By index (the achievement rule reading each): " + "; ".join(
        f"{name}{' (decides)' if name == result.index else ''}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts_.items())) for name, counts_ in by_index.items()),
        markup=False)
    disagree = result.cases[result.cases["indices_disagree"]]
    if len(disagree):
        print_frame(disagree[["case_id", "achievement_ratio", "weighted_index", "share_at_target", "payment_ratio",
                              *(f"class_by_{name}" for name in INDICES)]],
                    title="Cases whose class depends on the index")
    if result.sensitivity is not None:
        changed = result.sensitivity[result.sensitivity["changes"]]
        several = sum(c.startswith("class_at_") for c in result.sensitivity.columns) > 1
        if len(changed):
            print_frame(changed[["case_id", *(c for c in changed.columns if c.startswith("class_at_")), "changes"]],
                        title=f"Cases whose class depends on the tolerance ({result.index} index)")
        elif several:
            console.print("No case changes class across the sensitivity tolerances.", markup=False)
        orders = rule_order_counts(result.sensitivity, result.index, result.tolerance)
        console.print(f"By rule order ({result.index} index, tolerance {result.tolerance:g}): " + "; ".join(
            f"{order.replace('_', ' ')}: " + ", ".join(f"{k} {int(v)}" for k, v in orders[order].items())
            for order in orders.columns), markup=False)
        flips = result.sensitivity[result.sensitivity["changes_with_rule_order"]]
        if len(flips):
            console.print(f"Cases whose class depends on the rule order: {', '.join(flips['case_id'])}", markup=False)
    if evidence_template is not None:
        console.print(f"Evidence template written to {evidence_template}: fill its judgement_ columns, then set "
                      f"outcomes.overrides to it.", markup=False)
    if folder is not None:
        console.print(f"Tables written: {', '.join(str(path) for path in written)}", markup=False)


def _left_out_line(left: dict[str, object]) -> str:
    """``Left out: 5 payments in 2 cases (COVID, grant or claim payment 5: 413,488 GBP); 26 targets ...``."""
    from sibkit.outcomes.rules import PAYMENT_KIND_LABELS, TARGET_KIND_LABELS

    payments = ", ".join(f"{PAYMENT_KIND_LABELS.get(k, k)} {n}" for k, n in left["payments_by_kind"].items())  # type: ignore[union-attr]
    amounts = ", ".join(f"{v:,.0f} {k}" for k, v in left["payment_amounts"].items())  # type: ignore[union-attr]
    targets = ", ".join(f"{TARGET_KIND_LABELS.get(k, k)} {n}" for k, n in left["targets_by_kind"].items())  # type: ignore[union-attr]
    return (f"Left out by the study's rules: {left['payments']} Actual payments in {left['payment_cases']} cases"
            + (f" ({payments}; {amounts})" if left["payments"] else "")
            + f"; {left['targets']} metric targets in {left['target_cases']} cases"
            + (f" ({targets})" if left["targets"] else "")
            + f" (payments counted: {', '.join(left['payment_kinds_counted'])}; targets compared: "  # type: ignore[arg-type]
              f"{', '.join(left['target_kinds_counted'])}; interim results: {left['interim']})")  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
    app.command("select")(select_command)
    app.command("classify")(classify_command)
