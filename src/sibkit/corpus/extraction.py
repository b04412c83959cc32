"""Text extraction from PDF, DOCX, HTML, TXT and Markdown, with page boundaries, never raising.

Libraries (chosen by measurement, see benchmarks/bench_extract.py): pypdfium2 for PDF (fast,
expands ligatures, marks line-end hyphenation), python-docx for DOCX (its XML parser does not
resolve entities), trafilatura for the main content of HTML pages, charset-normalizer for text
in unknown encodings. Every failure becomes a status and a one-line message.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import charset_normalizer

from sibkit.corpus.normalise import join_pages, normalise_page, strip_repeated_lines
from sibkit.words import counted

MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
#: largest uncompressed size of any one zip entry (a DOCX's document.xml is rarely over a few MB)
MAX_ZIP_ENTRY_BYTES = 100 * 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_RATIO = 200
MAX_PDF_PAGES = 5000

KIND_BY_SUFFIX = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".txt": "text",
                  ".md": "text", ".markdown": "text", ".text": "text"}
MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html", "text": "text/plain",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@dataclass
class Extracted:
    """What came out of one file: normalised text, page start offsets, status and message."""

    text: str = ""
    pages: list[int] = field(default_factory=lambda: [0])
    status: str = "ok"
    message: str = ""
    kind: str = ""
    title: str = ""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.kind, "application/octet-stream")


_UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_BOM_CODECS = {codecs.BOM_UTF32_LE: "utf-32", codecs.BOM_UTF32_BE: "utf-32", codecs.BOM_UTF16_LE: "utf-16",
               codecs.BOM_UTF16_BE: "utf-16"}


def _wide_text(data: bytes) -> str | None:
    """The codec of UTF-16/32 text with a byte-order mark, else None."""
    for bom in _UTF16_BOMS:
        if data.startswith(bom):
            return _BOM_CODECS[bom]
    return None


def sniff(data: bytes) -> str | None:
    """The kind of a file from its first bytes (not its name)."""
    wide = _wide_text(data)
    if wide is not None:
        head = data[:4096].decode(wide, errors="ignore").lstrip().lower().encode("utf-8", "ignore")
        return "html" if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head else "text"
    head = data[:2048].lstrip()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    lowered = head[:1024].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered or b"<body" in lowered:
        return "html"
    if b"\x00" in data[:4096]:
        return None
    return "text"


def extract(data: bytes, name: str = "", *, max_bytes: int = MAX_FILE_BYTES) -> Extracted:
    """Extract and normalise the text of one file's bytes; ``name`` only for its extension."""
    if len(data) > max_bytes:
        return Extracted(status="too_large", message=f"{len(data):,} bytes, over the {max_bytes:,} byte limit")
    if not data.strip():
        return Extracted(status="empty", message="the file is empty")
    kind = sniff(data)
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    expected = KIND_BY_SUFFIX.get(suffix)
    if kind is None:
        return Extracted(status="unsupported", message="binary content that is not PDF or DOCX")
    note = ""
    if expected and expected != kind and not (expected == "text" and kind == "html"):
        note = f"content is {kind.upper()}, not {suffix} as the name says; read as {kind.upper()}"
    try:
        result = {"pdf": _pdf, "docx": _docx, "html": _html, "text": _text}[kind](data)
    except _Refused as exc:
        return Extracted(status="failed", message=str(exc), kind=kind)
    except MemoryError:
        return Extracted(status="failed", kind=kind,
                         message="ran out of memory (over the memory budget) while extracting the text")
    except (RecursionError, Exception) as exc:  # a damaged file must never end the batch
        first = (str(exc).splitlines() or [""])[0][:200]
        return Extracted(status="failed", kind=kind,
                         message=f"damaged or unreadable {kind.upper()} ({type(exc).__name__}: {first})")
    result.kind = kind
    if note:
        result.message = "; ".join(m for m in (note, result.message) if m)
    if result.status == "ok" and not result.text.strip():
        result.status = "empty"
        result.message = result.message or "no text found"
    return result


class _Refused(Exception):
    """A file we will not (or cannot) read; the message is shown to the user."""


def _pdf(data: bytes) -> Extracted:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise _Refused("encrypted PDF (a password is needed); save an unlocked copy") from None
        raise _Refused(f"not a readable PDF ({exc}); the file may be corrupt or truncated") from None
    try:
        count = len(document)
        if count > MAX_PDF_PAGES:
            raise _Refused(f"{count} pages, over the {MAX_PDF_PAGES} page limit")
        pages = []
        for index in range(count):
            page = document[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    except pdfium.PdfiumError as exc:
        raise _Refused(f"PDF page could not be read ({exc}); the file may be damaged") from None
    finally:
        document.close()
    cleaned = strip_repeated_lines([normalise_page(p) for p in pages])
    text, starts = join_pages(cleaned)
    result = Extracted(text=text, pages=starts)
    if count and not text.strip():
        result.status = "empty"
        result.message = f"{counted(count, 'page')} but no text layer (scanned images?); run OCR first"
    return result


def _check_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _Refused("not a readable DOCX (broken zip container)") from None
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _Refused(f"DOCX has {len(infos):,} zip entries, over the {MAX_ZIP_ENTRIES:,} limit")
    total = sum(info.file_size for info in infos)
    packed = max(1, sum(info.compress_size for info in infos))
    if total > MAX_UNZIPPED_BYTES or total / packed > MAX_ZIP_RATIO:
        raise _Refused(f"DOCX unpacks to {total:,} bytes ({total // packed}x its size): refused as a zip bomb")
    for info in infos:  # each entry on its own, so a padding entry cannot dilute the ratio
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MAX_ZIP_ENTRY_BYTES or (info.file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO):
            raise _Refused(f"DOCX entry {info.filename} unpacks to {info.file_size:,} bytes ({ratio:.0f}x): "
                           "refused as a zip bomb")
        if info.flag_bits & 0x1:
            raise _Refused(f"DOCX entry {info.filename} is encrypted; save an unprotected copy")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused(f"DOCX entry {info.filename} uses compression method {info.compress_type}, "
                           "which Word does not write")
    if "word/document.xml" not in archive.namelist():
        raise _Refused("a zip file without word/document.xml: not a DOCX")
    for member in ("word/document.xml", "[Content_Types].xml"):
        if member in archive.namelist():
            try:
                with archive.open(member) as stream:
                    head = stream.read(4096)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
                raise _Refused(f"not a readable DOCX (entry {member}: {type(exc).__name__}: {exc})") from None
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise _Refused(f"DOCX part {member} declares XML entities: refused (possible XXE attack)")
    return archive


def _docx(data: bytes) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise _Refused(f"not a readable DOCX ({exc})") from None
    except Exception as exc:  # lxml errors on malformed XML
        raise _Refused(f"not a readable DOCX ({type(exc).__name__}: {exc})") from None
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    title = (document.core_properties.title or "").strip()
    text, starts = join_pages([normalise_page("\n".join(parts))])
    return Extracted(text=text, pages=starts, title=title)


def decode_text(data: bytes) -> tuple[str, str]:
    """Text from bytes: UTF-8 if it is, else the best guess; (text, note on the encoding)."""
    wide = _wide_text(data)
    if wide is not None:
        return data.decode(wide, errors="replace"), f"read as {wide.upper()} (byte-order mark)"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        return data.decode("cp1252", errors="replace"), "not UTF-8; read as Windows-1252"
    # short texts are ambiguous between the Windows code pages: prefer Western European (cp1252)
    # when charset-normalizer finds it about as plausible as its first choice
    western = next((m for m in matches if m.encoding == "cp1252"), None)
    if western is not None and western.chaos <= best.chaos + 0.05:
        best = western
    return str(best), f"not UTF-8; read as {best.encoding}"


def _html(data: bytes) -> Extracted:
    import trafilatura
    from lxml import html as lxml_html

    markup, note = decode_text(data)
    title = ""
    main = trafilatura.extract(markup, include_tables=True, include_comments=False, favor_recall=True)
    try:
        tree = lxml_html.fromstring(markup)
        title = (tree.findtext(".//title") or "").strip()
        if not main:
            for bad in tree.xpath("//script|//style|//nav|//header|//footer|//noscript"):
                bad.drop_tree()
            main = tree.text_content()
    except (ValueError, lxml_html.etree.ParserError):
        main = main or ""
    text, starts = join_pages([normalise_page(main or "")])
    return Extracted(text=text, pages=starts, message=note, title=title)


def _text(data: bytes) -> Extracted:
    text, note = decode_text(data)
    text, starts = join_pages([normalise_page(text)])
    return Extracted(text=text, pages=starts, message=note)


#: a word: a run of word characters (``\w``), runs joined by one apostrophe or hyphen count as one
_WORD = re.compile(r"\w++(?:['’-]\w++)*+")
_IS_WORD = re.compile(r"\w")
_word_table: Any = None  # NumPy: whether each character of the Basic Multilingual Plane is ``\w``


def _bmp_word_table() -> Any:
    global _word_table
    if _word_table is None:
        import numpy as np

        _word_table = np.fromiter((_IS_WORD.match(chr(code)) is not None for code in range(0x10000)),
                                  dtype=bool, count=0x10000)
    return _word_table


def count_words(text: str) -> int:
    r"""The matches of :data:`_WORD` in ``text``, counted without building them: a word starts at a
    word character whose previous character is neither a word character nor a connector that follows
    one. Vectorised over the text's code points (NumPy, a table of ``re``'s ``\w`` for the Basic
    Multilingual Plane; other characters classified one by one)."""
    if len(text) < 512:
        return len(_WORD.findall(text))
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    word = np.take(_bmp_word_table(), codes, mode="clip")
    astral = np.flatnonzero(codes > 0xFFFF)
    if len(astral):
        word[astral] = [_IS_WORD.match(chr(code)) is not None for code in codes[astral].tolist()]
    joins = (codes == 0x27) | (codes == 0x2D) | (codes == 0x2019)  # ' - ’
    starts = word.copy()
    starts[1:] &= ~word[:-1]
    starts[2:] &= ~(joins[1:-1] & word[:-2])
    return int(np.count_nonzero(starts))
