"""Adding documents to a study's database: files, folders, manifests and INDIGO records.

Each document is stored once, by the SHA-256 of its bytes, in its own transaction: a crash
leaves every earlier document complete and the next run adds the rest. Adding the same file
again only links it to any new cases.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from sibkit.corpus.extraction import KIND_BY_SUFFIX, MAX_FILE_BYTES, Extracted, count_words, extract
from sibkit.errors import SibkitError
from sibkit.indigo.values import parse_partial_date
from sibkit.store import DOCUMENT_TYPES, Document, DocumentCase, Store


@dataclass
class ImportOutcome:
    """What happened to one input: added, linked (already there), or a problem."""

    origin: str
    status: str  # added | linked | unchanged | failed | empty | too_large | unsupported | skipped
    message: str = ""
    document_id: int | None = None

    def line(self) -> str:
        text = f"{self.origin}: {self.status}"
        return f"{text} ({self.message})" if self.message else text


@dataclass
class ImportReport:
    outcomes: list[ImportOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def problems(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.status not in ("added", "linked", "unchanged")]


def check_type(doc_type: str) -> str:
    value = doc_type.strip().lower().replace(" ", "_")
    if value not in DOCUMENT_TYPES:
        raise SibkitError(f"document type {doc_type!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    return value


def store_document(store: Store, *, sha256: str, extracted: Extracted, case_ids: Iterable[str], title: str,
                   doc_type: str, origin: str, date: str | None = None) -> ImportOutcome:
    """Insert a document (or link an existing one to more cases) in one transaction."""
    cases = sorted(set(case_ids))
    with store.session() as session:
        document = session.scalar(select(Document).where(Document.sha256 == sha256))
        if document is None:
            document = Document(sha256=sha256, title=title or extracted.title or Path(origin).name,
                                doc_type=doc_type, date=date, origin=origin, media_type=extracted.media_type,
                                text=extracted.text, pages=extracted.pages, word_count=count_words(extracted.text),
                                status=extracted.status, message=extracted.message)
            session.add(document)
            session.flush()
            status = "added" if extracted.status == "ok" else extracted.status
        else:
            status = "unchanged"
        linked = {link.case_id for link in document.cases}
        new = [case for case in cases if case not in linked]
        for case in new:
            session.add(DocumentCase(document_id=document.id, case_id=case))
        if status == "unchanged" and new:
            status = "linked"
        message = extracted.message if status not in ("unchanged", "linked") else ""
        if status == "linked":
            message = f"already stored; now also linked to {', '.join(new)}"
        return ImportOutcome(origin, status, message, document.id)


def add_bytes(store: Store, data: bytes, *, origin: str, name: str, case_ids: Iterable[str] = (),
              title: str = "", doc_type: str = "other", date: str | None = None,
              max_bytes: int = MAX_FILE_BYTES) -> ImportOutcome:
    sha256 = hashlib.sha256(data).hexdigest()
    with store.session() as session:
        known = session.scalar(select(Document.id).where(Document.sha256 == sha256))
    extracted = Extracted() if known else extract(data, name, max_bytes=max_bytes)
    if not known and extracted.status == "too_large":
        return ImportOutcome(origin, "too_large", extracted.message)
    return store_document(store, sha256=sha256, extracted=extracted, case_ids=case_ids, title=title,
                          doc_type=doc_type, origin=origin, date=date)


def add_file(store: Store, path: Path, *, case_ids: Iterable[str] = (), title: str = "", doc_type: str = "other",
             date: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> ImportOutcome:
    """Add one file; any problem is returned as an outcome, never raised."""
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return ImportOutcome(origin, "too_large", f"{size:,} bytes, over the {max_bytes:,} byte limit")
        data = path.read_bytes()
    except OSError as exc:
        return ImportOutcome(origin, "failed", f"cannot read the file ({exc.strerror or exc})")
    return add_bytes(store, data, origin=origin, name=path.name, case_ids=case_ids, title=title,
                     doc_type=doc_type, date=date, max_bytes=max_bytes)


def iter_files(paths: Sequence[Path]) -> Iterator[Path]:
    """The files named, and the supported files inside the folders named (sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield child
        else:
            yield path


def case_from_folder(path: Path, corpus_folder: Path | None, known_cases: set[str]) -> str | None:
    """``corpus/<case id>/...`` links a file to that case."""
    if corpus_folder is None:
        return None
    try:
        relative = path.resolve().relative_to(corpus_folder.resolve())
    except ValueError:
        return None
    if len(relative.parts) >= 2 and relative.parts[0] in known_cases:
        return relative.parts[0]
    return None


def add_paths(store: Store, paths: Sequence[Path], *, case_ids: Sequence[str] = (), doc_type: str = "other",
              corpus_folder: Path | None = None, known_cases: set[str] | None = None,
              progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Add files and folders; the folder convention adds each file's case. ``progress(done, total)``."""
    report = ImportReport()
    files = list(iter_files(paths))
    for done, path in enumerate(files, 1):
        if path.suffix.lower() not in KIND_BY_SUFFIX and path.suffix:
            report.outcomes.append(ImportOutcome(str(path), "skipped", f"unsupported file type {path.suffix}"))
        else:
            cases = set(case_ids)
            from_folder = case_from_folder(path, corpus_folder, known_cases or set())
            if from_folder:
                cases.add(from_folder)
            report.outcomes.append(add_file(store, path, case_ids=cases, doc_type=doc_type))
        if progress:
            progress(done, len(files))
    return report


MANIFEST_COLUMNS = ("path", "case_ids", "title", "type", "date")


def read_manifest(path: Path) -> tuple[list[dict[str, object]], list[str]]:
    """Rows of a CSV manifest (path or URL, case ids, title, type, date); bad rows become problems."""
    rows: list[dict[str, object]] = []
    problems: list[str] = []
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise SibkitError(f"{path}: cannot read the manifest ({exc.strerror or exc})") from None
    with handle:
        reader = csv.DictReader(handle)
        if "path" not in (reader.fieldnames or []):
            raise SibkitError(f"{path}: a manifest needs a 'path' column (and optionally case_ids, title, type, date)")
        for line, row in enumerate(reader, start=2):
            where = f"{path.name} row {line}"
            target = (row.get("path") or "").strip()
            if not target:
                problems.append(f"{where}: empty path; row skipped")
                continue
            try:
                doc_type = check_type(row.get("type") or "other")
                date = parse_partial_date(row.get("date") or None)
            except (SibkitError, ValueError) as exc:
                problems.append(f"{where}, {target}: {exc}; row skipped")
                continue
            cases = [c for c in (row.get("case_ids") or "").replace(";", " ").replace(",", " ").split() if c]
            rows.append({"path": target, "case_ids": cases, "title": (row.get("title") or "").strip(),
                         "type": doc_type, "date": date, "where": where})
    return rows, problems
