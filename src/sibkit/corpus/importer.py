"""Adding documents to a study's database: files, folders, manifests and INDIGO records.

Each document is stored once, by the SHA-256 of its bytes. Files and folders go through a pipeline:
:func:`prepare` (read, hash, extract within the budget, clean: a pure function of one file, run on
``jobs`` worker processes) and one writer that stores the prepared documents in batches, one
transaction per batch of up to ``batch_size`` documents (Core ``executemany`` inserts): a crash leaves
every committed batch complete and the next run adds the rest. A batch the database refuses is
stored again one document at a time, each in its own error boundary. Adding the same file again
only links it to any new cases.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from sibkit.corpus import budget as _budget
from sibkit.corpus.budget import extract_within_budget
from sibkit.corpus.extraction import KIND_BY_SUFFIX, MAX_FILE_BYTES, Extracted, count_words, extract, sniff
from sibkit.errors import SibkitError
from sibkit.indigo.values import parse_partial_date
from sibkit.parallel import ordered_map
from sibkit.store import Document, DocumentCase, Store, open_store, with_retry
from sibkit.store.bulk import insert_rows

T = TypeVar("T")

#: documents stored per transaction (a killed import loses at most this many; the next run adds them)
BATCH_SIZE = 200
#: a batch is also committed once this many seconds have passed since the last commit (slow PDFs)
BATCH_SECONDS = 5.0


def default_batch_bytes() -> int:
    """Characters of text a batch may hold before it is committed: a sixteenth of the memory budget
    (``SIBKIT_MEMORY_MB``; 128 MiB by default), so 200 long documents never pile up in memory."""
    return _budget.memory_budget() // 16


@dataclass
class ImportOutcome:
    """What happened to one input: added, linked (already there), or a problem."""

    origin: str
    status: str  # added | linked | unchanged | failed | empty | too_large | unsupported | skipped
    message: str = ""
    document_id: int | None = None

    @property
    def noted(self) -> bool:
        """A file added with a note worth showing (the content is not what its name says, a guessed encoding)."""
        return self.status == "added" and bool(self.message)

    @property
    def warns(self) -> bool:
        """Worth a warning: it failed or was refused, or a file was added with a note (not a landing page
        followed, nor a file left out by type, which get a quieter note)."""
        return self.status not in (*FINE, "landing", "skipped") or self.noted

    def line(self) -> str:
        """The outcome as one printable line: a newline, tab, terminal escape or other invisible character
        in a file's name or the message is written out (``\\n``, ``\\x1b``), never sent to the terminal."""
        text = f"{one_line(self.origin)}: {self.status}"
        return f"{text} ({one_line(self.message)})" if self.message else text


FINE = ("added", "linked", "unchanged")


@dataclass
class ImportReport:
    """Counts per status, and the outcomes: all of them, or (``keep_all=False``, for imports of any
    size) only those worth a line: the ones that are not fine, and files added with a note (content
    that is not what the file's name says, a guessed encoding), so memory does not grow with the corpus."""

    outcomes: list[ImportOutcome] = field(default_factory=list)
    keep_all: bool = True
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.counts.update(o.status for o in self.outcomes)

    def add(self, outcomes: Iterable[ImportOutcome]) -> None:
        for outcome in outcomes:
            self.counts[outcome.status] += 1
            if self.keep_all or outcome.status not in FINE or outcome.noted:
                self.outcomes.append(outcome)

    def count(self, status: str) -> int:
        return self.counts[status]

    @property
    def problems(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.status not in FINE]

    def warnings(self) -> list[ImportOutcome]:
        """The outcomes a user is warned of (``ImportOutcome.warns``)."""
        return [o for o in self.outcomes if o.warns]


def printable(text: str) -> str:
    """``text`` safe to print and store: undecodable bytes of a file name (surrogates) as ``\\xNN``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if _only_escapes(
            text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with every character that is not printable (line breaks, tabs, control and format characters
    such as a terminal escape or a bidirectional override) written as its escape: safe as one line of output."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _NAMED_ESCAPES.get(ch) or (
        f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        for ch in text)


def _only_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF for ch in text)


def guarded(origin: str, work: Callable[[], T]) -> T | ImportOutcome:
    """Run one item's work inside its own error boundary: any failure becomes a ``failed`` outcome
    naming the item, so the rest of the batch goes on."""
    try:
        return work()
    except SibkitError as exc:
        return ImportOutcome(printable(origin), "failed", str(exc))
    except Exception as exc:
        return ImportOutcome(printable(origin), "failed", f"{type(exc).__name__}: {exc}")


def check_type(doc_type: str) -> str:
    """The kind id (``sibkit.kinds``) for a kind of document a person named: its id or label, any case,
    with spaces or hyphens (``case-study``, ``Case study``); one clear error listing every kind."""
    from sibkit.kinds import check_kind

    return check_kind(doc_type)


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
        if status in ("unchanged", "linked") and document.status != "ok":  # a repeat of a file with no text
            status, message = document.status, repeated_message(document.origin, document.message, new)
        return ImportOutcome(origin, status, message, document.id)


def repeated_message(first: str, message: str, new_cases: Sequence[str]) -> str:
    """Why a file that repeats the bytes of one stored without text gets that status again."""
    text = f"the same bytes as {first}" + (f"; {message}" if message else "")
    return text + (f"; now also linked to {', '.join(new_cases)}" if new_cases else "")


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
        raise UnsafeInput("refused", f"resolves to {target}, outside {printable(str(root))}; not read "
                                     "(--follow-links reads it)")
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


def case_folder(path: Path, corpus_folder: Path | None) -> str | None:
    """The ``<case id>`` of a file at ``corpus/<case id>/...`` (None for a file elsewhere, or directly in
    the corpus folder)."""
    if corpus_folder is None:
        return None
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(corpus_folder))
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) >= 2 else None


def case_from_folder(path: Path, corpus_folder: Path | None, known_cases: set[str]) -> str | None:
    """``corpus/<case id>/...`` links a file to that case."""
    folder = case_folder(path, corpus_folder)
    return folder if folder in known_cases else None


@dataclass(frozen=True)
class ImportItem:
    """One file to import, with what the caller knows about it. ``root``: the folder its real path
    must stay in (None: a file named directly, read wherever it is)."""

    path: Path
    root: Path | None = None
    case_ids: tuple[str, ...] = ()
    title: str = ""
    doc_type: str = "other"
    date: str | None = None


@dataclass
class Prepared:
    """A file read, hashed, extracted and cleaned, ready for the writer (``known``: the database held
    its SHA-256 when it was read, so it was not extracted again)."""

    item: ImportItem
    origin: str
    sha256: str
    extracted: Extracted
    title: str
    word_count: int
    known: bool = False


#: in a worker process: which SHA-256 the study database holds already
_worker_known: KnownHashes | None = None


def _init_worker(url: str, budget: _budget.Budget | None) -> None:
    """Start of a worker process: its own engine (never the parent's connections, which it inherited
    by ``fork``) and its own extraction worker within the same budget."""
    global _worker_known
    _budget._shared = None  # the parent's extraction worker belongs to the parent: forget, never close
    if budget is not None:
        _budget.set_budget(budget)
    _worker_known = KnownHashes(open_store(url, migrate=False))


_KNOWN = select(Document.__table__.c.id).where(Document.__table__.c.sha256 == bindparam("sha256")).limit(1)


def _is_known(store: Store, sha256: str) -> bool:
    """Whether a document with this SHA-256 is stored (a Core query in a short read transaction)."""
    with store.engine.connect() as connection:
        return connection.execute(_KNOWN, {"sha256": sha256}).first() is not None


class KnownHashes:
    """``known(sha256)``: whether the database holds a document with that SHA-256, asked on one
    connection in autocommit mode (one round trip per file, no transaction or snapshot held)."""

    def __init__(self, store: Store) -> None:
        self.connection = store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def __call__(self, sha256: str) -> bool:
        return self.connection.execute(_KNOWN, {"sha256": sha256}).first() is not None

    def close(self) -> None:
        self.connection.close()


#: UTF-8 text files up to this size are extracted here rather than in the budgeted worker: decoding
#: and normalising them is our own linear-time code (no parser library, no encoding guess), taking
#: milliseconds and a few times the file's size in memory, while the round trip costs as much again
INLINE_TEXT_BYTES = 1024 * 1024


def _extract(data: bytes, name: str, max_bytes: int) -> Extracted:
    """Extract one file: small UTF-8 text in this process, everything else within the budget."""
    if len(data) <= min(INLINE_TEXT_BYTES, max_bytes) and sniff(data) == "text":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return extract(data, name, max_bytes=max_bytes)
    return extract_within_budget(data, name, max_bytes=max_bytes)


def prepare(item: ImportItem, known: Callable[[str], bool] | None = None, *,
            max_bytes: int = MAX_FILE_BYTES) -> Prepared | ImportOutcome:
    """Read, hash and extract one file (within the extraction budget); everything but the write.

    Pure per file (``known(sha256)`` only reads the database; default: the worker's), so it runs on
    any worker; any problem is returned as an outcome naming the file, never raised."""
    origin = printable(str(item.path))
    is_known = known or _worker_known

    def work() -> Prepared | ImportOutcome:
        try:
            data = read_regular_file(item.path, max_bytes=max_bytes, root=item.root)
        except UnsafeInput as exc:
            return ImportOutcome(origin, exc.status, str(exc))
        sha256 = hashlib.sha256(data).hexdigest()
        stored = is_known is not None and is_known(sha256)
        extracted = Extracted() if stored else _extract(data, printable(item.path.name), max_bytes)
        del data
        if not stored and extracted.status == "too_large":
            return ImportOutcome(origin, "too_large", extracted.message)
        extracted.text = clean_text(extracted.text)
        extracted.title = clean_text(extracted.title)
        title = clean_text(item.title) or extracted.title or Path(origin).name
        return Prepared(item, clean_text(origin), sha256, extracted, title, count_words(extracted.text), stored)

    return guarded(origin, work)


def _store_batch(store: Store, batch: list[Prepared]) -> list[ImportOutcome]:
    """Store a batch of prepared documents in one transaction: the new ones inserted together (Core
    ``executemany``), links to cases added; outcomes in the batch's order."""
    documents, links = Document.__table__, DocumentCase.__table__
    outcomes: list[ImportOutcome] = []
    with store.session(write=True) as session:
        connection = session.connection()
        wanted = sorted({p.sha256 for p in batch})
        ids: dict[str, int] = {}
        without_text: dict[str, tuple[str, str, str]] = {}  # sha256 -> (status, origin, message), not "ok"
        for sha, document_id, status, origin, message in connection.execute(
                select(documents.c.sha256, documents.c.id, documents.c.status, documents.c.origin,
                       documents.c.message).where(documents.c.sha256.in_(wanted))):
            ids[sha] = document_id
            if status != "ok":
                without_text[sha] = (status, origin, message)
        first: dict[str, Prepared] = {}
        for prepared in batch:
            if prepared.sha256 not in ids and prepared.sha256 not in first:
                if prepared.known:
                    raise SibkitError(f"{prepared.origin}: removed from the database while it was being "
                                      "imported; run the import again")
                first[prepared.sha256] = prepared
        if first:
            rows = [{"sha256": p.sha256, "title": p.title, "doc_type": p.item.doc_type, "date": p.item.date,
                     "origin": p.origin, "media_type": p.extracted.media_type, "text": p.extracted.text,
                     "pages": p.extracted.pages, "word_count": p.word_count, "status": p.extracted.status,
                     "message": p.extracted.message} for p in first.values()]
            insert_rows(connection, documents, rows)  # COPY on PostgreSQL; the new ids read back by hash
            ids.update(dict(connection.execute(select(documents.c.sha256, documents.c.id)
                                               .where(documents.c.sha256.in_(sorted(first)))).all()))
        linked = set(connection.execute(select(links.c.document_id, links.c.case_id)
                                        .where(links.c.document_id.in_(sorted(set(ids.values()))))).all())
        new_links: list[dict[str, object]] = []
        for prepared in batch:
            document_id = ids[prepared.sha256]
            new = [case for case in sorted(set(prepared.item.case_ids)) if (document_id, case) not in linked]
            linked.update((document_id, case) for case in new)
            new_links += [{"document_id": document_id, "case_id": case} for case in new]
            earlier = first.get(prepared.sha256)
            if earlier is prepared:
                status = "added" if prepared.extracted.status == "ok" else prepared.extracted.status
                message = prepared.extracted.message
            elif prepared.sha256 in without_text or (earlier is not None and earlier.extracted.status != "ok"):
                status, origin, message = without_text.get(prepared.sha256) or (
                    earlier.extracted.status, earlier.origin, earlier.extracted.message)  # type: ignore[union-attr]
                message = repeated_message(origin, message, new)
            elif new:
                status, message = "linked", f"already stored; now also linked to {', '.join(new)}"
            else:
                status, message = "unchanged", ""
            outcomes.append(ImportOutcome(prepared.origin, status, message, document_id))
        insert_rows(connection, links, new_links)  # COPY on PostgreSQL
    return outcomes


def _store_one(store: Store, prepared: Prepared) -> ImportOutcome:
    if prepared.known and not _is_known(store, prepared.sha256):  # its text was never extracted
        return ImportOutcome(prepared.origin, "failed", "removed from the database while it was being imported; "
                                                        "run the import again")
    return store_document(store, sha256=prepared.sha256, extracted=prepared.extracted,
                          case_ids=prepared.item.case_ids, title=prepared.title, doc_type=prepared.item.doc_type,
                          origin=prepared.origin, date=prepared.item.date)


def _store_one_by_one(store: Store, batch: list[Prepared]) -> list[ImportOutcome]:
    """The slow, sure path for a batch the database refused: each document in its own transaction
    and error boundary (a lost race on a SHA-256 with another process becomes a link)."""
    return [guarded(p.origin, lambda p=p: _store_one(store, p)) for p in batch]


def write_batch(store: Store, batch: list[Prepared | ImportOutcome]) -> list[ImportOutcome]:
    """The outcomes of a batch (in order), its prepared documents stored in one transaction, or one
    by one if that transaction fails."""
    pending = [p for p in batch if isinstance(p, Prepared)]
    stored: list[ImportOutcome] = []
    if pending:
        try:
            stored = with_retry(lambda: _store_batch(store, pending), what="import batch")
        except Exception:  # e.g. a race with another process; retried document by document
            stored = _store_one_by_one(store, pending)
    results = iter(stored)
    return [next(results) if isinstance(p, Prepared) else p for p in batch]


def import_items(store: Store, items: Iterable[ImportItem], *, jobs: int = 1, batch_size: int = BATCH_SIZE,
                 total: int | None = None, progress: Callable[[int, int], None] | None = None,
                 max_bytes: int = MAX_FILE_BYTES, report: ImportReport | None = None,
                 executor: str | None = None, batch_bytes: int | None = None) -> ImportReport:
    """Import files: :func:`prepare` on ``jobs`` worker processes (in this process when 1), or on the
    dask.distributed cluster at ``executor``; one writer (here) committing every ``batch_size``
    documents, every ``batch_bytes`` characters of text (default :func:`default_batch_bytes`) or every
    :data:`BATCH_SECONDS`, whichever comes first. Items are streamed: only the batches in flight are
    held in memory. Outcomes are added to ``report`` (else a new one)."""
    most_text = batch_bytes if batch_bytes is not None else default_batch_bytes()
    report = report if report is not None else ImportReport()
    known: KnownHashes | None = None
    if jobs > 1 or executor is not None:
        if executor is None:
            store.engine.dispose()  # no pooled connection may be inherited by the workers
        url = store.engine.url.render_as_string(hide_password=False)
        prepared = ordered_map(functools.partial(prepare, max_bytes=max_bytes), items, jobs=jobs,
                               initializer=_init_worker, initargs=(url, _budget.current_budget()),
                               executor=executor, children=True)  # the budgeted extraction worker
    else:
        known = KnownHashes(store)
        prepared = (prepare(item, known, max_bytes=max_bytes) for item in items)
    batch: list[Prepared | ImportOutcome] = []
    done, last_commit, held = 0, time.monotonic(), 0
    try:
        for result in prepared:
            batch.append(result)
            done += 1
            held += len(result.extracted.text) if isinstance(result, Prepared) else 0
            if len(batch) >= batch_size or held >= most_text or time.monotonic() - last_commit >= BATCH_SECONDS:
                report.add(write_batch(store, batch))
                batch, last_commit, held = [], time.monotonic(), 0
            if progress:
                progress(done, total if total is not None else done)
        if batch:
            report.add(write_batch(store, batch))
    finally:
        if known is not None:
            known.close()
    return report


def path_items(paths: Sequence[Path], *, case_ids: Sequence[str] = (), doc_type: str = "other",
               corpus_folder: Path | None = None, known_cases: set[str] | None = None,
               skipped: Callable[[ImportOutcome], None] | None = None,
               follow_links: bool = False) -> Iterator[ImportItem]:
    """The files to import under ``paths`` (streamed); the folder convention adds each file's case.
    Symlinked folders and unsupported suffixes go to ``skipped`` as outcomes instead.

    A file must really lie in its folder: a folder's files inside that folder, a file named directly inside
    the folder it is named in (so ``corpus/X/*`` cannot bring in a link to ``/etc/passwd``); with
    ``follow_links`` files are read wherever their links lead (symlinked folders are still not walked).

    With ``known_cases``, the files under ``corpus/<id>/`` for an id that is not among them are left out:
    one ``refused`` outcome per such folder says so (``--case`` with such an id is refused the same way)."""
    unknown_folders: dict[str, int] = {}
    for named in paths:
        if follow_links:
            root = None
        elif named.is_dir() and not named.is_symlink():
            root = named
        else:
            root = Path(os.path.dirname(os.path.abspath(named)))
        for path in iter_files([named]):
            origin = printable(str(path))
            if path.is_symlink() and os.path.isdir(path):
                outcome = ImportOutcome(origin, "refused", "a symlinked folder; not followed")
            elif path.suffix.lower() not in KIND_BY_SUFFIX and path.suffix:
                outcome = ImportOutcome(origin, "skipped", f"unsupported file type {printable(path.suffix)}")
            else:
                cases = set(case_ids)
                folder = case_folder(path, corpus_folder)
                if folder is not None and known_cases is not None and folder not in known_cases:
                    unknown_folders[folder] = unknown_folders.get(folder, 0) + 1
                    continue
                if folder is not None and folder in (known_cases or set()):
                    cases.add(folder)
                yield ImportItem(path, root, tuple(sorted(cases)), doc_type=doc_type)
                continue
            if skipped:
                skipped(outcome)
    for folder, count in unknown_folders.items():
        if skipped and corpus_folder is not None:
            files = f"{count} file" + ("s" if count != 1 else "")
            skipped(ImportOutcome(printable(str(corpus_folder / folder)), "refused",
                                  f"{printable(folder)!r} is not a project in the study's dataset; its {files} "
                                  "skipped"))


def add_paths(store: Store, paths: Sequence[Path], *, case_ids: Sequence[str] = (), doc_type: str = "other",
              corpus_folder: Path | None = None, known_cases: set[str] | None = None,
              progress: Callable[[int, int], None] | None = None, jobs: int = 1,
              batch_size: int = BATCH_SIZE, report: ImportReport | None = None,
              executor: str | None = None, follow_links: bool = False) -> ImportReport:
    """Add files and folders; the folder convention adds each file's case. ``progress(done, total)``.

    A file found inside a folder is read only if its real path stays inside that folder, and a file
    named directly only if its real path stays in the folder it is named in (a symlink out of either is
    refused, unless ``follow_links``). ``jobs`` worker processes (or the dask cluster at ``executor``)
    read and extract; one writer stores
    ``batch_size`` documents per transaction."""
    skipped: list[ImportOutcome] = []

    def items() -> Iterator[ImportItem]:
        return path_items(paths, case_ids=case_ids, doc_type=doc_type, corpus_folder=corpus_folder,
                          known_cases=known_cases, skipped=skipped.append, follow_links=follow_links)

    total = sum(1 for _ in path_items(paths, case_ids=case_ids, doc_type=doc_type, corpus_folder=corpus_folder,
                                      known_cases=known_cases, follow_links=follow_links)) if progress else None
    report = import_items(store, items(), jobs=jobs, batch_size=batch_size, total=total, progress=progress,
                          report=report, executor=executor)
    report.add(skipped)
    return report


MANIFEST_COLUMNS = ("path", "case_ids", "title", "type", "date")


#: the largest CSV field read (the csv module's default of 128 KB is too small for long titles)
CSV_FIELD_LIMIT = 16 * 1024 * 1024


def table_delimiter(text: str) -> str:
    """The list separator of a CSV's text: a comma, unless the header row has none and semicolons or tabs
    instead (as a spreadsheet set to a language whose decimal mark is a comma saves it)."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    if "," in header or not (";" in header or "\t" in header):
        return ","
    return max((";", "\t"), key=header.count)


def decode_table_bytes(data: bytes) -> str:
    """A CSV file's text: UTF-8 (with or without BOM), UTF-16/32 with a BOM, else the best guess."""
    from sibkit.corpus.extraction import decode_text

    text, _note = decode_text(data)
    return text.lstrip("\ufeff")


def read_manifest(path: Path, *, allow_outside: bool = False,
                  follow_links: bool = False) -> tuple[list[dict[str, object]], list[str]]:
    """Rows of a CSV manifest (path or URL, case ids, title, type, date); bad rows become problems.
    A row with more fields than the header is kept when its named fields read well, with a ``note``
    naming the values ignored (a value cut at an unquoted comma usually leaves a type or date that
    does not read, and the row is skipped, saying so).

    A relative path is taken relative to the manifest's folder; a path (after resolving symlinks)
    that leaves that folder is refused unless ``allow_outside`` (with ``follow_links``: a path inside
    the folder may be a link out of it). The manifest itself may not be a link out of its folder
    unless ``follow_links``."""
    if not follow_links:
        from sibkit.paths import check_link

        check_link(path)
    rows: list[dict[str, object]] = []
    problems: list[str] = []
    try:
        data = read_regular_file(path, max_bytes=64 * 1024 * 1024)
    except UnsafeInput as exc:
        raise SibkitError(f"{printable(str(path))}: cannot read the manifest ({exc})") from None
    text = refuse_unclosed_quotes(decode_table_bytes(data))
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
        if row.get("path") == UNCLOSED:
            problems.append(f"{where}: a quote opened in this row is never closed (it would swallow every row after "
                            "it); row skipped")
            continue
        extra = [str(value) for value in row.pop(None, None) or []]  # type: ignore[call-overload]
        if not any(value.strip() for value in extra):
            extra = []  # trailing empty fields lose nothing
        shifted = (f" (the row has {len(fieldnames) + len(extra)} fields, the header {len(fieldnames)}: a comma "
                   "inside an unquoted value?)") if extra else ""
        target = str(row.get("path") or "").strip()
        if not target:
            problems.append(f"{where}: empty path{shifted}; row skipped")
            continue
        try:
            doc_type = check_type(str(row.get("type") or "other"))
            date = parse_partial_date(str(row.get("date") or "") or None)
        except (SibkitError, ValueError, OverflowError) as exc:
            problems.append(f"{where}, {printable(target[:200])}: {exc}{shifted}; row skipped")
            continue
        if not target.lower().startswith(("http://", "https://")):
            resolved = _manifest_path(target, folder, allow_outside, follow_links)
            if isinstance(resolved, str):
                problems.append(f"{where}, {printable(target[:200])}: {resolved}; row skipped")
                continue
            target = str(resolved)
        case_text = str(row.get("case_ids") or "")
        cases = [c for c in case_text.replace(";", " ").replace(",", " ").split() if c]
        note = ""
        if extra:  # the named fields read well (a shifted row fails on its type, date or path): kept, and said
            shown = ", ".join(repr(printable(value[:80])) for value in extra[:3]) + (" ..." if len(extra) > 3 else "")
            note = (f"{where}: {len(fieldnames) + len(extra)} fields, the header has {len(fieldnames)}; the "
                    f"value{'s' if len(extra) > 1 else ''} after them ({shown}) "
                    f"{'are' if len(extra) > 1 else 'is'} ignored; row kept")
        rows.append({"path": target, "case_ids": cases, "title": str(row.get("title") or "").strip(),
                     "type": doc_type, "date": date, "where": where, "note": note})
    return rows, problems


UNCLOSED = "\x00unclosed quote"  # stands in for a row whose quote is never closed (no decoded file holds NUL)


def refuse_unclosed_quotes(text: str, delimiter: str = ",") -> str:
    """``text`` with each row whose opening quote no later quote closes (the csv module would read every row
    after it into that one field, silently) replaced by a row of ``UNCLOSED`` marks, one per header
    field, so that row alone is refused and the rows after it are read. A quoted value over several lines
    closes, and stays; the header is left as it is."""
    lines = text.splitlines(keepends=True)
    if not lines or '"' not in text:
        return text
    width = len(next(csv.reader([lines[0]], delimiter=delimiter), [])) or 1
    begin = 1
    while True:
        start, open_quote = begin, False
        for number in range(begin, len(lines)):
            if not open_quote:
                start = number
            if lines[number].count('"') % 2:
                open_quote = not open_quote
        if not open_quote:
            return "".join(lines)
        ending = lines[start][len(lines[start].rstrip("\r\n")):] or "\n"
        lines[start] = delimiter.join([UNCLOSED] * width) + ending
        begin = start + 1


def _manifest_path(target: str, folder: Path, allow_outside: bool, follow_links: bool = False) -> Path | str:
    """The file a manifest row names, or why it is refused."""
    if "\x00" in target:
        return "a NUL character in the path"
    candidate = Path(target) if os.path.isabs(target) else folder / target
    if allow_outside:
        return candidate
    real = os.path.normpath(os.path.abspath(candidate)) if follow_links else os.path.realpath(candidate)
    base = os.path.normpath(os.path.abspath(folder)) if follow_links else os.path.realpath(folder)
    if not _inside(real, base):
        return (f"resolves to {printable(real)}, outside the manifest's folder {printable(str(folder))} "
                "(use --allow-outside to read it, or --follow-links when a link inside the folder leads there)")
    return candidate
