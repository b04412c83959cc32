"""Hostile inputs, built on the spot, for the tests and ``benchmarks/hostile.py``.

Damaged and malicious documents (bit flips, CRC mismatches, lying zip sizes, encrypted entries,
odd compression methods, zip bombs whose ratio is diluted by a padding entry, XML entities,
truncations), awkward file-system objects (symlinks out of the corpus, FIFOs, device files,
names that are not UTF-8) and small valid documents to check that good items still land. Nothing
here touches the network; every byte is made by this module (no third-party samples).
"""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
from pathlib import Path

#: text put in every file that lies outside the corpus: it must never reach the database
SECRET = "SIBKIT-SECRET-OUTSIDE-THE-CORPUS"

_CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                  b'2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                  b'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                  b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                  b'officedocument.wordprocessingml.document.main+xml"/></Types>')
_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
         b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
         b'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def document_xml(paragraphs: list[str], *, prolog: bytes = b"") -> bytes:
    body = b"".join(b"<w:p><w:r><w:t>" + p.encode("utf-8").replace(b"&", b"&amp;").replace(b"<", b"&lt;")
                    + b"</w:t></w:r></w:p>" for p in paragraphs)
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + prolog + b"<w:document " + _W
            + b"><w:body>" + body + b"</w:body></w:document>")


def docx(paragraphs: list[str], *, extra: dict[str, bytes] | None = None, xml: bytes | None = None,
         compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A minimal DOCX (content types, relationships, document) with these paragraphs."""
    buffer = io.BytesIO()
    parts = {"[Content_Types].xml": _CONTENT_TYPES, "_rels/.rels": _RELS,
             "word/document.xml": xml if xml is not None else document_xml(paragraphs), **(extra or {})}
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in parts.items():  # a fixed time stamp: the same bytes on every run
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, compress_type=compression)
    return buffer.getvalue()


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF file of ``objects`` (numbered from 1, the catalog first): header, objects, xref table, trailer."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF showing ``lines`` in Helvetica (ASCII text)."""
    text = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines) + " ET"
    stream = text.encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
               b"/Contents 5 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"]
    return pdf_file(objects)


def _local_headers(data: bytes) -> list[int]:
    positions, start = [], 0
    while (found := data.find(b"PK\x03\x04", start)) != -1:
        positions.append(found)
        start = found + 4
    return positions


def _central_headers(data: bytes) -> list[int]:
    positions, start = [], 0
    while (found := data.find(b"PK\x01\x02", start)) != -1:
        positions.append(found)
        start = found + 4
    return positions


def _patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def damaged_docx(seed: int) -> dict[str, bytes]:
    """A family of broken or malicious DOCX files (names say what is wrong), varied by ``seed``."""
    rng = random.Random(seed)
    words = [f"Paragraph {seed}-{i}: partnership working and co-production." for i in range(40)]
    good = docx(words)
    out: dict[str, bytes] = {}
    for index in range(6):  # bit flips anywhere
        flipped = bytearray(good)
        for _ in range(1 + index):
            position = rng.randrange(len(flipped))
            flipped[position] ^= 1 << rng.randrange(8)
        out[f"bitflip-{index}.docx"] = bytes(flipped)
    # a byte of document.xml's compressed data changed: CRC mismatch / zlib error
    local = _local_headers(good)[2]
    name_len, extra_len = struct.unpack_from("<HH", good, local + 26)
    data_at = local + 30 + name_len + extra_len
    crc = bytearray(good)
    crc[data_at + rng.randrange(1, 40)] ^= 0xFF
    out["crc-mismatch.docx"] = bytes(crc)
    central = _central_headers(good)
    doc_central = central[2]
    out["lying-size-small.docx"] = _patch(good, doc_central + 24, "<I", 10)  # uncompressed size says 10
    out["lying-size-huge.docx"] = _patch(good, doc_central + 24, "<I", 0xFFFFFFF0)
    out["lying-compressed-size.docx"] = _patch(good, doc_central + 20, "<I", 3)
    encrypted = _patch(good, doc_central + 8, "<H", 0x1)
    out["encrypted-entry.docx"] = _patch(encrypted, local + 6, "<H", 0x1)
    for method in (9, 99, 12, 14):
        patched = _patch(good, doc_central + 10, "<H", method)
        out[f"compression-{method}.docx"] = _patch(patched, local + 8, "<H", method)
    for cut in (0.1, 0.5, 0.9, 0.99):
        out[f"truncated-{int(cut * 100)}.docx"] = good[: int(len(good) * cut)]
    entity = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    out["xml-entities.docx"] = docx([], xml=document_xml(["&b;"], prolog=entity).replace(b"&amp;b;", b"&b;"))
    out["external-entity.docx"] = docx([], xml=document_xml(["x"], prolog=b'<!DOCTYPE w [<!ENTITY x SYSTEM '
                                                                         b'"file:///etc/passwd">]>'))
    out["zip-bomb.docx"] = docx(words, extra={"word/media/zeros.bin": b"\0" * (40 * 1024 * 1024)})
    paragraphs = b"<w:p/>" * (300_000 + seed)
    padding = rng.randbytes(2 * 1024 * 1024)  # incompressible: dilutes the archive's overall ratio
    out["diluted-bomb.docx"] = docx([], xml=document_xml([]).replace(b"<w:body>", b"<w:body>" + paragraphs),
                                    extra={"word/media/padding.bin": padding})
    out["not-a-zip.docx"] = b"PK\x03\x04" + rng.randbytes(200)
    out["no-document-part.docx"] = docx(words).replace(b"word/document.xml", b"word/documenx.xml")
    out["malformed-xml.docx"] = docx([], xml=b"<w:document " + _W + b"><w:body><w:p>")
    out["many-entries.docx"] = docx(words, extra={f"customXml/i{i}.xml": b"<a/>" for i in range(300)})
    return out


def damaged_pdf(seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    good = pdf([f"Evaluation {seed}: outcomes achieved through partnership working."])
    out: dict[str, bytes] = {}
    for index in range(4):
        flipped = bytearray(good)
        for _ in range(1 + 2 * index):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        out[f"bitflip-{index}.pdf"] = bytes(flipped)
    out["truncated.pdf"] = good[: len(good) // 2]
    out["header-only.pdf"] = b"%PDF-1.7\n"
    out["garbage-after-header.pdf"] = b"%PDF-1.4\n" + rng.randbytes(4000)
    out["bad-xref.pdf"] = good.replace(b"startxref\n", b"startxref\n9")
    out["encrypted-claim.pdf"] = good.replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt << /Filter /Standard >>")
    return out


def odd_text(seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    body = f"Note {seed}: relational working and shared responsibility. Café, naïve, ½."
    out = {
        "utf16le.txt": body.encode("utf-16"), "utf16be.txt": b"\xfe\xff" + body.encode("utf-16-be"),
        "utf32.txt": body.encode("utf-32"), "latin1.txt": body.encode("latin-1", "replace"),
        "nul-bytes.txt": body.encode() + b"\0\0\0" + body.encode(), "binary.txt": rng.randbytes(3000),
        "empty.txt": b"", "whitespace.txt": b" \n\t\r\n " * 100, "bom-only.txt": b"\xef\xbb\xbf",
        "control-chars.txt": bytes(range(1, 32)) * 20 + body.encode(),
        "long-line.txt": (body.encode() + b" ") * 2000,
        "deep.html": b"<html><body>" + b"<div>" * 20000 + body.encode() + b"</div>" * 20000 + b"</body></html>",
        "entities.html": b'<!DOCTYPE html [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><html><body>&b;'
                         + body.encode() + b"</body></html>",
        "script-only.html": b"<html><body><script>" + b"x=1;" * 5000 + b"</script></body></html>",
        "utf16.html": ("<html><body><p>" + body + "</p></body></html>").encode("utf-16"),
        "bad-charset.html": b'<html><head><meta charset="x-no-such"></head><body>' + body.encode() + b"</body></html>",
        "pdf-named.txt": pdf([body]), "html-named.pdf": b"<html><body>" + body.encode() + b"</body></html>",
    }
    return out


def good_documents(seed: int) -> dict[str, bytes]:
    """Valid documents that must land (each with distinct text)."""
    line = f"Good document {seed}: the partnership co-produced the service with users."
    return {f"good-{seed}.txt": line.encode(), f"good-{seed}.docx": docx([line, "Second paragraph."]),
            f"good-{seed}.pdf": pdf([line]), f"good-{seed}.html":
            f"<html><head><title>Good {seed}</title></head><body><p>{line}</p></body></html>".encode()}


def special_files(corpus: Path, outside: Path) -> list[str]:
    """Inside ``corpus``: symlinks out of it (to a file and a folder in ``outside``, to /etc/passwd,
    /proc/self/status, /dev/zero, /dev/urandom), a dangling symlink, a FIFO, a socket-free device
    link and names that are not UTF-8. Returns what was made (names)."""
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text(f"{SECRET} private notes", encoding="utf-8")
    (outside / "folder").mkdir(exist_ok=True)
    for index in range(5):
        (outside / "folder" / f"note-{index}.txt").write_text(f"{SECRET} {index}", encoding="utf-8")
    made = []
    links = {"secret-link.txt": outside / "secret.txt", "passwd-link.txt": Path("/etc/passwd"),
             "status-link.txt": Path("/proc/self/status"), "zero-link.txt": Path("/dev/zero"),
             "urandom-link.pdf": Path("/dev/urandom"), "dangling-link.txt": corpus / "no-such-file.txt",
             "linked-folder": outside / "folder", "relative-escape.txt": Path("../../outside/secret.txt")}
    for name, target in links.items():
        os.symlink(target, corpus / name)
        made.append(name)
    fifo = corpus / "fifo.txt"
    os.mkfifo(fifo)
    made.append("fifo.txt")
    for raw in (b"latin1-\xe9t\xe9.txt", b"bad-\xff\xfe.txt", b"newline\nname.txt"):
        path = os.path.join(os.fsencode(corpus), raw)
        with open(path, "wb") as handle:
            handle.write(b"A note about partnership working, file named " + raw.replace(b"\n", b" "))
        made.append(os.fsdecode(raw))
    return made
