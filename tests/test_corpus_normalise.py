"""Text normalisation: exact cases worked out by hand, and properties that hold for any text."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from sibkit.corpus.normalise import join_pages, normalise_page, page_of, strip_repeated_lines


def test_ligatures_hyphenation_line_ends_and_nfc() -> None:
    # "e" + combining acute (U+0301) composes to U+00E9 under NFC
    raw = "\ufb01nal e\u0301valuation of the infor-\r\nmation   \r\n\r\n\r\n\r\nE\ufb00ect"
    assert normalise_page(raw) == "final \u00e9valuation of the information\n\nEffect"


def test_a_hyphen_before_a_capital_is_kept() -> None:
    # "Payment-\nBy" is a real compound, not a word broken at a line end
    assert normalise_page("Payment-\nBy Results") == "Payment-\nBy Results"


def test_running_headers_and_page_numbers_are_removed() -> None:
    bodies = ["Referrals rose.", "Outcomes were paid.", "The contract ended early.", "Costs fell."]
    pages = [f"Evaluation of the Trailblazers\n{body}\nPage {n} of 4" for n, body in enumerate(bodies, start=1)]
    assert strip_repeated_lines(pages) == bodies


def test_two_pages_are_left_alone() -> None:
    pages = ["Header\nA", "Header\nB"]
    assert strip_repeated_lines(pages) == pages


def test_page_starts_and_page_lookup() -> None:
    text, starts = join_pages(["abc", "de", "f"])
    # "abc" (0-2) + "\n\n" (3-4) -> "de" starts at 5; "de" (5-6) + "\n\n" (7-8) -> "f" starts at 9
    assert text == "abc\n\nde\n\nf"
    assert starts == [0, 5, 9]
    assert [page_of(offset, starts) for offset in (0, 2, 5, 8, 9)] == [1, 1, 2, 2, 3]


@given(st.text())
def test_normalising_is_idempotent_and_gives_nfc(raw: str) -> None:
    once = normalise_page(raw)
    assert normalise_page(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\r" not in once
    assert not any("\ufb00" <= ch <= "\ufb06" for ch in once)


@given(st.lists(st.text(alphabet="ab c\n1", max_size=30), max_size=6))
def test_every_page_starts_where_join_pages_says(pages: list[str]) -> None:
    text, starts = join_pages(pages)
    for number, (page, start) in enumerate(zip(pages, starts, strict=False), start=1):
        assert text[start:start + len(page)] == page
        assert page_of(start, starts) == number  # starts rise by at least len(PAGE_SEPARATOR)
