"""Reading a REFI-QDA project (``.qdpx``) into plain objects, whatever tool wrote it.

Handles the shapes NVivo, ATLAS.ti, MAXQDA and QualCoder write: ``sources/`` or ``Sources/``,
``internal://`` and plain or ``relative://`` paths, a ``.qde`` not named ``project.qde``, text given
inline (``PlainTextContent``), PDF sources with a text ``Representation``, codes nested in codes,
GUIDs with or without braces in any case, a byte-order mark, CRLF line ends. Offsets are mapped to
code points of the source text from the reading the project's selections show (code points, UTF-16
units or CRLF counted as one: :mod:`sibkit.interop.offsets`), one reading per project. Elements
sibkit cannot hold are counted in ``unsupported``; bad elements become ``problems`` naming them.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from lxml import etree

from sibkit.errors import SibkitError
from sibkit.interop.archive import Limits, QdpxArchive, unsafe_member
from sibkit.interop.codes import ParsedCode, parse_codes
from sibkit.interop.guids import guid_key, is_guid
from sibkit.interop.offsets import OffsetChoice, choose_offsets
from sibkit.interop.xmlsafe import child, child_text, children, local, parse_xml


@dataclass
class Coding:
    guid: str
    code: str  # GUID key of the code
    user: str | None  # GUID key of the user
    created: dt.datetime | None
    notes: list[str] = field(default_factory=list)
    line: int | None = None


@dataclass
class Selection:
    guid: str
    start: int
    end: int
    name: str
    description: str
    codings: list[Coding]
    notes: list[str]
    created: dt.datetime | None
    line: int | None
    creator: str | None = None  # GUID key of the user who made the selection (its codings may be another's)


@dataclass
class TextDocument:
    guid: str
    name: str
    text: str
    description: str
    selections: list[Selection]
    whole_codings: list[Coding]
    notes: list[str]
    values: list[tuple[str, str]]
    original: bytes | None = None
    original_name: str = ""
    offsets: str = "code points"
    line: int | None = None
    creator: str | None = None  # GUID key of the source's creatingUser
    created: dt.datetime | None = None


@dataclass
class Case:
    guid: str
    name: str
    description: str
    sources: list[str]
    selections: list[str]
    values: list[tuple[str, str]]
    line: int | None = None


@dataclass
class Variable:
    guid: str
    name: str
    type: str
    description: str


@dataclass
class Note:
    guid: str
    name: str
    text: str
    user: str | None
    created: dt.datetime | None
    description: str


@dataclass
class QdaSet:
    guid: str
    name: str
    description: str
    members: list[dict[str, str]]


@dataclass
class QdaProject:
    """Everything sibkit can use from a project, plus what it cannot (``unsupported``) and ``problems``."""

    name: str = ""
    origin: str = ""
    source: str = ""  # the archive and project file, as problems name them
    description: str = ""  # the project's own Description
    creator: str | None = None  # GUID key of the project's creatingUserGUID
    created: dt.datetime | None = None
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (guid as written, name)
    codes: list[ParsedCode] = field(default_factory=list)
    variables: dict[str, Variable] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)
    documents: list[TextDocument] = field(default_factory=list)
    notes: dict[str, Note] = field(default_factory=dict)
    note_targets: dict[str, tuple[str, str]] = field(default_factory=dict)  # note key -> (kind, guid key)
    sets: list[QdaSet] = field(default_factory=list)
    offsets: OffsetChoice | None = None  # how the selections' positions were read
    unsupported: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, object]:
        """The project as pandas DataFrames: documents, codes, codings, cases, notes."""
        import pandas as pd

        codes = {guid_key(c.guid): c for c in self.codes}
        return {
            "documents": pd.DataFrame([(d.guid, d.name, len(d.text), len(d.selections), d.offsets)
                                       for d in self.documents],
                                      columns=["guid", "name", "characters", "selections", "offsets"]),
            "codes": pd.DataFrame([(c.guid, c.name, c.codable, c.parent_guid, c.description) for c in self.codes],
                                  columns=["guid", "name", "codable", "parent_guid", "description"]),
            "codings": pd.DataFrame([(d.name, s.start, s.end, codes[g.code].name if g.code in codes else g.code,
                                      self.users.get(g.user or "", ("", ""))[1], d.text[s.start:s.end])
                                     for d in self.documents for s in d.selections for g in s.codings],
                                    columns=["document", "start", "end", "code", "coder", "text"]),
            "cases": pd.DataFrame([(c.guid, c.name, len(c.sources)) for c in self.cases],
                                  columns=["guid", "name", "sources"]),
            "notes": pd.DataFrame([(n.guid, n.name, n.text) for n in self.notes.values()],
                                  columns=["guid", "name", "text"]),
        }


def _time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _decode(data: bytes, where: str, problems: list[str]) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        problems.append(f"{where}: not UTF-8 as REFI-QDA requires; read as {best.encoding if best else 'latin-1'}")
        return str(best) if best is not None else data.decode("latin-1")


class _Reader:
    def __init__(self, archive: QdpxArchive, source: str, sources: Path | None = None,
                 follow_links: bool = False) -> None:
        self.archive = archive
        self.source = source
        self.project = QdaProject(source=source)
        self.extracted = False
        self.sources = sources  # the folder the user named for files outside the archive (None: none are read)
        self.follow_links = follow_links

    def _unique(self, element: etree._Element, seen: set[str]) -> str | None:
        """The element's GUID when it is valid and not used by an earlier element of its kind, else None
        (and a problem naming it: a second element with one GUID would clash with the first when stored)."""
        guid = (element.get("guid") or "").strip()
        kind, name = local(element), element.get("name") or ""
        where = f"{self.source}: line {element.sourceline}: {kind} {name[:80]!r}"
        if not is_guid(guid):
            self.project.problems.append(f"{where} has no valid guid; skipped")
            return None
        if guid_key(guid) in seen:
            self.project.problems.append(f"{where}: guid {guid} is used by an earlier {kind}; skipped")
            return None
        seen.add(guid_key(guid))
        return guid

    # -- paths
    def _resolve(self, path: str, element: etree._Element) -> tuple[bytes | None, str]:
        """The bytes a source path names, and its file name; None (and a problem or a count) otherwise."""
        where = f"{self.source}: line {element.sourceline}: {local(element)} {element.get('name', '')!r}"
        scheme, _, rest = path.partition("://")
        if not _:
            scheme, rest = "", path
        scheme = scheme.lower()
        name = rest.lstrip("/") if scheme != "absolute" else rest
        if scheme in ("absolute", "file", "http", "https"):
            self.project.unsupported["external sources not read (absolute paths or URLs)"] += 1
            self.project.problems.append(f"{where}: external file {path!r} not read (only files inside the archive "
                                         "or relative to it are)")
            return None, ""
        if unsafe_member(name):
            self.project.problems.append(f"{where}: path {path!r} points outside the archive (path traversal); "
                                         "source skipped")
            return None, ""
        if scheme in ("", "internal"):
            info = self.archive.find(name) or self.archive.find(unquote(name))
            if info is not None:
                return self.archive.read(info), PurePosixPath(info.filename).name
        if scheme in ("", "relative"):
            if self.sources is None:
                self.project.problems.append(
                    f"{where}: file {path!r} is not in the archive; not read from outside the archive (name the "
                    "folder that holds the project's files with --sources FOLDER to read it from there)")
                return None, ""
            found = self._external(name, where)
            if found is not None:
                return found
        self.project.problems.append(f"{where}: file {path!r} is not in the archive; source skipped")
        return None, ""

    def _external(self, name: str, where: str) -> tuple[bytes, str] | None:
        """A file named ``relative://`` (or by a plain path) in the folder the user named (``--sources``),
        never outside it (links out of it refused unless ``--follow-links``). The project's ``basePath``
        names a folder on the machine that wrote it and is not followed (a hostile file could point it at
        ``/``)."""
        from sibkit.corpus.importer import UnsafeInput, read_regular_file

        assert self.sources is not None
        candidate = self.sources / name
        if candidate.suffix.lower() not in (".txt", ".docx", ".pdf"):
            return None
        try:
            data = read_regular_file(candidate, max_bytes=self.archive.limits.member_bytes,
                                     root=None if self.follow_links else self.sources)
        except UnsafeInput as exc:
            self.project.problems.append(f"{where}: {candidate}: {exc}")
            return None
        self.project.problems.append(f"{where}: read {candidate} from {self.sources}, outside the archive "
                                     "(as --sources asked)")
        return data, candidate.name

    def _text_of(self, element: etree._Element, kind: str) -> tuple[str | None, bytes | None, str]:
        """The plain text of a TextSource (or a Representation), and the original rich file when held."""
        where = f"{self.source}: line {element.sourceline}: {kind} {element.get('name', '')!r}"
        inline = child(element, "PlainTextContent")
        original, original_name = None, ""
        rich = element.get("richTextPath")
        if rich:
            original, original_name = self._resolve(rich, element)
        if inline is not None:
            return inline.text or "", original, original_name
        plain = element.get("plainTextPath")
        if plain:
            data, _ = self._resolve(plain, element)
            if data is None:
                return None, original, original_name
            return _decode(data, where, self.project.problems), original, original_name
        if original is not None:
            from sibkit.corpus.budget import extract_within_budget

            extracted = extract_within_budget(original, original_name)
            if extracted.status == "ok":
                self.extracted = True
                if element.findall(".//{*}PlainTextSelection"):
                    self.project.problems.append(f"{where}: no plain text given, only {original_name}; text extracted "
                                                 "by sibkit, selections skipped (their offsets would not match)")
                return extracted.text, original, original_name
        self.project.problems.append(f"{where}: has neither PlainTextContent nor a readable plainTextPath; skipped")
        return None, original, original_name

    # -- elements
    def _notes_of(self, element: etree._Element, kind: str, target: str) -> list[str]:
        keys = [guid_key(ref.get("targetGUID") or "") for ref in children(element, "NoteRef")]
        for key in keys:
            self.project.note_targets.setdefault(key, (kind, target))
        return keys

    def _coding(self, element: etree._Element) -> Coding | None:
        ref = child(element, "CodeRef")
        if ref is None or not is_guid(ref.get("targetGUID")):
            self.project.problems.append(f"{self.source}: line {element.sourceline}: Coding {element.get('guid')} "
                                         "has no valid CodeRef; skipped")
            return None
        coding = Coding(element.get("guid") or "", guid_key(ref.get("targetGUID") or ""),
                        guid_key(element.get("creatingUser") or "") or None, _time(element.get("creationDateTime")),
                        line=element.sourceline)
        coding.notes = self._notes_of(element, "coding", guid_key(coding.guid))
        return coding

    def _selections(self, element: etree._Element, document: TextDocument) -> None:
        for selection in children(element, "PlainTextSelection"):
            guid = selection.get("guid") or ""
            try:
                start, end = int(selection.get("startPosition", "")), int(selection.get("endPosition", ""))
            except ValueError:
                self.project.problems.append(f"{self.source}: line {selection.sourceline}: PlainTextSelection {guid}: "
                                             "startPosition and endPosition must be whole numbers; skipped")
                continue
            codings = [c for c in (self._coding(c) for c in children(selection, "Coding")) if c is not None]
            document.selections.append(Selection(
                guid, start, end, selection.get("name") or "", child_text(selection, "Description"), codings,
                self._notes_of(selection, "selection", guid_key(guid)), _time(selection.get("creationDateTime")),
                selection.sourceline, guid_key(selection.get("creatingUser") or "") or None))

    def _document(self, element: etree._Element, text_element: etree._Element, kind: str) -> None:
        guid = element.get("guid") or ""
        if not is_guid(guid):
            self.project.problems.append(f"{self.source}: line {element.sourceline}: {kind} {element.get('name')!r} "
                                         "has no valid guid; skipped")
            return
        self.extracted = False
        text, original, original_name = self._text_of(text_element, kind)
        if kind == "PDFSource":
            if original is None and element.get("path"):
                original, original_name = self._resolve(element.get("path") or "", element)
            if text is None and original is not None:
                from sibkit.corpus.budget import extract_within_budget

                extracted = extract_within_budget(original, original_name or "source.pdf")
                text = extracted.text if extracted.status == "ok" else None
        if text is None:
            self.project.unsupported[f"{kind} without readable text"] += 1
            lost = len(element.findall(".//{*}PlainTextSelection"))
            if lost:  # the coding on it goes with it: say so beside the source
                self.project.unsupported[f"coded selections on a {kind} without readable text"] += lost
            return
        document = TextDocument(guid, element.get("name") or original_name or guid, text,
                                child_text(element, "Description"), [], [], [],
                                [(_variable_ref(v), _value_text(v))
                                 for v in children(element, "VariableValue")],
                                original, original_name, line=element.sourceline,
                                creator=guid_key(element.get("creatingUser") or "") or None,
                                created=_time(element.get("creationDateTime")))
        if self.extracted:
            self.project.unsupported["selections on sources without plain text"] += len(
                children(text_element, "PlainTextSelection"))
        else:
            self._selections(text_element, document)
        for coding in children(element, "Coding") + (children(text_element, "Coding") if text_element is not element
                                                     else []):
            parsed = self._coding(coding)
            if parsed is not None:
                document.whole_codings.append(parsed)
        document.notes = self._notes_of(element, "source", guid_key(guid))
        if text_element is not element:
            document.notes += self._notes_of(text_element, "source", guid_key(guid))
        self.project.documents.append(document)

    def _unsupported_source(self, element: etree._Element) -> None:
        kind = local(element)
        label = {"AudioSource": "audio sources", "VideoSource": "video sources",
                 "PictureSource": "picture sources"}[kind]
        self.project.unsupported[label] += 1
        selections = [e for e in element.iter() if local(e).endswith("Selection")]
        if selections:
            self.project.unsupported[label.removesuffix(" sources") + " selections"] += len(selections)
        codings = [e for e in element.iter() if local(e) == "Coding"]
        if codings:
            self.project.unsupported[f"codings of {label}"] += len(codings)

    def _unknown(self, element: etree._Element, root: etree._Element, known: tuple[str, ...], what: str,
                 consequence: str) -> bool:
        """A line for an element of the project's own namespace that the schema does not have there (a typo
        such as <Codebook>); another tool's elements, in a namespace of their own, are left alone silently."""
        if not isinstance(element.tag, str) or etree.QName(element).namespace != etree.QName(root).namespace:
            return False
        name = local(element)
        folded = {part.casefold(): part for part in known}
        guess = folded.get(name.casefold()) or next(iter(difflib.get_close_matches(name, known, n=1)), None)
        hint = f" (<{guess}>?)" if guess else ""
        self.project.problems.append(f"{self.source}: line {element.sourceline}: <{name}> is not {what}{hint}; "
                                     f"{consequence}")
        return True

    def read(self, root: etree._Element) -> QdaProject:
        project = self.project
        if local(root) != "Project":
            raise SibkitError(f"{self.source}: the root element is <{local(root)}>, not <Project>")
        project.name = root.get("name") or ""
        project.origin = root.get("origin") or ""
        project.creator = guid_key(root.get("creatingUserGUID") or "") or None
        project.created = _time(root.get("creationDateTime"))
        for section in root:
            name = local(section)
            if name not in _PROJECT_PARTS and self._unknown(section, root, _PROJECT_PARTS, "an element of a REFI-QDA "
                                                             "project", "its contents are not read"):
                continue
            if name == "Users":
                for user in children(section, "User"):
                    if is_guid(user.get("guid")):
                        project.users[guid_key(user.get("guid") or "")] = (user.get("guid") or "",
                                                                           user.get("name") or user.get("id") or "")
            elif name == "CodeBook":
                codes = child(section, "Codes")
                if codes is not None:
                    project.codes = parse_codes(codes, self.source, project.problems)
            elif name == "Variables":
                seen: set[str] = set()
                for variable in children(section, "Variable"):
                    if self._unique(variable, seen) is None:
                        continue
                    project.variables[guid_key(variable.get("guid") or "")] = Variable(
                        variable.get("guid") or "", variable.get("name") or "",
                        variable.get("typeOfVariable") or "Text", child_text(variable, "Description"))
            elif name == "Cases":
                seen = set()
                for case in children(section, "Case"):
                    if self._unique(case, seen) is None:
                        continue
                    if case.findall("{*}CodeRef"):
                        project.unsupported["codings of whole cases"] += len(case.findall("{*}CodeRef"))
                    project.cases.append(Case(
                        case.get("guid") or "", case.get("name") or "", child_text(case, "Description"),
                        [guid_key(r.get("targetGUID") or "") for r in children(case, "SourceRef")],
                        [guid_key(r.get("targetGUID") or "") for r in children(case, "SelectionRef")],
                        [(_variable_ref(v), _value_text(v))
                         for v in children(case, "VariableValue")], case.sourceline))
            elif name == "Sources":
                for source in section:
                    kind = local(source)
                    if kind not in _SOURCE_KINDS:
                        self._unknown(source, root, _SOURCE_KINDS, "a kind of source in a REFI-QDA project", "not read")
                    if kind == "TextSource":
                        self._document(source, source, kind)
                    elif kind == "PDFSource":
                        regions = children(source, "PDFSelection")
                        if regions:
                            project.unsupported["PDF region selections"] += len(regions)
                            coded = sum(len(children(r, "Coding")) for r in regions)
                            if coded:
                                project.unsupported["codings of PDF regions"] += coded
                        representation = child(source, "Representation")
                        self._document(source, representation if representation is not None else source, kind)
                    elif kind in ("AudioSource", "VideoSource", "PictureSource"):
                        self._unsupported_source(source)
            elif name == "Notes":
                seen = set()
                for note in children(section, "Note"):
                    if self._unique(note, seen) is None:
                        continue
                    text, _, _ = self._text_of(note, "Note")
                    project.notes[guid_key(note.get("guid") or "")] = Note(
                        note.get("guid") or "", note.get("name") or "", text or "",
                        guid_key(note.get("creatingUser") or "") or None, _time(note.get("creationDateTime")),
                        child_text(note, "Description"))
            elif name == "Sets":
                seen = set()
                for item in children(section, "Set"):
                    if self._unique(item, seen) is None:
                        continue
                    members = [{"kind": {"MemberCode": "code", "MemberSource": "source", "MemberNote": "note"}[
                        local(m)], "guid": (m.get("targetGUID") or "").strip()} for m in item
                        if local(m) in ("MemberCode", "MemberSource", "MemberNote") and is_guid(m.get("targetGUID"))]
                    project.sets.append(QdaSet(item.get("guid") or "", item.get("name") or "",
                                               child_text(item, "Description"), members))
            elif name == "Links":
                for link in children(section, "Link"):
                    origin, target = guid_key(link.get("originGUID") or ""), guid_key(link.get("targetGUID") or "")
                    if origin in project.notes:
                        project.note_targets.setdefault(origin, ("link", target))
                    else:
                        project.unsupported["links"] += 1
            elif name == "Graphs":
                project.unsupported["graphs"] += len(children(section, "Graph"))
            elif name == "Description":
                project.description = section.text or ""
            elif name == "NoteRef":
                project.note_targets.setdefault(guid_key(section.get("targetGUID") or ""), ("project", ""))
        project.offsets = choose_offsets(project.documents, project.origin)
        if project.offsets.weak:
            project.problems.append(f"{self.source}: {project.offsets.warning()}")
        return project


def _variable_ref(element: etree._Element) -> str:
    ref = child(element, "VariableRef")
    return guid_key(ref.get("targetGUID") or "") if ref is not None else ""


def _value_text(element: etree._Element) -> str:
    for kind in ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue"):
        found = child(element, kind)
        if found is not None:
            return (found.text or "").strip() if kind != "TextValue" else (found.text or "")
    return ""


#: what a <Project> holds, and the kinds of source under <Sources> (the REFI-QDA 1.5 schema)
_PROJECT_PARTS = ("Users", "CodeBook", "Variables", "Cases", "Sources", "Notes", "Links", "Sets", "Graphs",
                  "Description", "NoteRef")
_SOURCE_KINDS = ("TextSource", "PDFSource", "PictureSource", "AudioSource", "VideoSource")


def read_qdpx(path: Path, limits: Limits | None = None, *, sources: Path | None = None,
              follow_links: bool = False) -> QdaProject:
    """Parse a ``.qdpx`` archive (never writing anything); problems are collected, not raised,
    except for archive-level ones (not a ZIP, zip bomb, path traversal, invalid XML, entities, a project
    file too large for the memory budget). Files the project names outside the archive are read only from
    ``sources``, a folder the user names (each read said in a problem line)."""
    archive = QdpxArchive(path, limits)
    try:
        source = f"{path.name}:{archive.qde_name}"
        archive.check_project_memory()
        root = parse_xml(archive.project_bytes(), source)
        return _Reader(archive, source, sources, follow_links).read(root)
    finally:
        archive.close()
