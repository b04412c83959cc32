"""How each search term performs in a study, and what a codebook change would add and remove.

``term_table`` reads the study's references and review decisions: per term, how many references
it made, how many were reviewed and accepted, rejected or recoded to another theme, its precision
among reviewed references, and how many cases it reaches. (Overlapping hits of one theme are one
reference, credited to its longest hit's term, as the coder stores them.)

``codebook_diff`` codes every readable document of the study with an old and a new codebook (in
memory; nothing is stored) and lists the references only one of them makes, with what reviewers
decided about the removed ones that are already in the study.
"""

from __future__ import annotations

import math

import pandas as pd
from sqlalchemy import select

from sibkit.coding.codebook import Codebook
from sibkit.coding.coder import as_store, merge_hits, references
from sibkit.coding.matcher import compile_codebook
from sibkit.store import Document, DocumentCase, Store
from sibkit.study import Study

TERM_COLUMNS = ["theme", "term", "hits", "negated", "reviewed", "accepted", "rejected", "recoded", "precision", "cases"]


def term_table(source: Store | Study, codebook: Codebook | None = None) -> pd.DataFrame:
    """One row per (theme, term): hits (automatic references), negated (of them, in a negated
    clause), reviewed, accepted, rejected, recoded (moved to another theme), precision (accepted /
    reviewed; NaN when none was reviewed) and cases (cases with at least one reference of the term
    that counts for its theme: accepted, or not reviewed, and neither negated nor outside the body
    unless overruled). With a codebook (default: a study's), its terms without any hit are listed
    too, in codebook order; other terms follow."""
    if codebook is None and isinstance(source, Study):
        from sibkit.coding.study import study_codebook

        codebook = study_codebook(source)
    refs = references(source)
    refs = refs[refs["origin"] == "auto"]
    order = [(t.id, term.term) for t in codebook.themes for term in t.terms] if codebook else []
    seen = set(order)
    order += sorted({key for key in zip(refs["theme"], refs["term"], strict=True) if key not in seen})
    groups = {key: frame for key, frame in refs.groupby(["theme", "term"])}
    rows = []
    for theme, term in order:
        frame = groups.get((theme, term))
        if frame is None:
            rows.append((theme, term, 0, 0, 0, 0, 0, 0, math.nan, 0))
            continue
        reviewed = frame[frame["reviewed"]]
        accepted = int((reviewed["counts_for"] == theme).sum())
        rejected = int(reviewed["counts_for"].isna().sum())
        recoded = len(reviewed) - accepted - rejected
        kept = frame[frame["counts"] & (frame["counts_for"] == theme)]
        cases = {case for ids in kept["case_ids"] for case in ids}
        rows.append((theme, term, len(frame), int(frame["negated"].sum()), len(reviewed), accepted, rejected, recoded,
                     accepted / len(reviewed) if len(reviewed) else math.nan, len(cases)))
    return pd.DataFrame(rows, columns=TERM_COLUMNS)


DIFF_COLUMNS = ["change", "theme", "term", "document_id", "title", "case_ids", "start", "end", "negated", "text",
                "review"]


def codebook_diff(old: Codebook, new: Codebook, source: Store | Study) -> pd.DataFrame:
    """The references the new codebook adds and the old one's it removes, per document.

    A reference is a (theme, start, end) span after merging overlapping hits, as the coder stores
    it; a span both codebooks find is unchanged and not listed. ``review`` says what reviewers
    decided about a removed reference already stored in the study (accepted, rejected, recoded to
    another theme; empty when not reviewed or not stored)."""
    store = as_store(source)
    compiled_old, compiled_new = compile_codebook(old), compile_codebook(new)
    with store.session() as session:
        documents = session.execute(select(Document.id, Document.title, Document.text, Document.pages).where(
            Document.status == "ok", Document.id.in_(select(DocumentCase.document_id))).order_by(Document.id)).all()
        links = session.execute(select(DocumentCase.document_id, DocumentCase.case_id)).all()
    cases: dict[int, list[str]] = {}
    for document_id, case_id in links:
        cases.setdefault(document_id, []).append(case_id)
    stored = references(store)
    decided = {}
    for row in stored[stored["reviewed"] & (stored["origin"] == "auto")].itertuples(index=False):
        outcome = "accepted" if row.counts_for == row.theme else "rejected" if pd.isna(row.counts_for) \
            else f"recoded to {row.counts_for}"
        decided[(row.document_id, row.theme, row.start, row.end)] = outcome
    rows = []
    for document_id, title, text, pages in documents:
        before = {(h.theme, h.start, h.end): h for h in merge_hits(compiled_old.match(text, pages or None))}
        after = {(h.theme, h.start, h.end): h for h in merge_hits(compiled_new.match(text, pages or None))}
        case_ids = tuple(sorted(cases.get(document_id, [])))
        for change, mine, theirs in (("removed", before, after), ("added", after, before)):
            for key in sorted(set(mine) - set(theirs), key=lambda k: (k[1], k[0])):
                hit = mine[key]
                review = decided.get((document_id, *key), "") if change == "removed" else ""
                rows.append((change, hit.theme, hit.term, document_id, title, case_ids, hit.start, hit.end,
                             hit.negated, text[hit.start:hit.end], review))
    frame = pd.DataFrame(rows, columns=DIFF_COLUMNS)
    return frame.sort_values(["theme", "change", "document_id", "start"], kind="stable").reset_index(drop=True)


def diff_summary(diff: pd.DataFrame, old: Codebook, new: Codebook) -> pd.DataFrame:
    """Per theme of either codebook: references added, removed, and removed ones a reviewer had accepted."""
    themes = [t.id for t in old.themes if t.terms]
    themes += [t.id for t in new.themes if t.terms and t.id not in themes]
    rows = []
    for theme in themes:
        own = diff[diff["theme"] == theme]
        removed = own[own["change"] == "removed"]
        rows.append((theme, int((own["change"] == "added").sum()), len(removed),
                     int((removed["review"] == "accepted").sum())))
    return pd.DataFrame(rows, columns=["theme", "added", "removed", "removed_accepted"])
