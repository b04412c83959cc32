"""Training examples from a study's own people: the sentence of each reviewed reference (accepted: the
theme it counts for; rejected or recoded away: not its theme) and each marked audit sentence (every theme
labelled: the ones a majority of its coders marked, and no other)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from sibkit.secondreader.training import Examples
from sibkit.text.sentences import split_sentences


def _sentence_of(text: str, start: int, end: int, cache: dict[int, list[tuple[int, int]]], document_id: int) -> str:
    spans = cache.get(document_id)
    if spans is None:
        spans = cache[document_id] = [(s.start, s.end) for s in split_sentences(text)]
    at = bisect.bisect_right([a for a, _ in spans], start) - 1
    if at >= 0 and start < spans[at][1]:
        return text[spans[at][0]:max(spans[at][1], min(end, len(text)))]
    return text[start:end]


def study_examples(study: object, themes: Sequence[str]) -> Examples:
    from sqlalchemy import select

    from sibkit.audit.sample import sampled_sentences, standing_marks
    from sibkit.coding.coder import as_store, references
    from sibkit.store import Document

    store = as_store(study)  # type: ignore[arg-type]
    examples = Examples(list(themes))
    known = set(themes)
    refs = references(store)
    reviewed = refs[refs["reviewed"]]
    with store.session() as session:
        texts = dict(session.execute(select(Document.id, Document.text).where(
            Document.id.in_([int(i) for i in reviewed["document_id"].unique()]))).all())
    cache: dict[int, list[tuple[int, int]]] = {}
    by_sentence: dict[str, dict[str, int]] = {}
    order: list[str] = []
    for document_id, start, end, theme, counts_for in zip(reviewed["document_id"], reviewed["start"],
                                                          reviewed["end"], reviewed["theme"], reviewed["counts_for"],
                                                          strict=True):
        sentence = _sentence_of(texts[int(document_id)], int(start), int(end), cache, int(document_id))
        labels = by_sentence.setdefault(sentence, {})
        if sentence not in order:
            order.append(sentence)
        if counts_for is not None and counts_for == counts_for and counts_for in known:
            labels[str(counts_for)] = 1
        if theme in known and counts_for != theme:
            labels.setdefault(str(theme), 0)
    for sentence in order:
        examples.add(sentence, by_sentence[sentence], "study review")
    marks = standing_marks(store)
    for s in sampled_sentences(store):
        coders = marks.get(int(s["sentence_id"]))  # type: ignore[arg-type]
        if not coders:
            continue
        labels = {}
        for theme in themes:
            votes = sum(theme in marked for marked in coders.values())
            labels[theme] = int(bool(votes) and 2 * votes >= len(coders))
        examples.add(str(s["text"]), labels, "study audit")
    return examples
