"""Adding documents to a study's database: files, folders, manifests and INDIGO records.

Each document is stored once, by the SHA-256 of its bytes, in its own transaction: a crash
leaves every earlier document complete and the next run adds the rest. Adding the same file
again only links it to any new cases.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sibkit.corpus.budget import extract_within_budget
from sibkit.corpus.extraction import KIND_BY_SUFFIX, MAX_FILE_BYTES, Extracted, count_words
from sibkit.errors import SibkitError
from sibkit.indigo.values import parse_partial_date
from sibkit.store import DOCUMENT_TYPES, Document, DocumentCase, Store, with_retry


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


def printable(text: str) -> str:
    """``text`` safe to print and store: undecodable bytes of a file name (surrogates) as ``\\xNN``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if _only_escapes(
            text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def _only_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF for ch in text)


def guarded(origin: str, work: Callable[[], ImportOutcome]) -> ImportOutcome:
    """Run one item's work inside its own error boundary: any failure becomes a ``failed`` outcome
    naming the item, so the rest of the batch goes on."""
    try:
        return work()
    except SibkitError as exc:
        return ImportOutcome(printable(origin), "failed", str(exc))
    except Exception as exc:
        return ImportOutcome(printable(origin), "failed", f"{type(exc).__name__}: {exc}")


def check_type(doc_type: str) -> str:
    value = doc_type.strip().lower().replace(" ", "_")
    if value not in DOCUMENT_TYPES:
        raise SibkitError(f"document type {doc_type!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    return value


def clean_text(text: str) -> str:
    """Text a database stores as is: no NUL characters (PostgreSQL refuses them), no lone surrogates."""
    return printable(text).replace("\x00", "")


def store_document(store: Store, *, sha256: str, extracted: Extracted, case_ids: Iterable[str], title: str,
                   doc_type: str, origin: str, date: str | None = None) -> ImportOutcome:
    """Insert a document (or link an existing one to more cases) in one transaction.

    Idempotent when several processes add the same file at once: the one that loses the race on
    the unique SHA-256 (or a case link) tries again and finds the document stored."""
    origin = clean_text(origin)
    extracted.text = clean_text(extracted.text)
    title = clean_text(title)
    extracted.title = clean_text(extracted.title)
    for attempt in range(3):
        try:
            return with_retry(lambda: _store_once(store, sha256=sha256, extracted=extracted, case_ids=case_ids,
                                                  title=title, doc_type=doc_type, origin=origin, date=date),
                              what=f"import of {origin}")
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store_once(store: Store, *, sha256: str, extracted: Extracted, case_ids: Iterable[str], title: str,
                doc_type: str, origin: str, date: str | None = None) -> ImportOutcome:
    cases = sorted(set(case_ids))
    with store.session(write=True) as session:
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
    extracted = Extracted() if known else extract_within_budget(data, name, max_bytes=max_bytes)
    if not known and extracted.status == "too_large":
        return ImportOutcome(origin, "too_large", extracted.message)
    return store_document(store, sha256=sha256, extracted=extracted, case_ids=case_ids, title=title,
                          doc_type=doc_type, origin=origin, date=date)


class UnsafeInput(Exception):
    """A path that is not read: outside the allowed folder, not a regular file, unreadable."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_regular_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES, root: Path | None = None) -> bytes:
    """The bytes of a regular file, at most ``max_bytes`` (read, not trusted from its size on disk).

    With ``root``, the file's real path (symlinks resolved) must lie inside ``root``'s real path.
    Device files, FIFOs, sockets and folders are refused without blocking; raises
    :class:`UnsafeInput`."""
    real = os.path.realpath(path)
    if root is not None and not _inside(real, os.path.realpath(root)):
        target = printable(real)
        raise UnsafeInput("refused", f"resolves to {target}, outside {printable(str(root))}; not read")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        kind = "a dangling symlink" if os.path.islink(path) else "no such file"
        raise UnsafeInput("failed", f"{kind}; not read") from None
    except OSError as exc:
        raise UnsafeInput("failed", f"cannot read the file ({exc.strerror or exc})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafeInput("refused", f"{_file_kind(info.st_mode)}, not a regular file; not read")
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if info.st_size > max_bytes:
            raise UnsafeInput("too_large", f"{info.st_size:,} bytes, over the {max_bytes:,} byte limit")
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = handle.read(min(1024 * 1024, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise UnsafeInput("too_large", f"over the {max_bytes:,} byte limit while reading")
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "a special file"


def add_file(store: Store, path: Path, *, case_ids: Iterable[str] = (), title: str = "", doc_type: str = "other",
             date: str | None = None, max_bytes: int = MAX_FILE_BYTES, root: Path | None = None) -> ImportOutcome:
    """Add one file (inside ``root`` when given); any problem is returned as an outcome, never raised."""
    origin = printable(str(path))

    def work() -> ImportOutcome:
        try:
            data = read_regular_file(path, max_bytes=max_bytes, root=root)
        except UnsafeInput as exc:
            return ImportOutcome(origin, exc.status, str(exc))
        return add_bytes(store, data, origin=origin, name=printable(path.name), case_ids=case_ids, title=title,
                         doc_type=doc_type, date=date, max_bytes=max_bytes)

    return guarded(origin, work)


def iter_files(paths: Sequence[Path]) -> Iterator[Path]:
    """The files named, and the files inside the folders named (sorted, hidden ones skipped).

    Symlinked folders are not descended into; symlinks, FIFOs and devices inside a folder are
    yielded so that the reader can refuse them by name rather than skip them silently."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            for folder, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                here = Path(folder)
                linked = [d for d in dirs if (here / d).is_symlink()]
                dirs[:] = [d for d in dirs if d not in linked]
                for name in sorted([*files, *linked]):
                    if not name.startswith("."):
                        yield here / name
        else:
            yield path


def case_from_folder(path: Path, corpus_folder: Path | None, known_cases: set[str]) -> str | None:
    """``corpus/<case id>/...`` links a file to that case."""
    if corpus_folder is None:
        return None
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(corpus_folder))
    except ValueError:
        return None
    if len(relative.parts) >= 2 and relative.parts[0] in known_cases:
        return relative.parts[0]
    return None


def add_paths(store: Store, paths: Sequence[Path], *, case_ids: Sequence[str] = (), doc_type: str = "other",
              corpus_folder: Path | None = None, known_cases: set[str] | None = None,
              progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Add files and folders; the folder convention adds each file's case. ``progress(done, total)``.

    A file found inside a folder is read only if its real path stays inside that folder (a
    symlink out of it is refused); a file named directly is read wherever it is, if regular."""
    report = ImportReport()
    work = [(path, named if named.is_dir() and not named.is_symlink() else None)
            for named in paths for path in iter_files([named])]
    for done, (path, root) in enumerate(work, 1):
        origin = printable(str(path))
        if path.is_symlink() and os.path.isdir(path):
            report.outcomes.append(ImportOutcome(origin, "refused", "a symlinked folder; not followed"))
        elif path.suffix.lower() not in KIND_BY_SUFFIX and path.suffix:
            report.outcomes.append(ImportOutcome(origin, "skipped", f"unsupported file type "
                                                                     f"{printable(path.suffix)}"))
        else:
            cases = set(case_ids)
            from_folder = case_from_folder(path, corpus_folder, known_cases or set())
            if from_folder:
                cases.add(from_folder)
            report.outcomes.append(add_file(store, path, case_ids=cases, doc_type=doc_type, root=root))
        if progress:
            progress(done, len(work))
    return report


MANIFEST_COLUMNS = ("path", "case_ids", "title", "type", "date")


#: the largest CSV field read (the csv module's default of 128 KB is too small for long titles)
CSV_FIELD_LIMIT = 16 * 1024 * 1024


def decode_table_bytes(data: bytes) -> str:
    """A CSV file's text: UTF-8 (with or without BOM), UTF-16/32 with a BOM, else the best guess."""
    from sibkit.corpus.extraction import decode_text

    text, _note = decode_text(data)
    return text.lstrip("\ufeff")


def read_manifest(path: Path, *, allow_outside: bool = False) -> tuple[list[dict[str, object]], list[str]]:
    """Rows of a CSV manifest (path or URL, case ids, title, type, date); bad rows become problems.

    A relative path is taken relative to the manifest's folder; a path (after resolving symlinks)
    that leaves that folder is refused unless ``allow_outside``."""
    rows: list[dict[str, object]] = []
    problems: list[str] = []
    try:
        data = read_regular_file(path, max_bytes=64 * 1024 * 1024)
    except UnsafeInput as exc:
        raise SibkitError(f"{printable(str(path))}: cannot read the manifest ({exc})") from None
    text = decode_table_bytes(data)
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = [(name or "").strip().lower() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise SibkitError(f"{path}: not a readable CSV manifest ({exc})") from None
    if "path" not in fieldnames:
        raise SibkitError(f"{path}: a manifest needs a 'path' column (and optionally case_ids, title, type, date)")
    reader.fieldnames = fieldnames
    folder = path.parent
    line = 1
    while True:
        line += 1
        where = f"{path.name} row {line}"
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{where}: not readable as CSV ({exc}); row skipped")
            continue
        target = str(row.get("path") or "").strip()
        if not target:
            problems.append(f"{where}: empty path; row skipped")
            continue
        try:
            doc_type = check_type(str(row.get("type") or "other"))
            date = parse_partial_date(str(row.get("date") or "") or None)
        except (SibkitError, ValueError, OverflowError) as exc:
            problems.append(f"{where}, {printable(target[:200])}: {exc}; row skipped")
            continue
        if not target.lower().startswith(("http://", "https://")):
            resolved = _manifest_path(target, folder, allow_outside)
            if isinstance(resolved, str):
                problems.append(f"{where}, {printable(target[:200])}: {resolved}; row skipped")
                continue
            target = str(resolved)
        case_text = str(row.get("case_ids") or "")
        cases = [c for c in case_text.replace(";", " ").replace(",", " ").split() if c]
        rows.append({"path": target, "case_ids": cases, "title": str(row.get("title") or "").strip(),
                     "type": doc_type, "date": date, "where": where})
    return rows, problems


def _manifest_path(target: str, folder: Path, allow_outside: bool) -> Path | str:
    """The file a manifest row names, or why it is refused."""
    if "\x00" in target:
        return "a NUL character in the path"
    candidate = Path(target) if os.path.isabs(target) else folder / target
    if allow_outside:
        return candidate
    real = os.path.realpath(candidate)
    if not _inside(real, os.path.realpath(folder)):
        return (f"resolves to {printable(real)}, outside the manifest's folder {printable(str(folder))} "
                "(use --allow-outside to read it)")
    return candidate
