"""A REFI-QDA project into a study: sources become documents, codes themes, cases cases (with their
variables and sets), codings manual references accepted by their original coder, notes memos.

Everything goes in one transaction: a failed import leaves the study as it was. GUIDs are kept, so
importing the same project twice adds nothing the second time, and exporting it again gives the
other tool back its own identifiers. Problems name the element (and its line in the ``.qde``) and
the rest goes on; what sibkit cannot hold is counted in ``unsupported``. Whatever a project says, the
database is given only what it can store: text without NUL or lone surrogates (each replaced by U+FFFD,
so offsets stay), values no longer than their columns (cut), each change one problem line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import String, event, inspect, select
from sqlalchemy.orm import Session

from sibkit.coding.codebook import Codebook, Theme
from sibkit.corpus.extraction import count_words
from sibkit.corpus.normalise import page_of
from sibkit.errors import SibkitError
from sibkit.interop.archive import Limits
from sibkit.interop.codes import codebook_yaml, rgb, slug, themes_from_codes
from sibkit.interop.guids import automatic_user, guid_key, is_guid, stable_guid, unreviewed_coding_guid
from sibkit.interop.reader import Coding, QdaProject, Selection, TextDocument, read_qdpx
from sibkit.store import Document, DocumentCase, Memo, Reference, ReviewDecision, Store
from sibkit.store.models import (
    QdaCase,
    QdaCode,
    QdaNote,
    QdaSelection,
    QdaSet,
    QdaUser,
    QdaValue,
    QdaVariable,
    utcnow,
)
from sibkit.study import Study
from sibkit.words import counted

_SELECTION_NOTE = re.compile(r'^sibkit: origin (?P<origin>[a-z_]+), term (?P<term>".*")$')
_UNREVIEWED = re.compile(r"^sibkit: references of origin '(?P<origin>[a-z_]+)', not reviewed")
_DOCUMENT_NOTE = "sibkit document: "
IMPORTED_TERM = "(imported)"
VARIABLE_TYPES = ("Text", "Boolean", "Integer", "Float", "Date", "DateTime")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    """``text`` with the characters no database here stores (NUL, lone surrogates) as U+FFFD (one for one)."""
    return _UNSTORABLE.sub("\ufffd", text)


def _fit_to_columns(session: Session, where: str, problems: list[str]) -> None:
    """Before each flush of the import: every string given to the database fits its column and holds no
    NUL or lone surrogate (PostgreSQL refuses both, SQLite the surrogates); each change is a problem line."""

    @event.listens_for(session, "before_flush")
    def fit(session: Session, _context: object, _instances: object) -> None:
        for row in [*session.new, *session.dirty]:
            mapper = inspect(row).mapper
            for column in mapper.columns:
                if not isinstance(column.type, String):
                    continue
                key = mapper.get_property_by_column(column).key
                value = getattr(row, key, None)
                if not isinstance(value, str):
                    continue
                fitted = _storable(value)
                if fitted != value:
                    problems.append(f"{where}: {column.table.name}.{column.name} {value[:40]!r}: characters a "
                                    "database cannot store (NUL, lone surrogates) replaced by U+FFFD")
                length = column.type.length
                if length and len(fitted) > length:
                    problems.append(f"{where}: {column.table.name}.{column.name} {fitted[:40]!r}…: "
                                    f"{len(fitted):,} characters, over the {length} it may have; cut")
                    fitted = fitted[:length]
                if fitted != value:
                    setattr(row, key, fitted)


@dataclass
class QdpxImport:
    """What an import did: counts by kind, themes new to the study's codebook, what was not supported."""

    source: str
    origin: str = ""
    added: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    themes: dict[str, str] = field(default_factory=dict)  # code GUID (as written) -> theme id
    new_themes: list[Theme] = field(default_factory=list)
    codebook_path: Path | None = None
    unsupported: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    offsets: dict[str, str] = field(default_factory=dict)  # document name -> how offsets were counted
    offsets_line: str | None = None  # the reading chosen for the project and the evidence for it
    #: case id -> documents of this import newly linked to it by ``case_ids`` (``--case``)
    linked: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        kinds = ("documents", "references", "decisions", "cases", "variables", "values", "memos", "sets", "codes")
        added = ", ".join(counted(self.added[k], k.removesuffix("s"), k) for k in kinds if self.added[k])
        added = added or "nothing new"
        out = [f"{self.source} ({self.origin or 'unknown tool'}): added {added}"]
        again = ", ".join(counted(n, k.removesuffix("s"), k) for k, n in sorted(self.unchanged.items()) if n)
        if again:
            out.append(f"already in the study: {again}")
        for case_id, n in self.linked.items():
            out.append(f"linked {counted(n, 'document')} to {case_id} (--case)")
        if self.offsets_line:
            out.append(self.offsets_line)
        if self.unsupported:
            out.append("not supported, not imported: " + ", ".join(f"{n} {k}" for k, n in sorted(
                self.unsupported.items())))
        return out


def _coder(project: QdaProject, user: str | None, result: QdpxImport, where: str) -> str:
    if user and user in project.users:
        return (project.users[user][1] or project.users[user][0])[:80]
    if user:
        result.problems.append(f"{where}: creatingUser {user} is not a User of this project; coder recorded as "
                               "'unknown coder'")
    return "unknown coder"


def _document_meta(description: str) -> dict[str, object]:
    for line in description.splitlines():
        if line.startswith(_DOCUMENT_NOTE):
            try:
                meta = json.loads(line.removeprefix(_DOCUMENT_NOTE))
            except json.JSONDecodeError:
                return {}
            return meta if isinstance(meta, dict) else {}
    return {}


_EXPORT_NOTE = re.compile(r"(?:^|\n\n)Exported by sibkit \S+ from the study .*\Z", re.S)


def own_description(description: str) -> str:
    """A Description without the lines sibkit writes about itself (the document line, the export note)."""
    lines = [line for line in description.replace("\r\n", "\n").split("\n") if not line.startswith(_DOCUMENT_NOTE)]
    return _EXPORT_NOTE.sub("", "\n".join(lines)).strip()


class _Importer:
    def __init__(self, project: QdaProject, session: Session, codebook: Codebook, result: QdpxImport,
                 originals: Path | None, case_ids: Sequence[str] = ()) -> None:
        self.project, self.session, self.codebook, self.result = project, session, codebook, result
        self.originals, self.case_ids = originals, tuple(dict.fromkeys(case_ids))
        self.documents: dict[str, Document] = {}  # source GUID key -> document
        self.selections: dict[str, tuple[int, list[int]]] = {}  # selection key -> (document id, reference ids)
        self.codings: dict[str, int] = {}  # coding key -> reference id
        self.cases: dict[str, str] = {}  # case GUID key -> case id
        self.now = utcnow()
        self.tool = project.origin or "a REFI-QDA project"
        self.where = project.source or result.source
        self.unmarked = 0  # automatic hits that came back without the note on their origin and term
        self.kept_selections = set(session.scalars(select(QdaSelection.guid)))

    def run(self) -> None:
        self.users()
        self.codes()
        self.variables()
        for document in self.project.documents:
            self.document(document)
        self.case_links()
        self.given_cases()
        self.notes()
        self.project_description()
        self.sets()
        if self.unmarked:
            self.result.problems.append(
                f"{self.where}: {self.unmarked} codings carry sibkit's mark of an automatic hit nobody reviewed "
                "(its note, user or GUID) but not the selection description naming its origin and term: imported "
                f"as unreviewed references with term {IMPORTED_TERM!r}")

    def user_name(self, user: str | None) -> str:
        """A project user's name for a memo's author ('' when the project does not say)."""
        if user and user in self.project.users:
            return (self.project.users[user][1] or self.project.users[user][0])[:80]
        return ""

    def selection_creator(self, selection: Selection) -> None:
        """Keep who made an imported selection, and when, under its GUID (for the next export), where
        that is not what its codings say (NVivo: one user selects, another codes)."""
        if not selection.guid or selection.guid in self.kept_selections:
            return
        if all((c.user or selection.creator) == selection.creator and c.created in (None, selection.created)
               for c in selection.codings):
            return
        self.kept_selections.add(selection.guid)
        self.session.add(QdaSelection(guid=selection.guid, creator=self.user_name(selection.creator) or None,
                                      created=selection.created))

    def description_memo(self, guid: str, kind: str, target: str, text: str, author: str,
                         created: dt.datetime | None) -> None:
        """A source's or the project's Description, kept as a memo that exports as a Description again
        (not twice: by its GUID, or word for word where a tool gave the source a new GUID)."""
        if self.session.get(QdaNote, guid) is not None or self.session.scalar(
                select(Memo.id).join(QdaNote, QdaNote.memo_id == Memo.id).where(
                    QdaNote.kind == "description", Memo.target_kind == kind, Memo.target_id == target,
                    Memo.text == text)) is not None:
            self.result.unchanged["memos"] += 1
            return
        memo = Memo(target_kind=kind, target_id=target, author=author, text=text, created_at=created or self.now)
        self.session.add(memo)
        self.session.flush()
        self.session.add(QdaNote(guid=guid, memo_id=memo.id, kind="description"))
        self.result.added["memos"] += 1

    def project_description(self) -> None:
        text = own_description(self.project.description)
        if text:
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            self.description_memo(stable_guid("project-description", digest), "study", "", text,
                                  self.user_name(self.project.creator), self.project.created)

    def users(self) -> None:
        known = {u.name: u for u in self.session.scalars(select(QdaUser))}
        guids = {guid_key(u.guid) for u in known.values()}
        for key, (guid, name) in self.project.users.items():
            name = (name or guid)[:80]
            if name not in known and key not in guids:
                self.session.add(QdaUser(guid=guid, name=name))
                known[name] = QdaUser(guid=guid, name=name)
                guids.add(key)

    def codes(self) -> None:
        stored = {guid_key(c.guid): c for c in self.session.scalars(select(QdaCode))}
        known = {key: code.theme for key, code in stored.items()}
        by_name = {t.name.casefold(): t.id for t in self.codebook.themes}
        for code in self.project.codes:
            key = guid_key(code.guid)
            if key not in known and code.name.casefold() in by_name:
                known[key] = by_name[code.name.casefold()]
        taken = {code.theme for key, code in stored.items()}
        themes = themes_from_codes(self.project.codes, self.where, self.result.problems, known=known,
                                   taken=taken - set(known.values()))
        self.theme_of = {key: theme.id for key, theme in themes.items()}
        in_codebook = {t.id for t in self.codebook.themes}
        new_ids: set[str] = set()  # sets, not lookups per code: linear in the number of codes (100,000)
        stored_themes = set(taken)
        for code in self.project.codes:
            key = guid_key(code.guid)
            theme = themes[key]
            self.result.themes[code.guid] = theme.id
            if theme.id not in in_codebook and theme.id not in new_ids:
                self.result.new_themes.append(theme)
                new_ids.add(theme.id)
            if key in stored:
                self.result.unchanged["codes"] += 1
                continue
            if theme.id in stored_themes:
                self.result.unchanged["codes"] += 1
                continue
            stored_themes.add(theme.id)
            color = rgb(code.color)  # #RGB is read as #RRGGBB
            if color is None and code.color is not None:
                self.result.problems.append(f"{self.where}: line {code.line}: Code {code.name[:80]!r}: color "
                                            f"{code.color[:40]!r} is not #RRGGBB or #RGB; not kept")
            self.session.add(QdaCode(guid=code.guid, theme=theme.id, name=code.name, parent_guid=code.parent_guid,
                                     description=code.description, codable=code.codable, color=color))
            self.result.added["codes"] += 1

    def variables(self) -> None:
        """Variables by GUID; one the study holds under another GUID but the same name (a tool that
        re-keys them, as QualCoder does) is that variable, so names stay unique."""
        stored = {guid_key(v.guid): v for v in self.session.scalars(select(QdaVariable))}
        by_name = {v.name.casefold(): v.guid for v in stored.values()}
        aliases: dict[str, str] = {}
        for key, variable in self.project.variables.items():
            if key in stored:
                continue
            if variable.name.casefold() in by_name:
                aliases[key] = by_name[variable.name.casefold()]
                self.result.unchanged["variables"] += 1
                continue
            kind = variable.type if variable.type in VARIABLE_TYPES else "Text"
            if kind != variable.type:
                self.result.problems.append(f"{self.where}: Variable {variable.name[:80]!r}: typeOfVariable "
                                            f"{variable.type[:40]!r} is not one of {', '.join(VARIABLE_TYPES)}; "
                                            "kept as Text")
            self.session.add(QdaVariable(guid=variable.guid, name=variable.name, type=kind,
                                         description=variable.description))
            by_name[variable.name.casefold()] = variable.guid
            self.result.added["variables"] += 1
        self.session.flush()
        self.variable_guids = {guid_key(v.guid): v.guid for v in self.session.scalars(select(QdaVariable))}
        self.variable_guids.update(aliases)

    def value(self, variable: str, kind: str, target: str, value: str, where: str) -> None:
        guid = self.variable_guids.get(variable)
        if guid is None:
            self.result.problems.append(f"{where}: VariableRef {variable} is not a Variable of this project; "
                                        "value skipped")
            return
        existing = self.session.scalar(select(QdaValue).where(QdaValue.variable_guid == guid,
                                                              QdaValue.target_kind == kind,
                                                              QdaValue.target_id == target))
        if existing is None:
            self.session.add(QdaValue(variable_guid=guid, target_kind=kind, target_id=target, value=value))
            self.result.added["values"] += 1
        elif existing.value != value:
            existing.value = value
            self.result.added["values"] += 1

    def document(self, source: TextDocument) -> None:
        where = f"{self.where}: line {source.line}: source {source.name!r}"
        meta = _document_meta(source.description)
        text_sha = hashlib.sha256(source.text.encode("utf-8")).hexdigest()
        given = meta.get("sha256")  # sibkit's own export names the original's hash: a hint, used when it is one
        wanted = [given.lower()] if isinstance(given, str) and re.fullmatch(r"[0-9a-fA-F]{64}", given) else []
        if source.original is not None:
            wanted.append(hashlib.sha256(source.original).hexdigest())
        wanted.append(text_sha)
        document = self.session.scalar(select(Document).where(Document.guid == source.guid))
        if document is not None and document.text != source.text:
            document = None
        for sha in wanted:
            if document is not None:
                break
            found = self.session.scalar(select(Document).where(Document.sha256 == sha))
            if found is not None and found.text == source.text:
                document = found
            elif found is not None and sha == wanted[-1]:
                self.result.problems.append(f"{where}: a document with this text's SHA-256 differs; skipped")
                return
        if document is not None:
            self.result.unchanged["documents"] += 1
            if document.guid is None:
                document.guid = source.guid
        else:
            taken = {sha for sha in wanted if self.session.scalar(select(Document.id).where(Document.sha256 == sha))}
            if taken:
                self.result.problems.append(f"{where}: the study holds this document with different text (another "
                                            "extraction); the imported text is stored as a document of its own")
            sha = next(sha for sha in wanted if sha not in taken)
            doc_type = str(meta.get("type") or "other")
            from sibkit.store import DOCUMENT_TYPES

            origin = str(meta.get("origin") or f"{self.result.source}: {source.name}")
            if source.original is not None and self.originals is not None and \
                    hashlib.sha256(source.original).hexdigest() == sha:
                suffix = Path(source.original_name).suffix.lower()
                if suffix in (".pdf", ".docx"):  # keep the original beside the study, so exports carry it again
                    self.originals.mkdir(parents=True, exist_ok=True)
                    kept = self.originals / f"{sha[:16]}{suffix}"
                    kept.write_bytes(source.original)
                    origin = str(kept)
            date = str(meta["date"]) if meta.get("date") else None
            if date is not None and len(date) > 10:
                self.result.problems.append(f"{where}: date {date[:40]!r} is not a date (YYYY, YYYY-MM or "
                                            "YYYY-MM-DD); not kept")
                date = None
            document = Document(sha256=sha, title=source.name, doc_type=doc_type if doc_type in DOCUMENT_TYPES
                                else "other", date=date,
                                origin=origin,
                                media_type="text/plain", text=source.text, pages=[0],
                                word_count=count_words(source.text), status="ok", message="", guid=source.guid)
            self.session.add(document)
            self.session.flush()
            self.result.added["documents"] += 1
        if source.offsets != "code points":
            self.result.offsets[source.name] = source.offsets
        text = own_description(source.description)
        if text:
            self.description_memo(stable_guid("source-description", guid_key(source.guid)), "document",
                                  str(document.id), text, self.user_name(source.creator), source.created)
        self.documents[guid_key(source.guid)] = document
        for variable, value in source.values:
            self.value(variable, "document", str(document.id), value, where)
        length = len(source.text)
        existing: dict[tuple, Reference] = {}
        for ref in self.session.scalars(select(Reference).where(Reference.document_id == document.id)
                                        .order_by(Reference.id)):
            existing[(ref.theme, ref.start, ref.end, ref.origin, ref.term)] = ref
            existing.setdefault((ref.theme, ref.start, ref.end, ref.origin, IMPORTED_TERM), ref)  # term not given
        decided = set(self.session.execute(select(ReviewDecision.reference_id, ReviewDecision.coder).join(
            Reference, Reference.id == ReviewDecision.reference_id).where(Reference.document_id == document.id)))
        pending: list[tuple[object, list[tuple[Reference, object, str | None, dt.datetime | None]]]] = []
        with self.session.no_autoflush:
            for selection in source.selections:
                swhere = f"{self.where}: line {selection.line}: PlainTextSelection {selection.guid}"
                if not 0 <= selection.start < selection.end <= length:
                    self.result.problems.append(f"{swhere} in source {source.name!r}: characters {selection.start}-"
                                                f"{selection.end} are outside its text ({length} characters); skipped")
                    continue
                pending.append((selection, self.references(document, selection.start, selection.end,
                                                           selection.codings, selection.description, selection.guid,
                                                           selection.created, selection.creator, existing)))
                self.selection_creator(selection)
            if source.whole_codings and length:
                pending.append((None, self.references(document, 0, length, source.whole_codings, "", None, None,
                                                      source.creator, existing)))
        self.session.flush()  # one flush per document: every new reference gets its id
        for selection, made in pending:
            for reference, coding, coder, decided_at in made:
                self.codings[guid_key(coding.guid)] = reference.id  # type: ignore[attr-defined]
                if coder is not None and (reference.id, coder) not in decided:
                    decided.add((reference.id, coder))
                    self.session.add(ReviewDecision(reference_id=reference.id, coder=coder,
                                                    decided_at=decided_at or self.now, decision="accept",
                                                    note=f"imported from {self.tool}"[:2000]))
                    self.result.added["decisions"] += 1
            if selection is None:
                continue
            ids = [reference.id for reference, *_ in made]
            self.selections[guid_key(selection.guid)] = (document.id, ids)  # type: ignore[attr-defined]
            comment = selection.description.strip()  # type: ignore[attr-defined]
            if comment and ids and not _SELECTION_NOTE.match(comment):  # a quotation comment (ATLAS.ti)
                self.comment(selection, comment, ids[0])

    def unreviewed_origin(self, coding: Coding, user: str | None, selection_guid: str | None) -> str | None:
        """The origin of an automatic hit nobody reviewed, when the coding carries one of sibkit's marks:
        the note sibkit points such codings to, the GUID sibkit derives for them, or sibkit's automatic
        user as the coder (QualCoder keeps only the last: it drops NoteRefs and makes new GUIDs)."""
        for note in coding.notes:
            match = _UNREVIEWED.match(self.project.notes[note].text) if note in self.project.notes else None
            if match:
                return match.group("origin")
        if selection_guid and guid_key(coding.guid) == unreviewed_coding_guid(selection_guid, coding.code):
            return "auto"
        if user is not None and automatic_user(user, self.project.users.get(user, ("", None))[1]):
            return "auto"
        return None

    def references(self, document: Document, start: int, end: int, codings: list, description: str,
                   selection_guid: str | None, created: dt.datetime | None, creator: str | None,
                   existing: dict[tuple, Reference]) -> list[tuple[Reference, object, str | None, dt.datetime | None]]:
        """The references of one selection's codings (new ones added, not yet flushed), each with its
        coding, the coder who accepts it (None: left unreviewed) and when. A coding without a
        ``creatingUser`` is the selection creator's."""
        made = []
        match = _SELECTION_NOTE.match(description.strip())
        for coding in codings:
            cwhere = f"{self.where}: line {coding.line}: Coding {coding.guid}"
            theme = self.theme_of.get(coding.code)
            if theme is None:
                self.result.problems.append(f"{cwhere}: CodeRef {coding.code} is not a Code of this project; "
                                            "coding skipped")
                continue
            user = coding.user or creator
            automatic = self.unreviewed_origin(coding, user, selection_guid)
            origin, term = "manual", IMPORTED_TERM
            if match:
                origin, term = match.group("origin"), json.loads(match.group("term"))
            elif automatic is not None:
                origin = automatic
                self.unmarked += 1
            key = (theme, start, end, origin, term)
            reference = existing.get(key)
            if reference is None:
                reference = Reference(document_id=document.id, theme=theme, term=term, start=start, end=end,
                                      page=page_of(start, document.pages or [0]), origin=origin, codebook_hash="",
                                      selection_guid=selection_guid if is_guid(selection_guid) else None,
                                      coding_guid=coding.guid.strip() if is_guid(coding.guid) else None)
                if coding.created or created:
                    reference.created_at = coding.created or created
                self.session.add(reference)
                existing[key] = reference
                self.result.added["references"] += 1
            elif reference.id is not None:  # held before this import (not another coder's coding of it here)
                self.result.unchanged["references"] += 1
            coder = _coder(self.project, user, self.result, cwhere) if automatic is None else None
            made.append((reference, coding, coder, coding.created or created))
        return made

    def comment(self, selection, text: str, reference_id: int) -> None:  # type: ignore[no-untyped-def]
        """A selection's description becomes a memo on its reference (kept under the selection's GUID)."""
        guid = stable_guid("comment", guid_key(selection.guid))  # the selection keeps its own GUID
        if self.session.get(QdaNote, guid) is not None:
            self.result.unchanged["memos"] += 1
            return
        user = selection.codings[0].user if selection.codings else None
        author = _coder(self.project, user, self.result, f"{self.where}: line {selection.line}")
        memo = Memo(target_kind="reference", target_id=str(reference_id), author=author, text=text,
                    created_at=selection.created or self.now)
        self.session.add(memo)
        self.session.flush()
        self.session.add(QdaNote(guid=guid, memo_id=memo.id))
        self.result.added["memos"] += 1

    def case_links(self) -> None:
        stored = {guid_key(c.guid): c for c in self.session.scalars(select(QdaCase))}
        by_id = {c.case_id: c for c in stored.values()}
        for case in self.project.cases:
            where = f"{self.where}: line {case.line}: Case {case.name!r}"
            key = guid_key(case.guid)
            if key in stored:
                case_id = stored[key].case_id
                self.result.unchanged["cases"] += 1
            else:
                name = " ".join(case.name.split()) or key[:8]
                case_id = name if len(name) <= 40 else f"{name[:31]}-{key[:8]}"
                if case_id not in by_id:
                    row = QdaCase(guid=case.guid, case_id=case_id, name=case.name, description=case.description)
                    self.session.add(row)
                    by_id[case_id] = row
                    self.result.added["cases"] += 1
            self.cases[key] = case_id
            documents = set()
            for source in case.sources:
                if source in self.documents:
                    documents.add(self.documents[source].id)
                else:
                    self.result.problems.append(f"{where}: SourceRef {source} is not a text source of this project; "
                                                "link skipped")
            for selection in case.selections:
                if selection in self.selections:
                    documents.add(self.selections[selection][0])
                else:
                    self.result.problems.append(f"{where}: SelectionRef {selection} is not a text selection of this "
                                                "project; link skipped")
            for document_id in sorted(documents):
                self.link(document_id, case_id)
            for variable, value in case.values:
                self.value(variable, "case", case_id, value, where)

    def given_cases(self) -> None:
        """Link every document of the project to each case given with ``--case`` (as ``corpus add --case``)."""
        self.session.flush()  # the project's own case links first, so none is added twice
        for case_id in self.case_ids:
            self.result.linked[case_id] = sum(self.link(document.id, case_id) for document in self.documents.values())

    def link(self, document_id: int, case_id: str) -> bool:
        """Link a document to a case unless it is linked already; whether a link was added."""
        if self.session.get(DocumentCase, (document_id, case_id)) is not None:
            return False
        self.session.add(DocumentCase(document_id=document_id, case_id=case_id))
        return True

    def notes(self) -> None:
        """Notes become memos; one the study already holds word for word (same target and author: a tool
        that gave it a new GUID, as QualCoder does) is not added twice."""
        kept = {guid_key(n.guid) for n in self.session.scalars(select(QdaNote))}
        memos = list(self.session.scalars(select(Memo)))
        replaced = {m.replaces for m in memos if m.replaces}
        held = {(m.target_kind, m.target_id, m.author, m.text) for m in memos if m.id not in replaced}
        sources = {key: doc.id for key, doc in self.documents.items()}
        for key, note in self.project.notes.items():
            if _UNREVIEWED.match(note.text):
                continue  # sibkit's own marker for unreviewed references, not a person's memo
            if key in kept:
                self.result.unchanged["memos"] += 1
                continue
            kind, target = self.project.note_targets.get(key, ("project", ""))
            if kind == "link":
                kind = ("case" if target in self.cases else "source" if target in sources
                        else "selection" if target in self.selections else "project")
            if kind == "source" and target in sources:
                memo_kind, memo_target = "document", str(sources[target])
            elif kind == "selection" and self.selections.get(target, (0, []))[1]:
                memo_kind, memo_target = "reference", str(self.selections[target][1][0])
            elif kind == "coding" and target in self.codings:
                memo_kind, memo_target = "reference", str(self.codings[target])
            elif kind == "case" and target in self.cases:
                memo_kind, memo_target = "case", self.cases[target]
            else:
                memo_kind, memo_target = "study", ""
            author = _coder(self.project, note.user, self.result, f"{self.where}: Note {note.guid}")
            text = note.text if not note.description else f"{note.description}\n\n{note.text}".strip()
            if note.name and not note.name.startswith("Memo on "):
                text = f"{note.name}\n\n{text}".strip()
            if (memo_kind, memo_target, author, text) in held:
                self.result.unchanged["memos"] += 1
                continue
            memo = Memo(target_kind=memo_kind, target_id=memo_target, author=author, text=text,
                        created_at=note.created or self.now)
            self.session.add(memo)
            self.session.flush()
            self.session.add(QdaNote(guid=note.guid, memo_id=memo.id))
            self.result.added["memos"] += 1

    def sets(self) -> None:
        stored = {guid_key(s.guid): s for s in self.session.scalars(select(QdaSet))}
        for item in self.project.sets:
            if item.name.startswith("Document type: "):
                continue  # sibkit's own set of a document kind: the documents' kinds say it already
            if guid_key(item.guid) in stored:
                self.result.unchanged["sets"] += 1
                continue
            self.session.add(QdaSet(guid=item.guid, name=item.name, description=item.description,
                                    members=item.members))
            self.result.added["sets"] += 1


def import_project(project: QdaProject, store: Store, codebook: Codebook, source: str,
                   originals: Path | None = None, case_ids: Sequence[str] = ()) -> QdpxImport:
    """Store a parsed project in a study database (one transaction) against the study's codebook;
    original PDF and DOCX files are kept in the folder ``originals`` when given; every document is linked
    to each of ``case_ids`` (besides the cases the project links it to)."""
    result = QdpxImport(source, project.origin, unsupported=Counter(project.unsupported),
                        problems=list(project.problems),
                        offsets_line=project.offsets.line() if project.offsets is not None else None)
    with store.session(write=True) as session:  # the write lock up front: concurrent imports take turns
        _fit_to_columns(session, project.source or source, result.problems)
        _Importer(project, session, codebook, result, originals, case_ids).run()
    return result


def import_qdpx(path: Path, study: Study, store: Store | None = None, *, codebook_out: Path | None = None,
                limits: Limits | None = None, sources: Path | None = None, follow_links: bool = False,
                case_ids: Sequence[str] = ()) -> QdpxImport:
    """Import a ``.qdpx`` file into a study (original PDF and DOCX files go to ``originals/`` beside
    the study file). Codes that are not themes of the study's codebook are
    added to a copy of it, written to ``codebook_out`` (default: ``<study>-codebook.yaml`` beside
    the study file): point the study's ``codebook`` at it to count them. Files the project names outside
    the archive (``relative://``, plain paths) are read only from the folder ``sources``; links out of it,
    and an archive that is a link out of its folder, are refused unless ``follow_links``. ``case_ids``: link
    every document of the project to these cases of the study's dataset (``--case``; an unknown id is refused
    before anything is read)."""
    from sibkit.coding.study import study_codebook
    from sibkit.corpus import check_case_ids, open_study_store

    if not path.is_file():
        raise SibkitError(f"{path}: no such file")
    if case_ids:
        check_case_ids(study, case_ids)
    if not follow_links:
        from sibkit.paths import check_link

        check_link(path)
    project = read_qdpx(path, limits, sources=sources, follow_links=follow_links)
    store = store or open_study_store(study)
    codebook = study_codebook(study)
    result = import_project(project, store, codebook, path.name, originals=study.base_dir / "originals",
                            case_ids=case_ids)
    if result.new_themes:
        merged = Codebook(name=f"{codebook.name}+{slug(path.stem, 'imported')}", version=codebook.version,
                          description=codebook.description, source=codebook.source,
                          themes=[*codebook.themes, *result.new_themes])
        target = codebook_out or study.base_dir / f"{study.path.stem}-codebook.yaml"
        target.write_text(codebook_yaml(merged), encoding="utf-8")
        result.codebook_path = target
    return result
