"""``sibkit text structure``: how sibkit reads a document's structure (sentences, zones, repeats)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import console, print_json
from sibkit.errors import SibkitError

text_app = typer.Typer(no_args_is_help=True, help="See how sibkit reads a document's structure.")


@text_app.command("structure")
def structure_command(
    path: Annotated[Path, typer.Argument(help="A document (PDF, DOCX, HTML or text) as sibkit would import it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sentences, paragraphs and the zones whose hits do not count: reference lists, tables of contents,
    running headers and repeated sentences."""
    from sibkit.corpus.extraction import extract
    from sibkit.text.sentences import split_paragraphs, split_sentences
    from sibkit.text.structure import ZONE_WORDS, document_structure

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SibkitError(f"{path}: cannot read the document ({exc.strerror or exc})") from None
    extracted = extract(data, path.name)
    if extracted.status != "ok":
        raise SibkitError(f"{path}: {extracted.status}: {extracted.message}")
    text, pages = extracted.text, extracted.pages
    sentences = split_sentences(text, max_length=None, pages=pages)
    structure = document_structure(text, pages)
    zones = [{"kind": z.kind, "start": z.start, "end": z.end, "first_line": text[z.start:z.end].split("\n")[0][:80]}
             for z in structure.zones]
    repeats = [{"start": s, "end": e, "text": " ".join(text[s:e].split())[:80]} for s, e in structure.repeats]
    if as_json:
        print_json({"characters": len(text), "pages": len(pages), "paragraphs": len(split_paragraphs(text, pages)),
                    "sentences": len(sentences), "zones": zones, "repeated_sentences": repeats})
        return
    console.print(f"{path.name}: {len(text):,} characters, {len(pages)} pages, "
                  f"{len(split_paragraphs(text, pages)):,} paragraphs, {len(sentences):,} sentences", markup=False)
    for zone in zones:
        console.print(f"{ZONE_WORDS[zone['kind']]} at {zone['start']}-{zone['end']}: {zone['first_line']!r}",
                      markup=False, highlight=False)
    for repeat in repeats:
        console.print(f"repeated sentence at {repeat['start']}-{repeat['end']}: {repeat['text']!r}", markup=False,
                      highlight=False)
    console.print(f"{len(zones)} zones and {len(repeats)} repeated sentences: hits there are kept but do not count",
                  markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(text_app, name="text")
