"""A small made-up corpus with coded references, for trying the workbench, its tests and its benchmark."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, insert, select

from sibkit.store import Document, DocumentCase, Reference, Store

SENTENCE = "The provider and the commissioner held close partnership working meetings every month."
HOSTILE = 'A hostile line: <script>alert("x")</script> and <img src=x "onerror=alert(1)> stay text \U0001F642.'
THEMES = (("partnership", "Partnership"), ("coproduction", "Co-production"), ("learning", "Mutual learning"))


def add_sample_corpus(store: Store, documents: int = 2, references_per_document: int = 3, *,
                      hostile: bool = False, cases: int = 2) -> list[int]:
    """``documents`` documents (linked to cases SAMPLE-1..n in turn), each a paragraph per reference with the
    term "partnership working" coded to themes in turn; returns the reference ids in queue order."""
    references = []
    new_documents = []
    with store.session() as session:
        already = session.scalar(select(func.count(Document.id))) or 0
        for d in range(documents):
            paragraphs = [f"Paragraph {p + 1} of document {d + 1}. {SENTENCE} It went on for a year."
                          for p in range(references_per_document)]
            if hostile and d == 0:
                paragraphs[0] = HOSTILE + " " + paragraphs[0]
            text = "\n\n".join(paragraphs)
            document = Document(sha256=hashlib.sha256(f"sample {already + d} {text}".encode()).hexdigest(),
                                title=f"Sample evaluation {d + 1}", doc_type="evaluation", origin="sample",
                                text=text, pages=[0], word_count=len(text.split()), status="ok")
            document.cases.append(DocumentCase(case_id=f"SAMPLE-{d % cases + 1}"))
            session.add(document)
            session.flush()
            new_documents.append(document.id)
            offset = 0
            for p, paragraph in enumerate(paragraphs):
                at = paragraph.find("partnership working")
                if at >= 0:
                    references.append({"document_id": document.id, "theme": THEMES[p % len(THEMES)][0],
                                       "term": "partnership working", "start": offset + at,
                                       "end": offset + at + len("partnership working"), "page": 1, "origin": "auto",
                                       "codebook_hash": "sample"})
                offset += len(paragraph) + 2
        if references:
            session.execute(insert(Reference), references)
        session.flush()
        return list(session.scalars(select(Reference.id).where(Reference.document_id.in_(new_documents))
                                    .order_by(Reference.id)))
