"""A study as a REFI-QDA project (``.qdpx``): ``project.qde`` plus ``sources/``.

- Users: every user the study holds, every coder (review decisions, memo authors), and ``sibkit``
  (listed last) for unreviewed automatic hits.
- CodeBook: the study's codebook as nested codes (the default codebook only for the themes used),
  each theme's definition and terms in the code's description (see :mod:`sibkit.interop.codes`),
  plus codes kept from imported projects, with their GUIDs and colours.
- Variables and Cases: each case with its class, achievement and payment ratios, country, sector and
  live year (``sibkit.outcomes``, ``sibkit.indigo.derived``; INDIGO cases beyond the documents' only
  for a study that declares data or a selection), and the values imported projects gave; one
  Variable per name.
- Sources: each readable document's extracted text as ``sources/<guid>.txt`` (UTF-8, exactly the
  stored text, so offsets are code points), the original DOCX or PDF where the corpus still holds
  it; a ``PlainTextSelection`` with ``Coding`` and ``CodeRef`` for every accepted or manual reference
  (with ``include_all``, unreviewed ones too, marked three ways: a note that says so, the user
  ``sibkit``, a GUID derived for them), the selection's creator kept from the tool it came from.
- Notes: the study's memos (each in a file, dated), attached to their project, source, selection or
  (by a link) case; memos that were a Description go back as the source's or project's Description.

GUIDs are kept from imported projects, else derived from stable keys (:mod:`sibkit.interop.guids`),
so exporting the same study twice gives the same ``project.qde`` apart from ``modifiedDateTime``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
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
from sibkit.interop.codes import add_codes, group_guid, read_description, rgb
from sibkit.interop.guids import AUTOMATIC_CODER, guid_key, stable_guid, unreviewed_coding_guid
from sibkit.interop.xmlsafe import PROJECT_NS
from sibkit.store import Document, DocumentCase, Memo, Reference, ReviewDecision, Store
from sibkit.store.models import QdaCase, QdaCode, QdaNote, QdaSelection, QdaSet, QdaUser, QdaValue, QdaVariable
from sibkit.study import Study
from sibkit.words import counted

UNREVIEWED_NOTE = "sibkit: references of origin '{origin}', not reviewed by a person"
CASE_VARIABLES = (("class", "Text"), ("achievement_ratio", "Float"), ("payment_ratio", "Float"),
                  ("country", "Text"), ("sector", "Text"), ("live_year", "Integer"))
INDIGO_ID = re.compile(r"INDIGO-[A-Z]+-\d+")
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
    omitted: list[str] = field(default_factory=list)  # what the study has but the export leaves out, and why

    def lines(self) -> list[str]:
        order = [kind for kind in REFERENCE_WORDS if kind in self.references] + sorted(
            set(self.references) - set(REFERENCE_WORDS))
        refs = ", ".join(f"{self.references[kind]} {REFERENCE_WORDS.get(kind, kind)}" for kind in order) or "none"
        return [f"{counted(self.documents, 'document')} ({self.originals} with their original file), "
                f"{counted(self.codes, 'code')}, {counted(self.cases, 'case')}, {counted(self.notes, 'note')}; "
                f"references exported: {refs}",
                *(f"not exported: {line}" for line in self.omitted)]


#: the kinds of exported references (``ExportSummary.references``), as the summary line says them
REFERENCE_WORDS = {"reviewed": "accepted in review", "manual": "manual", "unreviewed": "unreviewed"}


def _nobody(row: object) -> str:
    """The coder of a reference nobody decided on: sibkit's automatic user for a hit sibkit found, never
    for a manual reference (a person made it; which one was not recorded)."""
    return "unknown coder" if getattr(row, "origin", "") == "manual" else AUTOMATIC_CODER


def _accepted_by(decisions: list) -> dict[int, list[tuple[str, dt.datetime, str | None]]]:
    """Per reference, every coder whose latest decision accepts it, earliest first: (coder, when, the theme
    a recode moved it to, else None)."""
    latest: dict[tuple[int, str], object] = {}
    for row in decisions:
        latest[(row.reference_id, row.coder)] = row
    accepted: dict[int, list[tuple[str, dt.datetime, str | None]]] = defaultdict(list)
    for (reference_id, coder), row in sorted(latest.items(), key=lambda kv: (kv[1].decided_at, kv[1].id)):
        if row.decision in ("accept", "overrule", "recode"):
            accepted[reference_id].append((coder, row.decided_at, row.new_theme if row.decision == "recode"
                                           else None))
    return dict(accepted)


def _coders_of(accepted: list[tuple[str, dt.datetime, str | None]], theme: str,
               counts_for: str) -> list[tuple[str, dt.datetime]]:
    """The coders whose acceptance is of the theme the reference counts for (a recode of another coder to
    another theme is not theirs), earliest first; the first acceptance when none is (one coding, as before)."""
    agreeing = [(coder, moment) for coder, moment, moved in accepted if (moved or theme) == counts_for]
    return agreeing or [(coder, moment) for coder, moment, _ in accepted[:1]]


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
                 attributes: dict[str, dict[str, object]] | None, all_themes: bool = True) -> None:
        self.study, self.store, self.codebook, self.include_all = study, store, codebook, include_all
        self.all_themes = all_themes
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
                ReviewDecision.decision, ReviewDecision.new_theme).order_by(ReviewDecision.decided_at,
                                                                            ReviewDecision.id)).all()
            self.memos = list(session.scalars(select(Memo).order_by(Memo.id)))
            self.stored_users = {u.name: u.guid for u in session.scalars(select(QdaUser))}
            self.stored_codes = list(session.scalars(select(QdaCode)))
            self.stored_cases = {c.case_id: c for c in session.scalars(select(QdaCase))}
            self.variables = list(session.scalars(select(QdaVariable).order_by(QdaVariable.name)))
            self.values = list(session.scalars(select(QdaValue)))
            self.sets = list(session.scalars(select(QdaSet).order_by(QdaSet.name, QdaSet.guid)))
            notes = list(session.scalars(select(QdaNote)))
            self.note_guids = {n.memo_id: n.guid for n in notes}
            self.description_guids = {n.guid for n in notes if n.kind == "description"}
            self.selection_makers = {guid_key(s.guid): (s.creator, s.created) for s in session.scalars(select(
                QdaSelection))}
            kept = {row[0]: (row[1], row[2], row[3]) for row in session.execute(
                select(Reference.id, Reference.selection_guid, Reference.coding_guid, Reference.created_at))}
        refs = references(self.store)
        refs["selection_guid"] = [kept.get(i, (None, None, None))[0] for i in refs["reference_id"]]
        refs["coding_guid"] = [kept.get(i, (None, None, None))[1] for i in refs["reference_id"]]
        refs["created_at"] = [kept.get(i, (None, None, None))[2] for i in refs["reference_id"]]
        self.exported = refs[refs["counts_for"].notna() & (refs["reviewed"] | self.include_all)]
        decided_against = refs["reviewed"] & refs["counts_for"].isna()
        undecided = ~refs["reviewed"]
        left_home = [(int(decided_against.sum()), "reference", "rejected in review"),
                     (0 if self.include_all else int((undecided & refs["counts_for"].notna()).sum()),
                      "unreviewed reference", "(--all exports them)"),
                     (int((undecided & refs["counts_for"].isna()).sum()), "suggestion", "nobody decided on")]
        self.summary.omitted += [f"{counted(count, word)} {why}" for count, word, why in left_home if count]
        replaced = {memo.replaces for memo in self.memos if memo.replaces}
        by_id = {m.id: m for m in self.memos}
        current = [memo for memo in self.memos if memo.id not in replaced]
        # memos that were a source's or the project's Description go back as descriptions, not notes
        self.descriptions: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.current_memos = []
        for memo in current:
            if self.memo_guid(memo, by_id, self.note_guids) in self.description_guids:
                self.descriptions[(memo.target_kind, memo.target_id)].append(memo.text)
            else:
                self.current_memos.append(memo)
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
            add_codes(codes, themes, PROJECT_NS, guid_of=self.code_guids, codable=self.codable or None,
                      color_of=self.code_colors)
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
        if notes:  # each note's text in a file of its own, as NVivo writes them and QualCoder reads them
            block = _sub(root, "Notes")
            for guid, name, user, moment, text in notes:
                _sub(block, "Note", guid=guid, name=name, plainTextPath=f"internal://{guid}.txt", creatingUser=user,
                     creationDateTime=_time(moment))
                self.sources[f"{guid}.txt"] = text.encode("utf-8")
            self.summary.notes = len(notes)
        if links:
            block = _sub(root, "Links")
            for note_guid, case_guid in links:
                _sub(block, "Link", guid=stable_guid("memo-link", note_guid), name="memo on case",
                     direction="OneWay", originGUID=note_guid, targetGUID=case_guid)
        self._sets(root, {guid_key(note[0]) for note in notes})
        kinds = "accepted, manual and unreviewed" if self.include_all else "accepted and manual only"
        kept = "".join(f"{text}\n\n" for text in self.descriptions.get(("study", ""), []))
        _sub(root, "Description").text = kept + (
            f"Exported by sibkit {__version__} from the study {self.study.title!r}: {len(self.documents)} documents, "
            f"{len(self.exported)} references ({kinds}), {self.summary.cases} cases. Offsets are Unicode code "
            "points of sources/<guid>.txt.")
        for guid in self.note_refs.get(("study", ""), []):
            _sub(root, "NoteRef", targetGUID=guid)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def _themes(self) -> list[Theme]:
        """The codebook's themes (only those references use, with their parents, when the study does not
        name a codebook and merely has the default one), then codes kept from imported projects, then
        any theme a reference uses; each with its GUID and colour."""
        self.code_guids = {c.theme: c.guid for c in self.stored_codes}
        self.code_colors = {c.theme: color for c in self.stored_codes if (color := rgb(c.color))}
        self.codable: dict[str, bool] = {}
        themes = list(self.codebook.themes)
        if not self.all_themes:
            parents = {t.id: t.parent for t in themes}
            used: set[str] = set()
            for theme in set(self.exported["counts_for"]):
                while theme is not None and theme not in used:
                    used.add(theme)
                    theme = parents.get(theme)
            themes = [t for t in themes if t.id in used]
            left_out = len(self.codebook.themes) - len(themes)
            if left_out:
                self.summary.omitted.append(f"{left_out} themes of the default codebook that no reference uses "
                                            "(the study names no codebook)")
        for theme in themes:
            if theme.guid:
                self.code_guids.setdefault(theme.id, theme.guid)
            if rgb(theme.color):
                self.code_colors.setdefault(theme.id, rgb(theme.color))  # type: ignore[arg-type]
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
        self.theme_ids = {theme.id for theme in themes}
        return themes

    def _users(self, root: etree._Element) -> None:
        """Every user the study holds (those who coded nothing too), every coder of an exported
        reference and creator of an imported selection, every memo author; ``sibkit`` for unreviewed
        hits, listed last (QualCoder names its coder after the first user of a project it imports)."""
        for name in self.stored_users:
            self.user(name)
        for row in self.exported.itertuples():
            for coder, *_ in self.accepted_by.get(row.reference_id) or [(_nobody(row),)]:
                self.user(coder)
            kept = row.selection_guid if isinstance(row.selection_guid, str) else ""
            creator = self.selection_makers.get(guid_key(kept), (None, None))[0]
            if creator:
                self.user(creator)
        for memo in self.current_memos:
            self.user(memo.author or AUTOMATIC_CODER)
        if self.user_guids:
            users = _sub(root, "Users")
            for name in sorted(self.user_guids, key=lambda n: (n == AUTOMATIC_CODER, n)):
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
        # one Variable per name (QualCoder refuses a second of the same name): a variable imported under a
        # name already written (sibkit's own case variables re-keyed by another tool) merges into it
        named = {name.casefold(): guid for guid, name, _, _ in rows}
        same: dict[str, str] = {}  # GUID key of a merged variable -> the GUID it is written as
        for v in self.variables:
            if guid_key(v.guid) in {guid_key(g) for g in named.values()}:
                continue
            if v.name.casefold() in named:
                same[guid_key(v.guid)] = named[v.name.casefold()]
                continue
            named[v.name.casefold()] = v.guid
            rows.append((v.guid, v.name, v.type, v.description))
        self.variable_types = {guid_key(row[0]): row[2] for row in rows}
        self.stored_values: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for value in sorted(self.values, key=lambda v: guid_key(v.variable_guid) in same):  # own values first
            target = (value.target_kind, value.target_id)
            guid = same.get(guid_key(value.variable_guid), value.variable_guid)
            if all(guid_key(guid) != guid_key(g) for g, _ in self.stored_values[target]):
                self.stored_values[target].append((guid, value.value))
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
        unreviewed = self.exported[~self.exported["reviewed"]]
        for origin in sorted(set(unreviewed["origin"])):
            self.origin_notes[origin] = stable_guid("unreviewed-note", origin)
            found = min(unreviewed.loc[unreviewed["origin"] == origin, "created_at"])  # when sibkit first found one
            notes.append((self.origin_notes[origin], f"sibkit: unreviewed {origin} references",
                          self.user(AUTOMATIC_CODER), found,
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
        """A set per document type, the codebook's groups, then the sets kept from imported projects
        (members still exported)."""
        exported = {guid_key(g) for g in [*self.doc_guids.values(), *self.code_guids.values()]} | note_guids
        rows: list[tuple[str, str, str, list[dict[str, str]]]] = []
        by_type: dict[str, list[str]] = defaultdict(list)
        for document in self.documents:
            by_type[document.doc_type].append(self.doc_guids[document.id])
        for doc_type in sorted(by_type):
            rows.append((stable_guid("document-type", doc_type), f"Document type: {doc_type}",
                         "sibkit document type", [{"kind": "source", "guid": g} for g in by_type[doc_type]]))
        for group in self.codebook.groups:  # the codebook's groups of themes (code sets kept from a .qdc)
            members = [{"kind": "code", "guid": self.code_guids[t]} for t in group.themes if t in self.theme_ids]
            if members:
                rows.append((group_guid(group), group.name, group.description, members))
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
        kept = "".join(f"{text}\n" for text in self.descriptions.get(("document", str(document.id)), []))
        description = kept + "sibkit document: " + json.dumps(meta, sort_keys=True)
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
            coder, moment, _ = (accepted_by.get(first.reference_id) or [(_nobody(first), first.created_at, None)])[0]
            # the selection's creator as the tool it came from said, unless that was sibkit's automatic
            # user (QualCoder takes a selection's creator as its coder: a person's acceptance would be lost)
            creator, created = self.selection_makers.get(guid_key(selection_guid), (None, None))
            excerpt = " ".join(document.text[first.start:first.end].split())
            selection = _sub(text_element, "PlainTextSelection", guid=selection_guid,
                             name=excerpt if len(excerpt) <= 80 else excerpt[:79] + "…",
                             startPosition=str(first.start), endPosition=str(first.end),
                             creatingUser=self.user(creator if creator and creator != AUTOMATIC_CODER else coder),
                             creationDateTime=_time(created or moment))
            if first.origin != "manual":
                _sub(selection, "Description").text = f"sibkit: origin {first.origin}, term {json.dumps(first.term)}"
            seen: set[str] = set()
            for row in group:
                if row.counts_for in seen:
                    continue
                seen.add(row.counts_for)
                accepted = accepted_by.get(row.reference_id)
                # one Coding per coder who accepted it (REFI-QDA's coding by user), so every coder's
                # acceptance travels; rejections have no REFI-QDA form and stay home
                coders = _coders_of(accepted, row.theme, row.counts_for) if accepted else \
                    [(_nobody(row), row.created_at)]
                kept_guid = row.coding_guid if isinstance(row.coding_guid, str) and row.coding_guid else None
                marked = unreviewed_coding_guid(selection_guid, code_guids[row.counts_for])
                if not row.reviewed:  # the GUID that marks an automatic hit nobody reviewed
                    coding_guid = kept_guid or marked
                elif kept_guid and guid_key(kept_guid) != marked:
                    coding_guid = kept_guid
                else:
                    coding_guid = stable_guid("coding", selection_guid, row.counts_for)
                for position, (coder, moment) in enumerate(coders):
                    guid = coding_guid if position == 0 else stable_guid("coding", selection_guid, row.counts_for,
                                                                           coder)
                    coding = _sub(selection, "Coding", guid=guid, creatingUser=self.user(coder),
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
        # what the study holds: its documents' cases, and its INDIGO selection only when it declares one
        # (a study made from another tool's project is not about 319 INDIGO projects)
        with store.session() as session:
            linked = set(session.scalars(select(DocumentCase.case_id)))
        wanted = {case for case in linked if INDIGO_ID.fullmatch(case)}
        try:
            if study.selection or study.data is not None:
                from sibkit.corpus import selected_cases

                wanted |= linked | set(selected_cases(study, store))
            attributes = case_attributes(study, sorted(wanted)) if wanted else None
        except SibkitError as exc:
            warnings.append(f"cases exported without their attributes: {exc}")
    # the study's codebook in full when the study names one; the default one only for the themes used
    exporter = _Exporter(study, store, codebook, include_all, attributes,
                         all_themes="codebook" in study.model_fields_set)
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
