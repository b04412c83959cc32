"""A study as a REFI-QDA project (``.qdpx``): ``project.qde`` plus ``sources/``.

- Users: every coder (review decisions, memo authors), and ``sibkit`` for unreviewed automatic hits.
- CodeBook: the study's codebook as nested codes, each theme's definition and terms in the code's
  description (see :mod:`sibkit.interop.codes`), plus codes kept from imported projects.
- Variables and Cases: each case with its class, achievement and payment ratios, country, sector and
  live year (``sibkit.outcomes``, ``sibkit.indigo.derived``), and the values imported projects gave.
- Sources: each readable document's extracted text as ``sources/<guid>.txt`` (UTF-8, exactly the
  stored text, so offsets are code points), the original DOCX or PDF where the corpus still holds
  it; a ``PlainTextSelection`` with ``Coding`` and ``CodeRef`` for every accepted or manual reference
  (with ``include_all``, unreviewed ones too, each pointing to a note that says so).
- Notes: the study's memos, attached to their project, source, selection or (by a link) case.

GUIDs are kept from imported projects, else derived from stable keys (:mod:`sibkit.interop.guids`),
so exporting the same study twice gives the same ``project.qde`` apart from ``modifiedDateTime``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from lxml import etree
from sqlalchemy import func, select

from sibkit import __version__
from sibkit.coding.codebook import Codebook, Theme
from sibkit.errors import SibkitError
from sibkit.interop.archive import write_qdpx
from sibkit.interop.codes import add_codes, read_description
from sibkit.interop.guids import guid_key, stable_guid
from sibkit.interop.xmlsafe import PROJECT_NS
from sibkit.store import Document, DocumentCase, Memo, Reference, ReviewDecision, Store
from sibkit.store.models import QdaCase, QdaCode, QdaNote, QdaSet, QdaUser, QdaValue, QdaVariable
from sibkit.study import Study

AUTOMATIC_CODER = "sibkit"
UNREVIEWED_NOTE = "sibkit: references of origin '{origin}', not reviewed by a person"
CASE_VARIABLES = (("class", "Text"), ("achievement_ratio", "Float"), ("payment_ratio", "Float"),
                  ("country", "Text"), ("sector", "Text"), ("live_year", "Integer"))
MAX_ORIGINAL_BYTES = 2**31 - 1  # REFI-QDA's limit for an internal file


def _tag(name: str) -> str:
    return f"{{{PROJECT_NS}}}{name}"


def _sub(parent: etree._Element, tag: str, **attributes: str | None) -> etree._Element:
    return etree.SubElement(parent, _tag(tag), {k: v for k, v in attributes.items() if v is not None})


def _time(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _decimal(value: float) -> str:
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("<NA>", "nan", "")


@dataclass
class ExportSummary:
    path: Path | None
    documents: int = 0
    originals: int = 0
    references: dict[str, int] = field(default_factory=dict)  # reviewed | manual | unreviewed -> count
    cases: int = 0
    codes: int = 0
    notes: int = 0
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        refs = ", ".join(f"{count} {kind}" for kind, count in sorted(self.references.items())) or "none"
        return [f"{self.documents} documents ({self.originals} with their original file), {self.codes} codes, "
                f"{self.cases} cases, {self.notes} notes; references: {refs}"]


def _accepted_by(decisions: list) -> dict[int, tuple[str, dt.datetime]]:
    """Per reference, who accepted it and when: the earliest accepting decision among each coder's latest."""
    latest: dict[tuple[int, str], object] = {}
    for row in decisions:
        latest[(row.reference_id, row.coder)] = row
    accepted: dict[int, tuple[str, dt.datetime]] = {}
    for (reference_id, coder), row in sorted(latest.items(), key=lambda kv: (kv[1].decided_at, kv[1].id)):
        if row.decision in ("accept", "recode") and reference_id not in accepted:
            accepted[reference_id] = (coder, row.decided_at)
    return accepted


def case_attributes(study: Study, case_ids: list[str]) -> dict[str, dict[str, object]]:
    """Per INDIGO case: class, achievement and payment ratios, country, sector, live year."""
    from sibkit.indigo import derived
    from sibkit.outcomes.classify import classify

    dataset = study.dataset()
    known = [case for case in case_ids if case in set(dataset.projects["id"])]
    if not known:
        return {}
    settings = study.outcomes
    classes = classify(dataset, known, tolerance=settings.tolerance, rules=settings.rules,
                       classify_in_implementation=settings.classify_in_implementation,
                       overrides=study.read_path(settings.overrides) if settings.overrides else None)
    fields = derived(dataset).set_index("id")
    out: dict[str, dict[str, object]] = {}
    for row in classes.cases.to_dict("records"):
        case = row["case_id"]
        project = fields.loc[case]
        out[case] = {"name": row.get("name"), "class": row["class"], "achievement_ratio": row["achievement_ratio"],
                     "payment_ratio": row["payment_ratio"], "country": ", ".join(project["countries"]),
                     "sector": project["sector"], "live_year": project["live_year"]}
    return out


def _original(document: Document) -> tuple[bytes, str] | None:
    """The original file a document came from, when it is still where it was read and unchanged."""
    path = Path(document.origin) if document.origin and "://" not in document.origin else None
    suffix = path.suffix.lower() if path else ""
    if path is None or suffix not in (".pdf", ".docx"):
        return None
    try:
        if not path.is_file() or path.stat().st_size > MAX_ORIGINAL_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return (data, suffix) if hashlib.sha256(data).hexdigest() == document.sha256 else None


class _Exporter:
    """Builds ``project.qde`` (and collects the ``sources/`` files) for one study, section by section."""

    def __init__(self, study: Study, store: Store, codebook: Codebook, include_all: bool,
                 attributes: dict[str, dict[str, object]] | None) -> None:
        self.study, self.store, self.codebook, self.include_all = study, store, codebook, include_all
        self.attributes = attributes or {}
        self.summary = ExportSummary(None)
        self.sources: dict[str, bytes] = {}
        self.user_guids: dict[str, str] = {}
        self.note_refs: dict[tuple[str, str], list[str]] = defaultdict(list)  # (kind, target) -> note guids

    def user(self, name: str) -> str:
        if name not in self.user_guids:
            self.user_guids[name] = self.stored_users.get(name) or stable_guid("user", name)
        return self.user_guids[name]

    def _load(self) -> None:
        from sibkit.coding.coder import references

        with self.store.session() as session:
            self.documents = list(session.scalars(select(Document).where(Document.status == "ok")
                                                  .order_by(Document.id)))
            unreadable = session.scalar(select(func.count()).select_from(Document).where(Document.status != "ok"))
            if unreadable:
                self.summary.warnings.append(f"{unreadable} documents without readable text are not exported")
            self.links = session.execute(select(DocumentCase.document_id, DocumentCase.case_id)).all()
            self.decisions = session.execute(select(
                ReviewDecision.reference_id, ReviewDecision.coder, ReviewDecision.decided_at, ReviewDecision.id,
                ReviewDecision.decision).order_by(ReviewDecision.decided_at, ReviewDecision.id)).all()
            self.memos = list(session.scalars(select(Memo).order_by(Memo.id)))
            self.stored_users = {u.name: u.guid for u in session.scalars(select(QdaUser))}
            self.stored_codes = list(session.scalars(select(QdaCode)))
            self.stored_cases = {c.case_id: c for c in session.scalars(select(QdaCase))}
            self.variables = list(session.scalars(select(QdaVariable).order_by(QdaVariable.name)))
            self.values = list(session.scalars(select(QdaValue)))
            self.sets = list(session.scalars(select(QdaSet).order_by(QdaSet.name, QdaSet.guid)))
            self.note_guids = {n.memo_id: n.guid for n in session.scalars(select(QdaNote))}
            kept = {row[0]: (row[1], row[2]) for row in session.execute(
                select(Reference.id, Reference.selection_guid, Reference.coding_guid))}
        refs = references(self.store)
        refs["selection_guid"] = [kept.get(i, (None, None))[0] for i in refs["reference_id"]]
        refs["coding_guid"] = [kept.get(i, (None, None))[1] for i in refs["reference_id"]]
        self.exported = refs[refs["counts_for"].notna() & (refs["reviewed"] | self.include_all)]
        replaced = {memo.replaces for memo in self.memos if memo.replaces}
        self.current_memos = [memo for memo in self.memos if memo.id not in replaced]
        self.doc_guids = {d.id: d.guid or stable_guid("document", d.sha256) for d in self.documents}
        self.accepted_by = _accepted_by(self.decisions)

    def build(self, now: dt.datetime) -> bytes:
        self._load()
        root = etree.Element(_tag("Project"), nsmap={None: PROJECT_NS})
        root.set("name", self.study.title)
        root.set("origin", f"sibkit {__version__}")
        root.set("modifiedDateTime", _time(now) or "")
        themes = self._themes()
        self._users(root)
        if themes:
            codes = _sub(_sub(root, "CodeBook"), "Codes")
            add_codes(codes, themes, PROJECT_NS, guid_of=self.code_guids, codable=self.codable or None)
        self._cases(root)
        notes, links = self._notes()
        by_document: dict[int, list] = defaultdict(list)
        for row in self.exported.itertuples():
            by_document[row.document_id].append(row)
        sources = _sub(root, "Sources") if self.documents else None
        for document in self.documents:
            self._source(sources, document, by_document.get(document.id, []),
                         self.stored_values.get(("document", str(document.id)), []))
        self.summary.documents = len(self.documents)
        if notes:
            block = _sub(root, "Notes")
            for guid, name, user, moment, text in notes:
                note = _sub(block, "Note", guid=guid, name=name, creatingUser=user, creationDateTime=_time(moment))
                _sub(note, "PlainTextContent").text = text
            self.summary.notes = len(notes)
        if links:
            block = _sub(root, "Links")
            for note_guid, case_guid in links:
                _sub(block, "Link", guid=stable_guid("memo-link", note_guid), name="memo on case",
                     direction="OneWay", originGUID=note_guid, targetGUID=case_guid)
        self._sets(root, {guid_key(note[0]) for note in notes})
        kinds = "accepted, manual and unreviewed" if self.include_all else "accepted and manual only"
        _sub(root, "Description").text = (
            f"Exported by sibkit {__version__} from the study {self.study.title!r}: {len(self.documents)} documents, "
            f"{len(self.exported)} references ({kinds}), {self.summary.cases} cases. Offsets are Unicode code "
            "points of sources/<guid>.txt.")
        for guid in self.note_refs.get(("study", ""), []):
            _sub(root, "NoteRef", targetGUID=guid)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def _themes(self) -> list[Theme]:
        """The codebook's themes, then codes kept from imported projects, then any theme a reference uses."""
        self.code_guids = {c.theme: c.guid for c in self.stored_codes}
        self.codable: dict[str, bool] = {}
        themes = list(self.codebook.themes)
        ids = {t.id for t in themes}
        by_guid = {guid_key(c.guid): c for c in self.stored_codes}
        for code in sorted(self.stored_codes, key=lambda c: c.theme):
            if code.theme in ids:
                continue
            definition, _, _ = read_description(code.description)
            parent = by_guid.get(guid_key(code.parent_guid)) if code.parent_guid else None
            themes.append(Theme.model_construct(id=code.theme, name=code.name or code.theme, definition=definition,
                                                parent=parent.theme if parent else None))
            self.codable[code.theme] = code.codable
            ids.add(code.theme)
        for theme in sorted(set(self.exported["counts_for"]) - ids):
            themes.append(Theme(id=theme, name=theme))
        for theme in themes:
            self.code_guids.setdefault(theme.id, stable_guid("theme", theme.id))
        self.summary.codes = len(themes)
        return themes

    def _users(self, root: etree._Element) -> None:
        """Every coder of an exported reference, every memo author; ``sibkit`` for unreviewed hits."""
        for row in self.exported.itertuples():
            self.user(self.accepted_by[row.reference_id][0] if row.reference_id in self.accepted_by
                      else AUTOMATIC_CODER)
        for memo in self.current_memos:
            self.user(memo.author or AUTOMATIC_CODER)
        if self.user_guids:
            users = _sub(root, "Users")
            for name in sorted(self.user_guids):
                _sub(users, "User", guid=self.user_guids[name], name=name)

    def _cases(self, root: etree._Element) -> None:
        """Variables, then each case with its attributes, imported values and sources."""
        case_docs: dict[str, list[int]] = defaultdict(list)
        for document_id, case_id in self.links:
            case_docs[case_id].append(document_id)
        case_ids = sorted(set(case_docs) | set(self.stored_cases) | set(self.attributes))
        native_guids = {name: stable_guid("variable", name) for name, _ in CASE_VARIABLES}
        rows: list[tuple[str, str, str, str]] = []  # guid, name, type, description
        if self.attributes:
            rows += [(native_guids[name], name, kind, "sibkit case attribute") for name, kind in CASE_VARIABLES]
        native = {guid_key(guid) for guid in native_guids.values()} if self.attributes else set()
        rows += [(v.guid, v.name, v.type, v.description) for v in self.variables if guid_key(v.guid) not in native]
        self.variable_types = {guid_key(row[0]): row[2] for row in rows}
        self.stored_values: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for value in self.values:
            self.stored_values[(value.target_kind, value.target_id)].append((value.variable_guid, value.value))
        if rows:
            block = _sub(root, "Variables")
            for guid, name, kind, description in rows:
                variable = _sub(block, "Variable", guid=guid, name=name, typeOfVariable=kind)
                if description:
                    _sub(variable, "Description").text = description
        self.case_guids = {case: self.stored_cases[case].guid if case in self.stored_cases
                           else stable_guid("case", case) for case in case_ids}
        if case_ids:
            block = _sub(root, "Cases")
        for case in case_ids:
            element = _sub(block, "Case", guid=self.case_guids[case], name=case)
            attributes = self.attributes.get(case, {})
            stored = self.stored_cases.get(case)
            description = (stored.description if stored else "") or str(attributes.get("name") or "")
            if description:
                _sub(element, "Description").text = description
            given: set[str] = set()
            for name, kind in CASE_VARIABLES if attributes else ():
                if not _missing(attributes.get(name)):
                    self._value(element, native_guids[name], kind, attributes[name])
                    given.add(guid_key(native_guids[name]))
            for variable_guid, value in sorted(self.stored_values.get(("case", case), [])):
                if guid_key(variable_guid) not in given:
                    self._value(element, variable_guid, self.variable_types.get(guid_key(variable_guid), "Text"),
                                value)
            for document_id in sorted(case_docs.get(case, [])):
                if document_id in self.doc_guids:
                    _sub(element, "SourceRef", targetGUID=self.doc_guids[document_id])
        self.summary.cases = len(case_ids)

    def _notes(self) -> tuple[list[tuple[str, str, str | None, dt.datetime | None, str]], list[tuple[str, str]]]:
        """Notes (guid, name, user, time, text): one per origin of unreviewed references, one per memo;
        and the links from memos to their cases (a case has no NoteRef in the schema)."""
        notes: list[tuple[str, str, str | None, dt.datetime | None, str]] = []
        self.origin_notes: dict[str, str] = {}
        for origin in sorted(set(self.exported.loc[~self.exported["reviewed"], "origin"])):
            self.origin_notes[origin] = stable_guid("unreviewed-note", origin)
            notes.append((self.origin_notes[origin], f"sibkit: unreviewed {origin} references", None, None,
                          UNREVIEWED_NOTE.format(origin=origin) + " (exported with --all). Accept or delete them "
                          "in this tool; a person's decision is what sibkit counts."))
        links: list[tuple[str, str]] = []
        titles = {d.id: d.title for d in self.documents}
        by_id = {m.id: m for m in self.memos}
        for memo in self.current_memos:
            guid = self.memo_guid(memo, by_id, self.note_guids)
            label = {"case": f"Memo on case {memo.target_id}", "study": "Memo on the study",
                     "reference": "Memo on a reference"}.get(memo.target_kind, f"Memo on a {memo.target_kind}")
            if memo.target_kind == "document" and memo.target_id.isdigit() and int(memo.target_id) in titles:
                label = f"Memo on {titles[int(memo.target_id)]}"
            notes.append((guid, label, self.user(memo.author or AUTOMATIC_CODER), memo.created_at, memo.text))
            if memo.target_kind == "case" and memo.target_id in self.case_guids:
                links.append((guid, self.case_guids[memo.target_id]))
            else:
                self.note_refs[(memo.target_kind, memo.target_id)].append(guid)
        return notes, links

    def _sets(self, root: etree._Element, note_guids: set[str]) -> None:
        """A set per document type, then the sets kept from imported projects (members still exported)."""
        exported = {guid_key(g) for g in [*self.doc_guids.values(), *self.code_guids.values()]} | note_guids
        rows: list[tuple[str, str, str, list[dict[str, str]]]] = []
        by_type: dict[str, list[str]] = defaultdict(list)
        for document in self.documents:
            by_type[document.doc_type].append(self.doc_guids[document.id])
        for doc_type in sorted(by_type):
            rows.append((stable_guid("document-type", doc_type), f"Document type: {doc_type}",
                         "sibkit document type", [{"kind": "source", "guid": g} for g in by_type[doc_type]]))
        generated = {guid_key(row[0]) for row in rows}
        for item in self.sets:
            if guid_key(item.guid) not in generated:
                rows.append((item.guid, item.name, item.description,
                             [m for m in item.members if guid_key(m.get("guid", "")) in exported]))
        if not rows:
            return
        block = _sub(root, "Sets")
        for guid, name, description, members in rows:
            element = _sub(block, "Set", guid=guid, name=name)
            if description:
                _sub(element, "Description").text = description
            for kind, tag in (("code", "MemberCode"), ("source", "MemberSource"), ("note", "MemberNote")):
                for member in members:
                    if member.get("kind") == kind:
                        _sub(element, tag, targetGUID=member["guid"])

    @staticmethod
    def memo_guid(memo: Memo, by_id: dict[int, Memo], kept: dict[int, str]) -> str:
        """An edited memo keeps the GUID of the memo it replaces (and of the note it came from)."""
        current, seen = memo, set()
        while True:
            if current.id in kept:
                return kept[current.id]
            seen.add(current.id)
            previous = by_id.get(current.replaces) if current.replaces else None
            if previous is None or previous.id in seen:
                return stable_guid("memo", current.id)
            current = previous

    def _value(self, parent: etree._Element, variable_guid: str, kind: str, value: object) -> None:
        element = _sub(parent, "VariableValue")
        _sub(element, "VariableRef", targetGUID=variable_guid)
        if kind == "Float":
            try:
                _sub(element, "FloatValue").text = _decimal(float(value))  # type: ignore[arg-type]
                return
            except (TypeError, ValueError):
                pass
        elif kind == "Integer":
            try:
                _sub(element, "IntegerValue").text = str(int(float(value)))  # type: ignore[arg-type]
                return
            except (TypeError, ValueError):
                pass
        elif kind == "Boolean" and str(value).lower() in ("true", "false", "1", "0"):
            _sub(element, "BooleanValue").text = str(value).lower()
            return
        elif kind in ("Date", "DateTime") and value:
            _sub(element, f"{kind}Value").text = str(value)
            return
        _sub(element, "TextValue").text = str(value)

    def _source(self, sources: etree._Element, document: Document, rows: list,
                values: list[tuple[str, str]]) -> None:
        """One TextSource (or PDFSource with its text Representation) and the selections of its references."""
        guid, code_guids, accepted_by = self.doc_guids[document.id], self.code_guids, self.accepted_by
        origin_notes, variable_types = self.origin_notes, self.variable_types
        original = _original(document)
        self.sources[f"{guid}.txt"] = document.text.encode("utf-8")
        meta = {"sha256": document.sha256, "type": document.doc_type, "date": document.date}
        if document.origin.startswith(("http://", "https://")):
            meta["origin"] = document.origin
        description = "sibkit document: " + json.dumps(meta, sort_keys=True)
        if original is not None and original[1] == ".pdf":
            self.sources[f"{guid}.pdf"] = original[0]
            outer = _sub(sources, "PDFSource", guid=guid, name=document.title, path=f"internal://{guid}.pdf")
            _sub(outer, "Description").text = description
            text_element = _sub(outer, "Representation", guid=stable_guid("representation", document.sha256),
                                name=f"Representation of {document.title}", plainTextPath=f"internal://{guid}.txt")
        else:
            rich = None
            if original is not None:
                self.sources[f"{guid}.docx"] = original[0]
                rich = f"internal://{guid}.docx"
            outer = text_element = _sub(sources, "TextSource", guid=guid, name=document.title, richTextPath=rich,
                                        plainTextPath=f"internal://{guid}.txt")
            _sub(outer, "Description").text = description
        self.summary.originals += original is not None
        groups: dict[str, list] = defaultdict(list)
        order: list[str] = []
        for row in sorted(rows, key=lambda r: (r.start, r.end, r.counts_for, r.reference_id)):
            key = row.selection_guid if isinstance(row.selection_guid, str) and row.selection_guid else \
                stable_guid("selection", document.sha256, row.start, row.end, row.counts_for, row.origin, row.term)
            if key not in groups:
                order.append(key)
            groups[key].append(row)
        for selection_guid in order:
            group = groups[selection_guid]
            first = group[0]
            coder, moment = accepted_by.get(first.reference_id, (AUTOMATIC_CODER, None))
            excerpt = " ".join(document.text[first.start:first.end].split())
            selection = _sub(text_element, "PlainTextSelection", guid=selection_guid,
                             name=excerpt if len(excerpt) <= 80 else excerpt[:79] + "…",
                             startPosition=str(first.start), endPosition=str(first.end),
                             creatingUser=self.user(coder), creationDateTime=_time(moment))
            if first.origin != "manual":
                _sub(selection, "Description").text = f"sibkit: origin {first.origin}, term {json.dumps(first.term)}"
            seen: set[str] = set()
            for row in group:
                if row.counts_for in seen:
                    continue
                seen.add(row.counts_for)
                coder, moment = accepted_by.get(row.reference_id, (AUTOMATIC_CODER, None))
                coding_guid = row.coding_guid if isinstance(row.coding_guid, str) and row.coding_guid else \
                    stable_guid("coding", selection_guid, row.counts_for)
                coding = _sub(selection, "Coding", guid=coding_guid, creatingUser=self.user(coder),
                              creationDateTime=_time(moment))
                _sub(coding, "CodeRef", targetGUID=code_guids[row.counts_for])
                if not row.reviewed:
                    _sub(coding, "NoteRef", targetGUID=origin_notes[row.origin])
                kind = "manual" if row.origin == "manual" else ("reviewed" if row.reviewed else "unreviewed")
                self.summary.references[kind] = self.summary.references.get(kind, 0) + 1
            for row in group:
                for note in self.note_refs.get(("reference", str(row.reference_id)), []):
                    _sub(selection, "NoteRef", targetGUID=note)
        for note in self.note_refs.get(("document", str(document.id)), []):
            _sub(outer, "NoteRef", targetGUID=note)
        for variable_guid, value in sorted(values):
            self._value(outer, variable_guid, variable_types.get(guid_key(variable_guid), "Text"), value)


def project_files(study: Study, store: Store | None = None, *, include_all: bool = False,
                  now: dt.datetime | None = None,
                  case_data: bool = True) -> tuple[bytes, dict[str, bytes], ExportSummary]:
    """``project.qde`` and the ``sources/`` files for a study (nothing written)."""
    from sibkit.coding.study import study_codebook
    from sibkit.corpus import open_study_store

    store = store or open_study_store(study)
    codebook = study_codebook(study)
    attributes = None
    warnings: list[str] = []
    if case_data:
        with store.session() as session:
            linked = sorted(set(session.scalars(select(DocumentCase.case_id))))
        try:
            from sibkit.corpus import selected_cases

            wanted = sorted(set(linked) | set(selected_cases(study, store)))
            attributes = case_attributes(study, wanted)
        except SibkitError as exc:
            warnings.append(f"cases exported without their attributes: {exc}")
    exporter = _Exporter(study, store, codebook, include_all, attributes)
    xml = exporter.build(now or dt.datetime.now(dt.UTC).replace(tzinfo=None))
    exporter.summary.warnings += warnings
    return xml, exporter.sources, exporter.summary


def export_qdpx(study: Study, path: Path, store: Store | None = None, *, include_all: bool = False,
                now: dt.datetime | None = None, case_data: bool = True) -> ExportSummary:
    """Write a study as a ``.qdpx`` file; returns what was written."""
    xml, sources, summary = project_files(study, store, include_all=include_all, now=now, case_data=case_data)
    write_qdpx(path, xml, sources)
    summary.path = path
    return summary
