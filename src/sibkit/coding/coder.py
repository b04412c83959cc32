"""Coding a study's documents with its codebook, and reading the references back as DataFrames.

Hits of one theme that overlap in a document are merged into one reference (as QDA tools count
coding references). Each reference keeps whether its hit is negated and the zone of the text it lies
in (``sibkit.text.structure``: body, or a reference list, table of contents, running header or
repeated sentence); only body hits that are not negated count, unless the study says
``count_negated`` or a coder overrules (decision ``overrule``: counts despite the negation or the
zone). Re-coding replaces only the automatic references of themes whose terms changed, per
document, and never a reference a person has decided on. Matching runs on worker processes
(``jobs``); one writer stores a batch of documents per transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select

from sibkit.coding.codebook import Codebook
from sibkit.coding.matcher import CompiledCodebook, Hit, compile_codebook
from sibkit.corpus.normalise import page_of
from sibkit.parallel import ordered_map
from sibkit.store import CodingState, Document, DocumentCase, Reference, ReviewDecision, Store, among, with_retry
from sibkit.store.bulk import insert_rows
from sibkit.store.models import utcnow
from sibkit.study import Study
from sibkit.text.structure import ZONE_WORDS, document_structure


def as_store(source: Store | Study) -> Store:
    """The store itself, or a study's database (created and migrated on first use)."""
    if isinstance(source, Study):
        from sibkit.corpus import open_study_store

        return open_study_store(source)
    return source


def merge_hits(hits: Sequence[Hit]) -> list[Hit]:
    """Overlapping hits of one theme become one reference; it keeps the longest hit's term, and is
    negated only when every hit in it is."""
    merged: list[Hit] = []
    for theme in sorted({h.theme for h in hits}):
        current: Hit | None = None
        best_length = 0
        for hit in sorted((h for h in hits if h.theme == theme), key=lambda h: (h.start, -h.end)):
            if current is not None and hit.start < current.end:
                term = current.term
                if hit.end - hit.start > best_length:
                    term, best_length = hit.term, hit.end - hit.start
                current = Hit(theme, term, current.start, max(current.end, hit.end), current.negated and hit.negated)
            else:
                if current is not None:
                    merged.append(current)
                current, best_length = hit, hit.end - hit.start
        if current is not None:
            merged.append(current)
    return sorted(merged, key=lambda h: (h.start, h.end, h.theme))


@dataclass
class CodingReport:
    documents_coded: int = 0
    documents_unchanged: int = 0
    references_added: int = 0
    references_removed: int = 0
    themes_changed: list[str] = field(default_factory=list)
    #: readable documents linked to no case: not coded (only a case's documents are evidence)
    documents_without_case: int = 0
    #: one line per document that could not be coded (it is coded again by the next run)
    problems: list[str] = field(default_factory=list)


#: documents coded per transaction (a killed run loses at most this many; the next run codes them)
BATCH_SIZE = 200


@dataclass(frozen=True)
class CodingJob:
    """One document to code: its text and page starts, and the themes to (re)code in it."""

    document_id: int
    text: str
    pages: list[int]
    stale: frozenset[str]
    gone: frozenset[str]


#: (theme, term, start, end, page, negated, zone) of one reference
HitRow = tuple[str, str, int, int, int, bool, str]

_compiled: CompiledCodebook | None = None  # the codebook of this process's matching (set once per worker)


def _init_matcher(compiled: CompiledCodebook) -> None:
    global _compiled
    _compiled = compiled


def _init_matcher_from(codebook: Codebook) -> None:
    """On a dask worker: compile the codebook there (a compiled one is not sent over the network)."""
    _init_matcher(compile_codebook(codebook))


def match_job(job: CodingJob, compiled: CompiledCodebook | None = None) -> tuple[CodingJob, list[HitRow] | str]:
    """The merged references of one document for its stale themes, each with its zone (a pure function
    of the text and its pages, so it runs on any worker), or a one-line problem; never raises."""
    matcher = compiled or _compiled
    assert matcher is not None
    try:
        hits = merge_hits([h for h in matcher.match(job.text, job.pages) if h.theme in job.stale])
        structure = document_structure(job.text, job.pages) if hits else None
        return job, [(h.theme, h.term, h.start, h.end, page_of(h.start, job.pages), bool(h.negated),
                      structure.zone_of(h.start, h.end) if structure else "body") for h in hits]
    except Exception as exc:  # one document's failure never ends the run
        return job, f"document {job.document_id}: not coded ({type(exc).__name__}: {exc})"


def _coding_jobs(store: Store, hashes: dict[str, str], page_size: int) -> Iterator[CodingJob | int]:
    """The documents to code, read a page of ids at a time (never the whole corpus at once): a
    :class:`CodingJob` for a document with stale or removed themes, its id when it is up to date."""
    last = 0
    readable = (Document.status == "ok") & Document.id.in_(select(DocumentCase.document_id))
    while True:
        with store.session() as session:
            ids = session.scalars(select(Document.id).where(readable, Document.id > last)
                                  .order_by(Document.id).limit(page_size)).all()
            if not ids:
                return
            states: dict[int, dict[str, str]] = {}
            for document_id, theme, digest in session.execute(
                    select(CodingState.document_id, CodingState.theme, CodingState.hash)
                    .where(CodingState.document_id.in_(ids))):
                states.setdefault(document_id, {})[theme] = digest
            work: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
            for document_id in ids:
                have = states.get(document_id, {})
                stale = frozenset(theme for theme, digest in hashes.items() if have.get(theme) != digest)
                gone = frozenset(theme for theme in have if theme not in hashes)
                if stale or gone:
                    work[document_id] = (stale, gone)
            texts = {row[0]: row for row in session.execute(
                select(Document.id, Document.text, Document.pages).where(Document.id.in_(sorted(work))))} \
                if work else {}
        for document_id in ids:
            if document_id in work:
                _, text, pages = texts[document_id]
                yield CodingJob(document_id, text, list(pages or [0]), *work[document_id])
            else:
                yield document_id
        last = ids[-1]


def _write_coded(store: Store, done: list[tuple[CodingJob, list[HitRow]]], hashes: dict[str, str],
                 codebook_hash: str) -> tuple[int, int]:
    """Replace the automatic references and coding states of a batch of coded documents in one
    transaction (Core statements, ``executemany`` inserts); never touches a decided reference.
    Returns (references added, references removed)."""
    refs, states = Reference.__table__, CodingState.__table__
    groups: dict[frozenset[str], list[int]] = {}
    for job, _ in done:
        groups.setdefault(job.stale | job.gone, []).append(job.document_id)
    ids = sorted(job.document_id for job, _ in done)
    added = removed = 0
    with store.session(write=True) as session:
        connection = session.connection()
        decided = select(ReviewDecision.reference_id)
        for themes, group in groups.items():
            result = connection.execute(delete(refs).where(
                refs.c.document_id.in_(group), refs.c.origin == "auto", refs.c.theme.in_(sorted(themes)),
                refs.c.id.not_in(decided)))
            removed += result.rowcount or 0
            connection.execute(delete(states).where(states.c.document_id.in_(group),
                                                    states.c.theme.in_(sorted(themes))))
        kept = set(connection.execute(select(refs.c.document_id, refs.c.theme, refs.c.term, refs.c.start,
                                             refs.c.end).where(refs.c.document_id.in_(ids),
                                                               refs.c.origin == "auto")).all())
        now = utcnow()
        rows = [{"document_id": job.document_id, "theme": theme, "term": term, "start": start, "end": end,
                 "page": page, "origin": "auto", "codebook_hash": codebook_hash, "negated": negated,
                 "zone": zone, "created_at": now}
                for job, hits in done for theme, term, start, end, page, negated, zone in hits
                if (job.document_id, theme, term, start, end) not in kept]
        added = insert_rows(connection, refs, rows)  # COPY on PostgreSQL
        state_rows = [{"document_id": job.document_id, "theme": theme, "hash": hashes[theme], "coded_at": now}
                      for job, _ in done for theme in sorted(job.stale)]
        insert_rows(connection, states, state_rows)
    return added, removed


def code_documents(store: Store, codebook: Codebook, *, compiled: CompiledCodebook | None = None,
                   progress: Callable[[int, int], None] | None = None, jobs: int = 1,
                   batch_size: int = BATCH_SIZE, executor: str | None = None) -> CodingReport:
    """Code every readable document linked to a case (only the themes whose hash changed).

    Matching (a pure function of each text) runs on ``jobs`` worker processes (here when 1); one
    writer stores ``batch_size`` documents per transaction, so a killed run resumes after the last
    committed batch. Documents are read a page at a time. ``progress(done, total)`` after each batch.
    ``executor``: a dask.distributed scheduler (``parallel.parse_executor``) matching instead of ``jobs``
    (each text is sent to a worker, which compiles the codebook once; the results come back here)."""
    hashes = {theme.id: theme.hash() for theme in codebook.themes if theme.terms}
    codebook_hash = codebook.hash()
    report = CodingReport()
    with store.session() as session:
        total, words = session.execute(select(func.count(), func.coalesce(func.sum(Document.word_count), 0)).where(
            Document.status == "ok", Document.id.in_(select(DocumentCase.document_id)))).one()
        report.documents_without_case = session.scalar(select(func.count()).where(
            Document.status == "ok", Document.id.not_in(select(DocumentCase.document_id)))) or 0
    if progress:
        progress(0, total)
    source = _coding_jobs(store, hashes, max(batch_size, 50))
    todo = (item for item in source if isinstance(item, CodingJob) or _unchanged(report))
    first = next(todo, None)
    if first is not None:
        if executor is None:  # the codebook is compiled only when a document needs coding
            # about 6.5 bytes a word; on a pool the workers fork from here, so no compile runs behind them
            compiled = compiled or compile_codebook(codebook, text_bytes=int(words) * 7 if jobs <= 1 else None)
        todo = itertools.chain([first], todo)
    if executor is not None:
        results = ordered_map(match_job, todo, chunk_size=4, initializer=_init_matcher_from,  # type: ignore[arg-type]
                              initargs=(codebook,), executor=executor)
    else:
        if jobs > 1:
            store.engine.dispose()  # no pooled connection may be inherited by the workers
        results = ordered_map(match_job, todo, jobs=jobs, chunk_size=4,  # type: ignore[arg-type]
                              initializer=_init_matcher, initargs=(compiled,))
    changed: set[str] = set()
    batch: list[tuple[CodingJob, list[HitRow]]] = []

    def flush() -> None:
        added, removed = with_retry(lambda: _write_coded(store, batch, hashes, codebook_hash), what="coding batch")
        report.references_added += added
        report.references_removed += removed
        report.documents_coded += len(batch)
        for job, _ in batch:
            changed.update(job.stale | job.gone)
        batch.clear()
        if progress:
            progress(report.documents_coded + report.documents_unchanged + len(report.problems), total)

    for job, outcome in results:
        if isinstance(outcome, str):
            report.problems.append(outcome)
            continue
        batch.append((job, outcome))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if progress:
        progress(total, total)
    report.themes_changed = sorted(changed)
    return report


def _unchanged(report: CodingReport) -> bool:
    """Count a document that is up to date (and leave it out of the work)."""
    report.documents_unchanged += 1
    return False


# ---------------------------------------------------------------------------------------------
# reading references back


def _decisions(store: Store) -> pd.DataFrame:
    with store.session() as session:
        rows = session.execute(select(ReviewDecision.reference_id, ReviewDecision.coder, ReviewDecision.decided_at,
                                      ReviewDecision.id, ReviewDecision.decision, ReviewDecision.new_theme)).all()
    return pd.DataFrame(rows, columns=["reference_id", "coder", "decided_at", "id", "decision", "new_theme"])


def review_outcomes(store: Store) -> pd.DataFrame:
    """Per reviewed reference: the theme it counts for after review (None when rejected), and whether
    the coders overruled the matcher's reason not to count it (its negation or its zone).

    Each coder's latest decision counts ("clear", as an undo appends, withdraws it); across coders the
    most frequent outcome wins, and a tie counts as rejected (conservative). ``overrule`` is an accept
    that also says "counts despite the negation or the zone": for the outcome it votes as an accept,
    and the reference is overruled when more of the accepting coders overruled than did not."""
    decisions = _decisions(store)
    if decisions.empty:
        return pd.DataFrame(columns=["reference_id", "outcome_theme", "coders", "overruled"])
    latest = decisions.sort_values(["decided_at", "id"]).groupby(["reference_id", "coder"]).tail(1)
    latest = latest[latest["decision"] != "clear"]  # a coder who withdrew (undid) their decision has none
    rows = []
    for reference_id, group in latest.groupby("reference_id"):
        votes: dict[str | None, int] = {}
        overrules = accepts = 0
        for decision, new_theme in zip(group["decision"], group["new_theme"], strict=True):
            accepting = decision in ("accept", "overrule")
            key = "__accept__" if accepting else (new_theme if decision == "recode" else None)
            votes[key] = votes.get(key, 0) + 1
            overrules += decision == "overrule"
            accepts += decision == "accept"
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])
        outcome = ranked[0][0] if len(ranked) == 1 or ranked[0][1] > ranked[1][1] else None
        rows.append((reference_id, outcome, len(group), outcome == "__accept__" and overrules > accepts))
    return pd.DataFrame(rows, columns=["reference_id", "outcome_theme", "coders", "overruled"])


def _count_negated(source: Store | Study, count_negated: bool | None) -> bool:
    if count_negated is None:
        return source.count_negated if isinstance(source, Study) else False
    return count_negated


def _excluded(frame: pd.DataFrame, count_negated: bool) -> pd.Series:
    """Whether each reference is kept from counting by the matcher's reading (a negated clause, unless
    ``count_negated``; a zone other than the body) and no coder overruled that."""
    reason = frame["zone"] != "body"
    if not count_negated:
        reason = reason | frame["negated"]
    return reason & ~frame["overruled"]


def why_not_counted(negated: bool, zone: str, overruled: bool, count_negated: bool = False) -> str:
    """In words, why the matcher keeps a reference from counting ("" when nothing does, or a coder overruled)."""
    if overruled:
        return ""
    reasons = ([] if zone == "body" else [f"in {ZONE_WORDS.get(zone, zone)}"]) + \
        (["in a negated clause"] if negated and not count_negated else [])
    return "; ".join(reasons)


def references(source: Store | Study, *, count_suggestions: bool = False, count_learned: bool = False,
               count_negated: bool | None = None) -> pd.DataFrame:
    """Every reference with its document, cases, review state and the theme it counts for.

    Columns: reference_id, document_id, case_ids (tuple), title, doc_type, page, theme, term, start,
    end, origin, negated (the hit lies in a negated clause), zone (``body``, ``references``,
    ``contents``, ``header`` or ``repeat``), text (the hit), reviewed, counts_for (theme after review;
    None when rejected), overruled (a coder decided it counts despite its negation or zone), excluded
    (its negation or zone keeps it from counting: negation unless ``count_negated``, default the
    study's setting), counts (it counts for ``counts_for`` in the case x theme table) and flagged (the
    learned reader reads this keyword hit as another sense). A suggestion (origin ``semantic``) nobody
    has decided on counts for nothing unless ``count_suggestions`` (the study file's
    ``suggest.count_unreviewed``); for the learned reader's proposals and flags ``count_learned``
    decides (``reader.count_unreviewed``: a proposal counts, a flagged hit does not, before review).
    """
    from sibkit.secondreader.counting import reader_marks

    store = as_store(source)
    with store.session() as session:
        rows = session.execute(select(Reference.id, Reference.document_id, Document.title, Document.doc_type,
                                      Reference.page, Reference.theme, Reference.term, Reference.start, Reference.end,
                                      Reference.origin, Reference.negated, Reference.zone)
                               .join(Document, Document.id == Reference.document_id)
                               .order_by(Reference.document_id, Reference.start, Reference.id)).all()
        links = session.execute(select(DocumentCase.document_id, DocumentCase.case_id)).all()
        texts = dict(session.execute(select(Document.id, Document.text).where(
            Document.id.in_(select(Reference.document_id)))).all())
        proposals, flagged = reader_marks(session)
    cases: dict[int, list[str]] = {}
    for document_id, case_id in links:
        cases.setdefault(document_id, []).append(case_id)
    frame = pd.DataFrame([(r[0], r[1], tuple(sorted(cases.get(r[1], []))), r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                           r[9], bool(r[10]), r[11] or "body", texts[r[1]][r[7]:r[8]]) for r in rows],
                         columns=["reference_id", "document_id", "case_ids", "title", "doc_type", "page", "theme",
                                  "term", "start", "end", "origin", "negated", "zone", "text"])
    outcomes = review_outcomes(store).set_index("reference_id")
    frame["reviewed"] = frame["reference_id"].isin(outcomes.index) | (frame["origin"] == "manual")
    counts_for = []
    overruled = []
    for reference_id, theme, origin in zip(frame["reference_id"], frame["theme"], frame["origin"], strict=True):
        if reference_id in outcomes.index:
            outcome = outcomes.at[reference_id, "outcome_theme"]
            counts_for.append(theme if outcome == "__accept__" else outcome)
            overruled.append(bool(outcomes.at[reference_id, "overruled"]))
            continue
        overruled.append(False)
        if origin == "semantic":  # a suggestion: the learned reader's or the embeddings'
            counted = count_learned if reference_id in proposals else count_suggestions
            counts_for.append(theme if counted else None)
        elif count_learned and reference_id in flagged:
            counts_for.append(None)
        else:
            counts_for.append(theme)
    frame["counts_for"] = counts_for
    frame["overruled"] = pd.Series(overruled, index=frame.index, dtype=bool)
    frame["excluded"] = _excluded(frame, _count_negated(source, count_negated)).astype(bool)
    frame["counts"] = frame["counts_for"].notna() & ~frame["excluded"]
    frame["flagged"] = frame["reference_id"].isin(flagged)
    return frame


def _counted(refs: pd.DataFrame, source: Store | Study, count_negated: bool | None) -> pd.DataFrame:
    """The references that may count: those the matcher's reading keeps from counting (a negated
    clause, unless the study or ``count_negated`` says otherwise; a zone other than the body) are left
    out unless a coder overruled it. Rejected references stay (they are counted as references)."""
    return refs[~_excluded(refs, _count_negated(source, count_negated))]


def document_counts(source: Store | Study, count_negated: bool | None = None) -> pd.DataFrame:
    """Per document and theme: references, references per 10,000 words, coverage (share of characters).
    Negated hits count only with ``count_negated`` (default: the study's setting) or when a coder
    overruled; hits outside the body (reference lists, contents, headers, repeats) only when overruled."""
    store = as_store(source)
    refs = _counted(references(store), source, count_negated)
    with store.session() as session:
        documents = pd.DataFrame(session.execute(select(Document.id, Document.title, Document.word_count,
                                                        Document.text)).all(),
                                 columns=["document_id", "title", "words", "text"])
    lengths = dict(zip(documents["document_id"], documents["text"].str.len(), strict=True))
    words = dict(zip(documents["document_id"], documents["words"], strict=True))
    live = refs[refs["counts_for"].notna()]
    rows = []
    for (document_id, theme), group in live.groupby(["document_id", "counts_for"]):
        covered = _union_length(list(zip(group["start"], group["end"], strict=True)))
        count = len(group)
        rows.append((document_id, theme, count, 1e4 * count / max(1, words[document_id]),
                     covered / max(1, lengths[document_id])))
    return pd.DataFrame(rows, columns=["document_id", "theme", "references", "rate_per_10k", "coverage"])


def _union_length(spans: list[tuple[int, int]]) -> int:
    total, current_start, current_end = 0, None, None
    for start, end in sorted(spans):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start  # type: ignore[operator]
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start  # type: ignore[operator]
    return total


def case_theme_counts(source: Store | Study, case_ids: Sequence[str] | None = None,
                      themes: Sequence[str] | None = None, count_negated: bool | None = None, *,
                      count_suggestions: bool | None = None, count_learned: bool | None = None) -> pd.DataFrame:
    """The case x theme table the analysis starts from, one row per (case, theme).

    Given a study, ``case_ids`` default to its selected cases (counting the documents its corpus
    holds) and ``themes`` to its codebook's themes that have terms; given a store, both are needed.

    references: all references (automatic and manual) of the theme in the case's documents;
    accepted_references: those that count for the theme after review (recoded ones included);
    reviewed: whether any reference of the case and theme has been reviewed; effective_references:
    accepted ones when reviewed, all otherwise; words: words in the case's readable documents;
    rate_per_10k and coverage use effective references; documents_mentioning: documents with at
    least one effective reference. Negated hits are left out of every count unless ``count_negated``
    (default: the study's ``count_negated``, else False) or a coder overruled the negation (decision
    ``overrule``; a plain accept of a negated hit confirms the theme but leaves it negated); hits in a
    reference list, table of contents, running header or repeated sentence are left out unless overruled.
    Suggestions (origin ``semantic``) count once accepted, never when rejected, and before review
    only with ``count_suggestions`` (default: the study's ``suggest.count_unreviewed``, else False);
    they do not make a case and theme "reviewed".
    """
    store = as_store(source)
    if case_ids is None or themes is None:
        if not isinstance(source, Study):
            raise TypeError("case_theme_counts(store, ...) needs case_ids and themes; or pass a Study")
        if case_ids is None:
            from sibkit.corpus import selected_cases

            case_ids = selected_cases(source, store)
        if themes is None:
            from sibkit.coding.codebook import load_codebook

            themes = [t.id for t in load_codebook(source.codebook, source.base_dir).themes if t.terms]
    if count_suggestions is None:
        count_suggestions = source.suggest.count_unreviewed if isinstance(source, Study) else False
    if count_learned is None:
        count_learned = source.reader.count_unreviewed if isinstance(source, Study) else False
    refs = _counted(references(store, count_suggestions=count_suggestions, count_learned=count_learned), source,
                    count_negated)
    refs = refs[(refs["origin"] != "semantic") | refs["counts_for"].notna()]
    if count_learned:  # a flagged keyword hit nobody reviewed is left out (the reader's say stands)
        refs = refs[~(refs["flagged"] & ~refs["reviewed"])]
    with store.session() as session:
        query = (select(DocumentCase.case_id, Document.id, Document.word_count, Document.text)
                 .join(Document, Document.id == DocumentCase.document_id).where(Document.status == "ok"))
        docs = pd.DataFrame(session.execute(query).all(), columns=["case_id", "document_id", "words", "text"])
    docs["length"] = docs["text"].str.len()
    exploded = refs.explode("case_ids").rename(columns={"case_ids": "case_id"})
    words_by_case = docs.groupby("case_id")["words"].sum().to_dict()
    length_by_case = docs.groupby("case_id")["length"].sum().to_dict()
    # plain tuples grouped once: (case, theme) and (case, counts_for) -> references (per-row pandas is slow)
    by_theme: dict[tuple[object, object], list[tuple[Any, ...]]] = {}
    by_count: dict[tuple[object, object], list[tuple[Any, ...]]] = {}
    columns = [exploded[c].tolist() for c in ("case_id", "theme", "counts_for", "origin", "reviewed", "document_id",
                                              "start", "end")]
    for ref in zip(*columns, strict=True):
        case, theme, counts_for = ref[0], ref[1], ref[2]
        if pd.isna(case):
            continue
        if not pd.isna(theme):
            by_theme.setdefault((case, theme), []).append(ref)
        if not pd.isna(counts_for):
            by_count.setdefault((case, counts_for), []).append(ref)
    rows = []
    for case_id in case_ids:
        words = int(words_by_case.get(case_id, 0))
        length = int(length_by_case.get(case_id, 0))
        for theme in themes:
            raw = by_theme.get((case_id, theme), [])
            counted = by_count.get((case_id, theme), [])
            suggested = [r for r in counted if r[3] == "semantic"]
            raw_found = [r for r in raw if r[3] != "semantic"]
            counted_found = [r for r in counted if r[3] != "semantic"]
            reviewed = any(bool(r[4]) for r in raw_found) or any(bool(r[4]) for r in counted_found)
            effective = [r for r in counted_found if r[4]] if reviewed else raw_found
            effective = effective + suggested
            spans: dict[object, list[tuple[int, int]]] = {}
            for r in effective:
                spans.setdefault(r[5], []).append((r[6], r[7]))
            covered = sum(_union_length(group) for group in spans.values())
            rows.append({
                "case_id": case_id, "theme": theme, "references": len(raw),
                "accepted_references": sum(bool(r[4]) for r in counted),
                "reviewed": reviewed, "effective_references": len(effective), "words": words,
                "rate_per_10k": 1e4 * len(effective) / words if words else 0.0,
                "coverage": covered / length if length else 0.0,
                "documents_mentioning": len(spans),
            })
    return pd.DataFrame(rows)


KWIC_COLUMNS = ["reference_id", "case_ids", "title", "page", "theme", "term", "left", "text", "right", "negated",
                "zone", "reviewed", "overruled", "counts_for", "why_not"]


def kwic(source: Store | Study, theme: str | None = None, case_id: str | None = None,
         width: int = 60, count_negated: bool | None = None) -> pd.DataFrame:
    """Keyword in context: each reference with ``width`` characters either side, document and page,
    whether it is negated, its zone, and the theme it counts for: ``counts_for`` is None when it
    counts for nothing (rejected, an undecided suggestion, or kept from counting by its negation or
    zone: ``why_not`` says which, in words)."""
    store = as_store(source)
    refs = references(store, count_negated=_count_negated(source, count_negated))
    if theme:
        refs = refs[(refs["theme"] == theme) | (refs["counts_for"] == theme)]
    if case_id:  # .loc and a bool mask: an empty object-dtype mask would select columns, not rows
        refs = refs.loc[refs["case_ids"].map(lambda ids: case_id in ids).astype(bool)]
    with store.session() as session:
        texts = dict(session.execute(select(Document.id, Document.text).where(
            among(Document.id, [int(i) for i in refs["document_id"].unique()]))).all())
    left, right, why = [], [], []
    negated_counts = _count_negated(source, count_negated)
    for document_id, start, end in zip(refs["document_id"], refs["start"], refs["end"], strict=True):
        text = texts[document_id]
        left.append(" ".join(text[max(0, start - width):start].split()))
        right.append(" ".join(text[end:end + width].split()))
    for negated, zone, overruled in zip(refs["negated"], refs["zone"], refs["overruled"], strict=True):
        why.append(why_not_counted(bool(negated), zone, bool(overruled), negated_counts))
    counting = [theme if counts else None for theme, counts in zip(refs["counts_for"], refs["counts"], strict=True)]
    out = refs.assign(left=left, right=right, why_not=why, counts_for=pd.Series(counting, index=refs.index,
                                                                                 dtype=object))
    return out[KWIC_COLUMNS].reset_index(drop=True)
