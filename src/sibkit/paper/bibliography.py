"""A study's corpus as a bibliography: CSL-JSON, BibTeX and RIS (``sibkit cite STUDY --format ...``).

One entry per document held in the study's corpus and linked to a selected case (INDIGO records are not
documents of their own: they are cited through the dataset's entry), plus one entry for the INDIGO
release the study used. Each entry gives the title, the publishing organisation, the date, the kind (one
of ``sibkit.corpus.evidence.KINDS``), the URL and the access date. What INDIGO's reading list knows about
a held document (its URL, publishing organisations, publication date) fills what the corpus does not
say; the access date is the document's last successful download, else the day it was added.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sibkit.paper import FORMATS

SUFFIXES = {"csl-json": "json", "bibtex": "bib", "ris": "ris"}

#: kind id (``sibkit.kinds``, and ``dataset`` for the release) -> (CSL type, BibTeX entry type, RIS type)
TYPES = {
    "evaluation": ("report", "techreport", "RPRT"), "review": ("report", "techreport", "RPRT"),
    "report": ("report", "techreport", "RPRT"), "case_study": ("report", "techreport", "RPRT"),
    "article": ("article-journal", "article", "JOUR"), "commentary": ("post-weblog", "misc", "BLOG"),
    "news": ("article-newspaper", "misc", "NEWS"), "contract_notice": ("legislation", "misc", "GEN"),
    "data_record": ("dataset", "misc", "DATA"), "web_page": ("webpage", "misc", "ELEC"),
    "correspondence": ("personal_communication", "misc", "PCOMM"), "project_update": ("report", "misc", "GEN"),
    "indigo_record": ("dataset", "misc", "DATA"), "dataset": ("dataset", "misc", "DATA"),
    "other": ("document", "misc", "GEN"),
}


@dataclass
class Entry:
    """One work cited: what a reader needs to find it again."""

    key: str
    kind: str  # the kind's label, as readers see it
    title: str
    organisation: str | None = None
    date: str | None = None  # YYYY[-MM[-DD]]
    url: str | None = None
    accessed: str | None = None  # YYYY-MM-DD
    cases: list[str] = field(default_factory=list)
    note: str | None = None
    kind_id: str = "other"  # the kind's id (sibkit.kinds), which decides the entry types

    def date_parts(self) -> list[int] | None:
        if not self.date:
            return None
        parts = [int(p) for p in re.findall(r"\d+", self.date)[:3]]
        return parts or None


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = " ".join(str(value).split())
    return text or None


def _key(entry_title: str, organisation: str | None, date: str | None, taken: set[str]) -> str:
    """A citation key: first word of the organisation (or title), year, first title word; unique."""
    def ascii_word(text: str) -> str:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        words = re.findall(r"[A-Za-z0-9]+", folded)
        return words[0].lower() if words else "doc"

    base = f"{ascii_word(organisation or entry_title)}{(date or 'nd')[:4]}{ascii_word(entry_title)}"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 2) if n <= 27 else n}"
    taken.add(key)
    return key


def _organisations(dataset: Any) -> dict[str, str]:
    frame = dataset.organisations
    return {str(i): str(n) for i, n in zip(frame["id"], frame["name"], strict=True) if _text(i) and _text(n)}


def _publishers(value: str | None, organisations: dict[str, str]) -> str | None:
    """INDIGO's publishing organisations: a list of organisation ids (named from the organisations table),
    or a name as written (which may hold commas: "MHCLG (Ministry of Housing, Communities and ...)")."""
    if not value:
        return None
    parts = [p.strip() for p in re.split(r"[,;]", value) if p.strip()]
    if parts and all(re.fullmatch(r"INDIGO-ORG-\d+", p) for p in parts):
        return "; ".join(organisations.get(p, p) for p in parts)
    return value


def _listed(dataset: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """What INDIGO says about each listed document, by (case, de-duplication key); built once per
    dataset (the bibliography and the example citations both read it; neither changes it)."""
    cached = getattr(dataset, "cached", None)
    return cached("paper.listed", lambda: _build_listed(dataset)) if cached else _build_listed(dataset)


def _build_listed(dataset: Any) -> dict[tuple[str, str], dict[str, Any]]:
    from sibkit.study.selection import document_key

    organisations = _organisations(dataset)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in dataset.sources.to_dict("records"):
        title, url = _text(row["name"]), _text(row["url"]) or _text(row["archive_url"])
        key = document_key(url, title)
        if key is None:
            continue
        publishers = _publishers(_text(row["publishing_organisation_ids"]), organisations)
        found.setdefault((row["project_id"], key), {
            "title": title, "url": url, "organisation": publishers,
            "date": _text(row["publication_date"]), "accessed": _text(row["accessed_date"]),
            "source_type": _text(row["type"])})
        if title:  # also found by title alone (a held file whose manifest names no URL)
            found.setdefault((row["project_id"], document_key(None, title) or ""), found[(row["project_id"], key)])
    for row in dataset.documents.to_dict("records"):
        title, url = _text(row["title"]), _text(row["url"])
        for key in {document_key(url, title), document_key(None, title)} - {None}:
            found.setdefault((row["project_id"], key), {"title": title, "url": url, "organisation": None,  # type: ignore[index]
                                                        "date": None, "accessed": None, "source_type": None})
    return found


def _dataset_entry(release: Any, taken: set[str]) -> Entry:
    from sibkit.indigo.api import DEFAULT_API

    url = release.source if str(release.source).startswith(("http://", "https://")) else DEFAULT_API
    return Entry(key=_key("INDIGO", "Government Outcomes Lab", release.date, taken), kind="dataset", kind_id="dataset",
                 title=f"INDIGO impact bond dataset (release of {release.date})",
                 organisation="Government Outcomes Lab, University of Oxford", date=release.date,
                 url=url, accessed=(release.downloaded or "")[:10] or None,
                 note=f"{release.label}; SHA-256 {release.sha256}")


def bibliography(study: Any, selected: list[str] | None = None) -> list[Entry]:
    """The study's corpus (held documents of its selected cases: ``selected``, else selected now) and its
    INDIGO release, as entries."""
    from sqlalchemy import func, select

    from sibkit.corpus import open_study_store
    from sibkit.kinds import infer_kind, label
    from sibkit.releases import release_of
    from sibkit.store import Document, DocumentCase, FetchAttempt
    from sibkit.study import select as select_cases
    from sibkit.study.selection import document_key

    dataset = study.dataset()
    store = open_study_store(study)
    try:
        from sibkit.corpus import held_document_keys

        chosen = set(selected) if selected is not None else set(
            select_cases(study, dataset, extra_documents=held_document_keys(store)).selected)
        with store.session() as session:
            rows = session.execute(
                select(Document.id, Document.title, Document.doc_type, Document.date, Document.origin,
                       Document.added_at, DocumentCase.case_id)
                .join(DocumentCase, DocumentCase.document_id == Document.id)
                .where(Document.status == "ok", Document.doc_type != "indigo_record")
                .order_by(Document.id, DocumentCase.case_id)).all()
            fetched = dict(session.execute(select(FetchAttempt.document_id, func.max(FetchAttempt.at))
                                           .where(FetchAttempt.document_id.is_not(None))
                                           .group_by(FetchAttempt.document_id)).all())
    finally:
        store.close()
    listed = _listed(dataset)
    taken: set[str] = set()
    release = release_of(dataset)
    entries = [_dataset_entry(release, taken)]
    by_document: dict[int, dict[str, Any]] = {}
    for doc_id, title, doc_type, date, origin, added_at, case_id in rows:
        if case_id not in chosen:
            continue
        item = by_document.setdefault(doc_id, {"title": _text(title), "doc_type": doc_type, "date": _text(date),
                                               "origin": _text(origin), "added": added_at, "cases": []})
        item["cases"].append(case_id)
    for doc_id, item in by_document.items():
        url = item["origin"] if (item["origin"] or "").startswith(("http://", "https://")) else None
        known: dict[str, Any] = {}
        for case_id in item["cases"]:
            for key in (document_key(url, item["title"]), document_key(None, item["title"])):
                if key and (case_id, key) in listed:
                    known = listed[(case_id, key)]
                    break
            if known:
                break
        title = item["title"] or known.get("title") or f"Document {doc_id}"
        url = url or known.get("url")
        kind = infer_kind(title, url, known.get("source_type"), item["doc_type"])
        when = fetched.get(doc_id) or item["added"]
        organisation = known.get("organisation")
        date = item["date"] or known.get("date")
        entries.append(Entry(key=_key(title, organisation, date, taken), kind=label(kind), kind_id=kind, title=title,
                             organisation=organisation, date=date, url=url,
                             accessed=when.date().isoformat() if when is not None else known.get("accessed"),
                             cases=sorted(item["cases"])))
    return entries


# ---------------------------------------------------------------------------------------------
# writers


def to_csl_json(entries: list[Entry]) -> str:
    """CSL-JSON (the Citation Style Language's item format, read by Zotero, pandoc, citeproc)."""
    items = []
    for e in entries:
        item: dict[str, Any] = {"id": e.key, "type": TYPES.get(e.kind_id, TYPES["other"])[0], "title": e.title,
                                "genre": e.kind}
        if e.organisation:
            item["author"] = [{"literal": e.organisation}]
            item["publisher"] = e.organisation
        if parts := e.date_parts():
            item["issued"] = {"date-parts": [parts]}
        if e.url:
            item["URL"] = e.url
        if e.accessed:
            item["accessed"] = {"date-parts": [[int(p) for p in e.accessed.split("-")]]}
        notes = [n for n in (e.note, "cases: " + ", ".join(e.cases) if e.cases else None) if n]
        if notes:
            item["note"] = "; ".join(notes)
        items.append(item)
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


_BIBTEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                   "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _bibtex_text(text: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(ch, ch) for ch in text)


def to_bibtex(entries: list[Entry]) -> str:
    """BibTeX (biblatex's ``date`` and ``urldate`` beside ``year`` for classic BibTeX); a corporate author
    in double braces so that it is not split into first and last names; URLs as they are."""
    out = []
    for e in entries:
        kind = TYPES.get(e.kind_id, TYPES["other"])[1]
        fields: list[tuple[str, str]] = [("title", "{" + _bibtex_text(e.title) + "}")]
        if e.organisation:
            fields.append(("author", "{{" + _bibtex_text(e.organisation) + "}}"))
            where = "institution" if kind == "techreport" else "publisher"
            fields.append((where, "{" + _bibtex_text(e.organisation) + "}"))
        elif kind == "techreport":
            fields.append(("institution", "{Unknown}"))
        if e.date:
            fields.append(("year", "{" + e.date[:4] + "}"))
            fields.append(("date", "{" + e.date + "}"))
        if e.url:
            fields.append(("url", "{" + e.url.replace("}", "%7D").replace("{", "%7B") + "}"))
            fields.append(("howpublished", "{\\url{" + e.url.replace("}", "%7D").replace("{", "%7B") + "}}"))
        if e.accessed:
            fields.append(("urldate", "{" + e.accessed + "}"))
        fields.append(("type", "{" + _bibtex_text(e.kind) + "}"))
        notes = [n for n in (e.note, "cases: " + ", ".join(e.cases) if e.cases else None) if n]
        if notes:
            fields.append(("note", "{" + _bibtex_text("; ".join(notes)) + "}"))
        body = ",\n".join(f"  {name} = {value}" for name, value in fields)
        out.append(f"@{kind}{{{e.key},\n{body}\n}}\n")
    return "\n".join(out)


def to_ris(entries: list[Entry]) -> str:
    """RIS (EndNote, Zotero, Mendeley): TY first, ER last; Y2 the access date, M3 the kind."""
    lines = []
    for e in entries:
        lines.append(f"TY  - {TYPES.get(e.kind_id, TYPES['other'])[2]}")
        lines.append(f"ID  - {e.key}")
        lines.append(f"TI  - {e.title}")
        if e.organisation:
            lines.append(f"AU  - {e.organisation}")
            lines.append(f"PB  - {e.organisation}")
        if e.date:
            lines.append(f"PY  - {e.date[:4]}")
            parts = [*e.date.split("-"), "", ""][:3]
            lines.append(f"DA  - {parts[0]}/{parts[1]}/{parts[2]}/")
        if e.url:
            lines.append(f"UR  - {e.url}")
        if e.accessed:
            lines.append(f"Y2  - {e.accessed.replace('-', '/')}")
        lines.append(f"M3  - {e.kind}")
        for case_id in e.cases:
            lines.append(f"KW  - {case_id}")
        if e.note:
            lines.append(f"N1  - {e.note}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines)


WRITERS = {"csl-json": to_csl_json, "bibtex": to_bibtex, "ris": to_ris}


def render(entries: list[Entry], fmt: str) -> str:
    from sibkit.errors import SibkitError

    if fmt not in WRITERS:
        raise SibkitError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return WRITERS[fmt](entries)


def cite_example(title: object, date: object, page: object, url: object) -> str:
    """An example in context cited by its document: title, date, page and URL (those known)."""
    parts = [_text(title) or "untitled document"]
    if _text(date):
        parts.append(str(_text(date)))
    if _text(page):
        parts.append(f"p. {_text(page)}")
    if _text(url):
        parts.append(str(_text(url)))
    return ", ".join(parts)


def example_citations(store: Any, examples: pd.DataFrame, dataset: Any = None) -> list[str]:
    """For each example in context (a row of ``coding.kwic``, by ``reference_id``): its document's title,
    date, page and URL, in words (what INDIGO's reading list knows fills a date or URL the corpus lacks)."""
    from sqlalchemy import select

    from sibkit.store import Document, Reference
    from sibkit.study.selection import document_key

    ids = [int(i) for i in examples["reference_id"]]
    with store.session() as session:
        found = {row[0]: row[1:] for row in session.execute(
            select(Reference.id, Document.title, Document.date, Document.origin, Document.doc_type)
            .join(Document, Document.id == Reference.document_id).where(Reference.id.in_(ids))).all()}
    listed = _listed(dataset) if dataset is not None else {}
    cases = examples["case_ids"] if "case_ids" in examples.columns else [""] * len(ids)
    out = []
    for reference_id, page, case_ids in zip(ids, examples["page"], cases, strict=True):
        title, date, origin, doc_type = found.get(reference_id, (None, None, None, None))
        url = origin if str(origin or "").startswith(("http://", "https://")) else None
        if doc_type != "indigo_record":
            for case_id in str(case_ids or "").split():
                known = listed.get((case_id, document_key(url, title) or "")) or listed.get(
                    (case_id, document_key(None, title) or ""))
                if known:
                    url, date = url or known.get("url"), date or known.get("date")
                    break
        out.append(cite_example(title, date, page, url))
    return out
