"""Counts in words, for every message, report and page: ``counted(3, "document")`` is "3 documents"."""

from __future__ import annotations


def counted(n: int, word: str, many: str | None = None) -> str:
    """``n`` with thousands grouped and ``word`` (``many``, else ``word`` + "s", unless ``n`` is 1)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
