"""How a REFI-QDA project counts its selection offsets, decided from evidence that needs no names.

The standard counts characters of the plain text, and tools count them three ways: Unicode code
points (sibkit, QualCoder: Python string indices), UTF-16 code units (NVivo 12 for Windows and Mac:
a character outside the Basic Multilingual Plane, such as an emoji, counts twice), or code points
with a CRLF line end counted as one character (ATLAS.ti, as QualCoder's importer notes in
``RefiImport.load_text_source``). NVivo leaves selection names empty, so names cannot decide.

The evidence, per reading, over every selection of the project (a tool counts one way throughout):
how many selections start and end on word boundaries (people code words, not halves of them), how
many selection names match the text that way (when a tool writes them), and how many selections
have a position that cannot be in that reading (inside a UTF-16 surrogate pair, beyond the text);
a matching name or an impossible position weighs :data:`STRONG` boundaries. The tool named in the project's
``origin`` breaks ties. The evidence is *weak* when the best reading beats another by fewer than
:data:`MIN_MARGIN` (or a fifth of the selections the two place differently): the import then says so.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sibkit.interop.reader import TextDocument

CODE_POINTS, UTF16, CRLF_AS_ONE = "code points", "UTF-16 units", "CRLF counted as one character"
READINGS = (CODE_POINTS, UTF16, CRLF_AS_ONE)
STRONG = 3  # a matching selection name, or an impossible position, weighs as much as three boundaries
MIN_MARGIN = 2
# what a tool is known to do (lower-case part of ``origin``), used only to break ties and to say so
HABITS = (("nvivo", UTF16, "NVivo counts UTF-16 units"),
          ("atlas.ti", CRLF_AS_ONE, "ATLAS.ti counts a CRLF as one character"),
          ("qualcoder", CODE_POINTS, "QualCoder counts code points"),
          ("sibkit", CODE_POINTS, "sibkit counts code points"))

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_JOINERS = frozenset("\u200d\ufe0e\ufe0f")
_WHITE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def _inside_a_character(before: str, after: str) -> bool:
    """Whether a position between these two code points splits what a reader sees as one character
    (a combining mark, a joiner or variation selector, an emoji skin-tone modifier)."""
    return (after in _JOINERS or before == "\u200d" or 0x1F3FB <= ord(after) <= 0x1F3FF
            or unicodedata.category(after)[0] == "M")


def on_word_boundary(text: str, position: int) -> bool:
    """True at the text's ends and between two code points that are not both part of a word, unless
    the position splits a line break (CR|LF) or a character as shown."""
    if position <= 0 or position >= len(text):
        return position in (0, len(text))
    before, after = text[position - 1], text[position]
    if (before == "\r" and after == "\n") or _inside_a_character(before, after):
        return False
    return not ((before.isalnum() or before == "_") and (after.isalnum() or after == "_"))


def _comparable(text: str) -> str:
    return _WHITE.sub(" ", text).strip()


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def names_match(shown: str, name: str) -> bool:
    """Whether a selection's text says what its name says, word for word (tools differ in the
    spaces, punctuation and emoji they keep in a name; a name cut short ends with an ellipsis)."""
    name = name.strip()
    cut = name.endswith(("…", "..."))
    wanted, got = _words(name.rstrip("….").rstrip() if cut else name), _words(shown)
    if not wanted:
        return False
    if not cut:
        return got == wanted
    last = len(wanted) - 1  # the name's last word may be cut short too
    return len(got) > last and got[:last] == wanted[:last] and got[last].startswith(wanted[last])


class Positions:
    """One text's positions under each reading, mapped to code points in O(log n)."""

    def __init__(self, text: str) -> None:
        self.text = text
        astral = [m.start() for m in _ASTRAL.finditer(text)]
        line_breaks = [m.start() for m in re.finditer("\r\n", text)]
        self.astral_units = [index + before for before, index in enumerate(astral)]  # UTF-16 offset of each
        self.lf_positions = [cr - before for before, cr in enumerate(line_breaks)]  # each LF, CRLF as one
        self.totals = {CODE_POINTS: len(text), UTF16: len(text) + len(astral),
                       CRLF_AS_ONE: len(text) - len(line_breaks)}

    def applies(self, reading: str) -> bool:
        """Whether this reading can give other positions than code points in this text."""
        return reading == CODE_POINTS or self.totals[reading] != len(self.text)

    def code_point(self, reading: str, position: int, strict: bool = True) -> int | None:
        """The code-point offset of a position written in ``reading``; None when it cannot be
        (``strict``: also inside a surrogate pair), the written position when out of range."""
        if position < 0 or position > self.totals[reading]:
            return None if strict else position
        if reading == UTF16:
            before = bisect_left(self.astral_units, position)
            if strict and before and self.astral_units[before - 1] + 1 == position:
                return None  # the second half of a surrogate pair
            return position - before
        if reading == CRLF_AS_ONE:  # a position at a line break is before its CR
            return position + bisect_left(self.lf_positions, position)
        return position


@dataclass
class OffsetChoice:
    """The reading chosen for a project's offsets and what it rests on."""

    reading: str = CODE_POINTS
    selections: int = 0
    fits: dict[str, int] = field(default_factory=dict)  # reading -> selections starting and ending on word boundaries
    named: dict[str, int] = field(default_factory=dict)  # reading -> selections whose name matches the text
    names: int = 0  # selections that have a name
    impossible: dict[str, int] = field(default_factory=dict)  # reading -> selections it cannot place
    rivals: list[str] = field(default_factory=list)  # readings that would put some selection elsewhere
    differing: int = 0  # selections the chosen reading and a rival put in different places
    weak: bool = False
    doubt: str = ""  # the rival the chosen reading does not clearly beat, when the evidence is weak
    habit: str = ""  # what the project's tool is known to do, when the origin names one
    considered: bool = False  # whether any text could be read otherwise (CRLF or characters outside the BMP)

    def _evidence(self, reading: str) -> str:
        return f"{reading} {self.fits.get(reading, 0)}"

    def line(self) -> str | None:
        """The import summary's line about offsets (None when every reading gives the same places)."""
        if not self.considered or not self.selections:
            return None
        if not self.rivals:
            return f"offsets read as {self.reading}: the readings agree on every selection"
        text = (f"offsets read as {self.reading}: {self.fits[self.reading]} of {self.selections} selections start "
                f"and end on word boundaries that way ({', '.join(self._evidence(r) for r in self.rivals)})")
        if self.names:
            text += f"; {self.named[self.reading]} of {self.names} selection names match the text that way"
        return text + (f"; {self.habit}" if self.habit else "")

    def warning(self) -> str | None:
        """One line for the import's problems when the evidence is weak."""
        if not self.weak:
            return None
        rival = self.doubt
        return (f"offsets: the selections do not tell {self.reading} from {rival} apart well "
                f"({self.fits[self.reading]} and {self.fits[rival]} of {self.selections} start and end on word "
                f"boundaries, {self.differing} would be placed differently); read as {self.reading}"
                + (f" ({self.habit})" if self.habit else "")
                + "; check a few coded passages in the study before relying on them")

    def score(self, reading: str) -> int:
        return STRONG * (self.named.get(reading, 0) - self.impossible.get(reading, 0)) + self.fits.get(reading, 0)


def _habit(origin: str) -> tuple[str | None, str]:
    lowered = origin.lower()
    for marker, reading, words in HABITS:
        if marker in lowered:
            return reading, words
    return None, ""


def choose_offsets(documents: Sequence[TextDocument], origin: str) -> OffsetChoice:
    """Decide how the project counts offsets and map every selection to code points of its text
    (each document's ``offsets`` says how its positions were read)."""
    habit_reading, habit = _habit(origin)
    choice = OffsetChoice(habit=habit)
    positions = [Positions(document.text) for document in documents]
    candidates = [r for r in READINGS if r == CODE_POINTS or any(p.applies(r) for p in positions)]
    choice.considered = len(candidates) > 1
    spans: dict[str, list[tuple[int | None, int | None]]] = {r: [] for r in candidates}
    for document, counted in zip(documents, positions, strict=True):
        for selection in document.selections:
            choice.selections += 1
            named = bool(_words(selection.name))
            choice.names += named
            for reading in candidates:
                start = counted.code_point(reading, selection.start)
                end = counted.code_point(reading, selection.end)
                spans[reading].append((start, end))
                choice.impossible[reading] = choice.impossible.get(reading, 0) + (start is None or end is None)
                fits = start is not None and end is not None and start < end and \
                    on_word_boundary(counted.text, start) and on_word_boundary(counted.text, end)
                choice.fits[reading] = choice.fits.get(reading, 0) + fits
                shown = counted.text[start:end] if start is not None and end is not None else ""
                choice.named[reading] = choice.named.get(reading, 0) + (named and names_match(shown, selection.name))
    order = sorted(candidates, key=lambda r: (r != habit_reading, READINGS.index(r)))
    best = max(order, key=lambda r: (choice.score(r), -order.index(r)))
    choice.reading = best
    choice.rivals = [r for r in candidates if r != best and spans[r] != spans[best]]
    if choice.rivals:
        choice.differing = sum(any(spans[r][i] != spans[best][i] for r in choice.rivals)
                               for i in range(choice.selections))
        for rival in sorted(choice.rivals, key=lambda r: -choice.score(r)):
            apart = sum(a != b for a, b in zip(spans[rival], spans[best], strict=True))
            if choice.score(best) - choice.score(rival) < max(MIN_MARGIN, apart / 5):
                choice.weak, choice.doubt = True, rival
                break
    for document, counted in zip(documents, positions, strict=True):
        if best != CODE_POINTS and counted.applies(best):
            for selection in document.selections:
                selection.start = counted.code_point(best, selection.start, strict=False)  # type: ignore[assignment]
                selection.end = counted.code_point(best, selection.end, strict=False)  # type: ignore[assignment]
            document.offsets = best
    return choice
