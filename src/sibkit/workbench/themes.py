"""The codebook as a coder meets it in the workbench: themes by name, grouped under the themes that only
group others (never a choice to code or recode to), each theme's definition split into what counts and
what does not, and which theme a recode offers first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_NOT_COUNT = re.compile(r"\bDoes not count:\s*", re.IGNORECASE)
_COUNTS = re.compile(r"^\s*Counts:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ThemeInfo:
    """One theme: its name, where it sits and what it means."""

    id: str
    name: str
    parent: str | None = None
    definition: str = ""
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    has_terms: bool = True

    @property
    def counts(self) -> str:
        """What counts: the definition up to "Does not count:" (without its "Counts:" label)."""
        return _COUNTS.sub("", _NOT_COUNT.split(self.definition, maxsplit=1)[0]).strip()

    @property
    def does_not_count(self) -> str:
        """What does not count, where the definition says so."""
        parts = _NOT_COUNT.split(self.definition, maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


def theme_info(theme: Any) -> ThemeInfo:
    """A ``ThemeInfo`` from a codebook ``Theme`` or an ``(id, name)`` pair."""
    if isinstance(theme, tuple):
        return ThemeInfo(str(theme[0]), str(theme[1]))
    return ThemeInfo(theme.id, theme.name, theme.parent, theme.definition or "", tuple(theme.examples),
                     tuple(theme.counter_examples), bool(theme.terms))


@dataclass
class Themes:
    """The codebook's themes in its order, with the groups told apart from the themes one codes."""

    items: list[ThemeInfo]
    by_id: dict[str, ThemeInfo] = field(init=False)
    groups: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {t.id: t for t in self.items}
        parents = {t.parent for t in self.items if t.parent}
        # a theme that only gathers others (no terms of its own) is a group: not a code to choose
        self.groups = {t.id for t in self.items if t.id in parents and not t.has_terms}

    @classmethod
    def of(cls, themes: Iterable[Any]) -> Themes:
        return cls([theme_info(t) for t in themes])

    @property
    def codable(self) -> list[ThemeInfo]:
        return [t for t in self.items if t.id not in self.groups]

    @property
    def codable_pairs(self) -> list[tuple[str, str]]:
        """(id, name) of each theme one codes, in the codebook's order."""
        return [(t.id, t.name) for t in self.codable]

    @property
    def codable_ids(self) -> set[str]:
        return {t.id for t in self.codable}

    def name(self, theme_id: str | None) -> str:
        """A theme's name (its id where the codebook does not have it)."""
        if not theme_id:
            return ""
        found = self.by_id.get(theme_id)
        return found.name if found is not None else theme_id

    def choices(self, leave_out: str = "") -> list[tuple[str, list[ThemeInfo]]]:
        """The codable themes (less ``leave_out``) under their group's name, in codebook order, for a
        <select> with <optgroup>s ("" for themes outside any group)."""
        out: list[tuple[str, list[ThemeInfo]]] = []
        for theme in self.codable:
            if theme.id == leave_out:
                continue
            group = self.name(theme.parent) if theme.parent in self.groups else ""
            if not out or out[-1][0] != group:
                out.append((group, []))
            out[-1][1].append(theme)
        return out

    def recode_default(self, theme_id: str, also_coded: Sequence[str] = ()) -> str | None:
        """The theme a recode of a ``theme_id`` hit offers first: one the same passage is also coded with,
        else the next theme of the same group (round), else the first other codable theme; never a group."""
        codable = [t.id for t in self.codable if t.id != theme_id]
        for other in also_coded:
            if other in codable:
                return other
        own = self.by_id.get(theme_id)
        if own is not None:
            order = [t.id for t in self.codable if t.parent == own.parent]
            if theme_id in order and len(order) > 1:
                at = order.index(theme_id)
                return order[(at + 1) % len(order)]
        return codable[0] if codable else None
