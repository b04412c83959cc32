"""Normalising extracted text: line ends, ligatures, hyphenation, Unicode NFC, running headers.

Offsets of coded references point into the normalised text, so it is computed once, at import.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Latin ligatures (U+FB00-U+FB06) and their letters
LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
             "\ufb06": "st"}
_LIGATURE = re.compile("[\ufb00-\ufb06]")
# a word broken at a line end: "infor-\nmation" -> "information" (only before a lower-case letter)
_HYPHEN_BREAK = re.compile(r"(\w)[-\u00ad]\n[ \t]*([a-z])")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
# control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) other than tab and line feed
_C0 = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
_C1 = re.compile("[\x80-\x9f]+")
PAGE_SEPARATOR = "\n\n"


def drop_controls(text: str) -> str:
    """``text`` without control characters except tab and line feed.

    In UTF-8 the C0 controls and DEL are single bytes that no other character contains, so they
    are deleted with ``bytes.translate`` (a C loop); the C1 controls (U+0080-U+009F, after a 0xC2
    byte) by a regular expression, only when a 0xC2 byte is there. (A category look-up per
    character took a third of the import time.)"""
    data = text.encode("utf-8", "surrogatepass")
    kept = data.translate(None, _C0)
    if b"\xc2" in kept:
        return _C1.sub("", kept.decode("utf-8", "surrogatepass"))
    return text if len(kept) == len(data) else kept.decode("utf-8", "surrogatepass")


def normalise_page(text: str) -> str:
    """One page's text: LF line ends, ligatures expanded, line-end hyphenation joined, NFC.

    Each pattern runs only when a quick substring test shows it can match (most texts need few)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\ufffe", "").replace("\x02", "").replace("\u00ad\n", "")  # pdfium's hyphen marks
    if not text.isascii():
        text = _LIGATURE.sub(lambda m: LIGATURES[m.group(0)], text)
    if "-\n" in text or "\u00ad\n" in text:
        text = _HYPHEN_BREAK.sub(r"\1\2", text)
    text = drop_controls(text)
    if " \n" in text or "\t\n" in text:
        text = _TRAILING_SPACE.sub("\n", text)
    if "\n\n\n" in text:
        text = _MANY_BLANK_LINES.sub("\n\n", text)
    return unicodedata.normalize("NFC", text).strip()


def _shape(line: str) -> str:
    """A line with its digits blurred, so 'Page 3 of 40' and 'Page 4 of 40' look alike."""
    return re.sub(r"\d+", "#", line.strip()).casefold()


def strip_repeated_lines(pages: list[str], *, edge_lines: int = 2, min_share: float = 0.5) -> list[str]:
    """Remove running headers and footers: lines near a page's top or bottom that recur (digits
    blurred) on at least ``min_share`` of the pages. Needs at least 3 pages."""
    if len(pages) < 3:
        return pages
    counts: Counter[str] = Counter()
    for page in pages:
        lines = [line for line in page.split("\n") if line.strip()]
        edges = {_shape(line) for line in lines[:edge_lines] + lines[-edge_lines:]}
        counts.update(edges)
    repeated = {shape for shape, n in counts.items() if n >= max(3, min_share * len(pages)) and shape}
    if not repeated:
        return pages
    cleaned = []
    for page in pages:
        lines = page.split("\n")
        content = [i for i, line in enumerate(lines) if line.strip()]
        edge = set(content[:edge_lines] + content[-edge_lines:])
        cleaned.append("\n".join(line for i, line in enumerate(lines)
                                 if not (i in edge and _shape(line) in repeated)).strip())
    return cleaned


def join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """All pages as one text, and the offset where each page starts."""
    starts, parts, offset = [], [], 0
    for page in pages:
        starts.append(offset)
        parts.append(page)
        offset += len(page) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(parts), starts or [0]


def page_of(offset: int, starts: list[int]) -> int:
    """1-based page number holding a character offset."""
    import bisect

    return max(1, bisect.bisect_right(starts, offset))
