"""``sibkit codebook train`` and ``sibkit codebook read``: the learned second reader; and what
``sibkit codebook evaluate --reader`` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import console, progress, warn
from sibkit.errors import SibkitError


def train_command(
    codebook_name: Annotated[str | None, typer.Argument(metavar="[CODEBOOK]",
                                                        help="A codebook (built-in name or YAML file; default: the "
                                                             "study's, else relational-sib).")] = None,
    labelled: Annotated[list[Path] | None, typer.Option("--labelled", help="Labelled passages (.csv, .tsv, .xlsx); "
                                                        "repeatable.")] = None,
    split: Annotated[list[str] | None, typer.Option("--split", help="Only passages of these splits (repeatable; "
                                                    "e.g. dev, hard-dev). Never train on a split you test on.")] = None,
    study_path: Annotated[Path | None, typer.Option("--study", help="Add this study's review decisions and audit "
                                                    "marks to what its current reader learned from.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="The reader file to write (default: "
                                                "<study>.reader beside the study, else <codebook>-<version>.reader).")]
    = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the study's analysis seed, else 12345).")]
    = None,
) -> None:
    """Train the learned second reader: per theme, logistic regressions over word and character n-grams that
    flag keyword hits read as another sense and propose sentences no keyword found."""
    from sibkit.coding import load_codebook, read_labelled, study_codebook
    from sibkit.secondreader.files import reader_for_study, study_reader_path
    from sibkit.secondreader.training import Examples, labelled_examples, reader_examples, train

    study = None
    if study_path is not None:
        from sibkit.study import load_study

        study = load_study(study_path)
    codebook = load_codebook(codebook_name, Path.cwd()) if codebook_name else \
        (study_codebook(study) if study is not None else load_codebook("relational-sib"))
    themes = [t.id for t in codebook.themes if t.terms]
    examples = Examples(themes)
    described = []
    for path in labelled or []:
        frame = read_labelled(path)
        if split:
            frame = frame[frame["split"].isin([s.lower() for s in split])]
            if frame.empty:
                raise SibkitError(f"{path}: no passage has split {', '.join(split)}")
        examples.extend(labelled_examples(frame, themes, source=f"labelled {path.name}"))
        described.append(f"{len(frame)} labelled passages of {path.name}" + (f" ({', '.join(split)})" if split else ""))
    if study is not None:
        from sibkit.secondreader.decisions import study_examples

        current, source = reader_for_study(study, codebook)
        if current is not None and not labelled:
            base = reader_examples(current, themes)
            examples.extend(base)
            described.append(f"the {len(base.texts)} examples of {source}")
        own = study_examples(study, themes)
        examples.extend(own)
        described.append(f"{len(own.texts)} sentences reviewed or audited in {study.title}")
    if not examples.texts:
        raise SibkitError("nothing to train on: give --labelled FILE (and --split) or --study STUDY")
    seed = seed if seed is not None else (study.analysis.seed if study is not None else 12345)
    with progress("Training (5-fold cross-validation, then all examples)"):
        reader = train(codebook, examples, seed=seed, described="; ".join(described))
    target = output or (study_reader_path(study) if study is not None else
                        Path(f"{codebook.name}-{codebook.version}.reader"))
    reader.save(target)
    cv = reader.meta["cross_validation"]
    console.print(f"Trained on {len(examples.texts)} examples ({'; '.join(described)}), seed {seed}; wrote {target}",
                  markup=False, soft_wrap=True)
    console.print(f"Thresholds chosen by 5-fold cross-validation: propose at >= {reader.propose_at:g}, flag below "
                  f"{reader.flag_below:g}; micro F1 codebook alone {cv['micro_f1_codebook']:.3f}, with the reader "
                  f"{cv['micro_f1_with_reader']:.3f} (out of fold)", markup=False, soft_wrap=True)
    if study is not None and output is None:
        console.print(f"The study uses it from now on (reader.model: auto finds {target.name}).", markup=False)


def read_command(
    study_path: Annotated[Path, typer.Argument(metavar="STUDY", help="The study's YAML file.")],
    flags: Annotated[bool, typer.Option("--flags", help="Only list the keyword hits flagged by the last read "
                                        "(lowest score first), with their context.")] = False,
) -> None:
    """Run the learned reader over the study's documents: flag keyword hits it reads as another sense and
    propose sentences no keyword found, for review (they change no count unless `reader.count_unreviewed`)."""
    from sibkit.secondreader.study import read_study
    from sibkit.study import load_study

    study = load_study(study_path)
    if flags:
        from rich.markup import escape

        from sibkit.corpus import open_study_store
        from sibkit.secondreader.study import flagged_hits

        listed = flagged_hits(open_study_store(study))
        for row in listed:  # document text is escaped: it may contain [markup]
            console.print(f"{row['reference_id']:>7} {row['theme']} ({row['score']:.2f}): …{escape(str(row['left']))} "
                          f"[bold]{escape(str(row['text']))}[/bold] {escape(str(row['right']))}… "
                          f"({escape(str(row['title']))})", highlight=False, soft_wrap=True)
        console.print(f"{len(listed)} flagged keyword hits; reject or accept them in review", markup=False)
        return
    with progress("Reading sentences") as step:
        report, source, warnings = read_study(study, progress=step)
    for warning in warnings:
        warn(warning)
    if report is None:
        raise SibkitError(f"{study_path}: {source}")
    console.print(f"{report.reader}, {source}: {report.documents} documents, {report.sentences} sentences; "
                  f"{report.scored_hits} keyword hits scored; {report.replaced} undecided proposals replaced",
                  markup=False, soft_wrap=True)
    for theme in sorted(set(report.flagged) | set(report.proposed)):
        console.print(f"  {theme}: {report.flagged.get(theme, 0)} keyword hits flagged (sense score < "
                      f"{report.flag_below:g}), {report.proposed.get(theme, 0)} sentences proposed (score >= "
                      f"{report.propose_at:g})", markup=False)
    console.print("Flags and proposals change no count until reviewed (review them in the workbench or with "
                  "`sibkit review export`)." if not study.reader.count_unreviewed else
                  "Note: this study counts them before review (reader.count_unreviewed: true): flagged keyword "
                  "hits do not count, proposals do.", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    from sibkit.coding.cli import codebook_app

    codebook_app.command("train")(train_command)
    codebook_app.command("read")(read_command)
