"""Codebooks: themes (a tree) with definitions and terms, read from YAML and validated.

A term is a word or phrase, case-insensitive and whole-word by default, with options:
``co-produc*`` or ``work* closely`` (a wildcard may end any word), automatic hyphen/space/closed
and British/American variants, ``A NEAR/n B`` (both within n words, either order; wildcards
allowed in both operands), exclusions (phrases whose match cancels a hit inside them) and example
sentences. A theme's ``skip_contexts`` (phrases, or ``A NEAR/n B`` pairs) remove every hit of the
theme that lies inside them: a sense of a word the theme does not mean.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sibkit.errors import SibkitError
from sibkit.yamlfile import load_yaml

_NEAR = re.compile(r"^(?P<a>.+?)\s+NEAR/(?P<n>\d+)\s+(?P<b>.+)$")
_THEME_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
# bumped when the matcher finds something different for the same terms (2: negation, spaced forms
# of spaced phrases, wildcards on any word, NEAR skip contexts): a theme's hash changes, so
# `sibkit code` re-codes it
MATCHER_VERSION = 2


def check_term_text(value: str) -> str:
    """A term (or skip context) with single spaces; ValueError naming what is wrong with it."""
    value = " ".join(value.split())
    if not value:
        raise ValueError("a term cannot be empty")
    near = _NEAR.match(value)
    parts = [near.group("a"), near.group("b")] if near else [value]
    for part in parts:
        if "NEAR/" in part:
            raise ValueError("only one NEAR/n per term")
        words = re.split(r"[ -]", part)
        if any(not w for w in words):
            raise ValueError("empty word (check spaces and hyphens)")
        if any(w.count("*") > 1 or ("*" in w and not w.endswith("*")) for w in words):
            raise ValueError("a wildcard * may only end a word")
        if any(w == "*" for w in words):
            raise ValueError("a wildcard needs at least one letter before it")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Term(Strict):
    """One search term of a theme."""

    term: str
    case_sensitive: bool = False
    variants: bool = True
    exclude: list[str] = Field(default_factory=list)

    @field_validator("term")
    @classmethod
    def _valid(cls, value: str) -> str:
        return check_term_text(value)

    @property
    def near(self) -> tuple[str, int, str] | None:
        return near_parts(self.term)


def near_parts(text: str) -> tuple[str, int, str] | None:
    """``(A, n, B)`` for ``A NEAR/n B``, else None."""
    match = _NEAR.match(text)
    return (match.group("a"), int(match.group("n")), match.group("b")) if match else None


class Theme(Strict):
    id: str
    name: str
    definition: str = ""
    parent: str | None = None
    terms: list[Term] = Field(default_factory=list)
    skip_contexts: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    counter_examples: list[str] = Field(default_factory=list)

    @field_validator("terms", mode="before")
    @classmethod
    def _plain_strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"term": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("skip_contexts")
    @classmethod
    def _valid_contexts(cls, value: list[str]) -> list[str]:
        checked = []
        for context in value:
            try:
                checked.append(check_term_text(context))
            except ValueError as exc:
                raise ValueError(f"skip context {context!r}: {exc}") from None
        return checked

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _THEME_ID.fullmatch(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits, '-' and '_'")
        return value

    @model_validator(mode="after")
    def _distinct_terms(self) -> Theme:
        seen: set[str] = set()
        for term in self.terms:
            if term.term in seen:
                raise ValueError(f"term {term.term!r} is listed twice; give it one entry with its options")
            seen.add(term.term)
        return self

    def hash(self) -> str:
        """Content hash of everything that changes what this theme finds."""
        payload = {"matcher": MATCHER_VERSION, **self.model_dump(include={"terms", "skip_contexts"})}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class Change(Strict):
    """One entry of a codebook's changelog."""

    version: str
    date: str = ""
    changes: list[str] = Field(default_factory=list)


class Codebook(Strict):
    name: str
    version: str = "1"
    description: str = ""
    source: str = ""
    changelog: list[Change] = Field(default_factory=list)
    themes: list[Theme]

    @model_validator(mode="after")
    def _tree(self) -> Codebook:
        ids = [t.id for t in self.themes]
        duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)  # linear: 100,000 codes from an import
        if duplicates:
            raise ValueError(f"theme id {duplicates[0]!r} is used twice")
        known = set(ids)
        for theme in self.themes:
            if theme.parent is not None and theme.parent not in known:
                raise ValueError(f"theme {theme.id!r}: parent {theme.parent!r} is not a theme of this codebook")
        parents = {t.id: t.parent for t in self.themes}
        rooted: set[str] = set()  # themes whose chain of parents is known to end: each is walked once
        for theme in self.themes:
            seen: set[str] = set()
            current: str | None = theme.id
            while current is not None and current not in rooted:
                if current in seen:
                    raise ValueError(f"theme {theme.id!r}: its parents form a cycle")
                seen.add(current)
                current = parents[current]
            rooted.update(seen)
        return self

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise SibkitError(f"no theme {theme_id!r} in codebook {self.name!r}; themes: "
                          + ", ".join(t.id for t in self.themes))

    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()


def _format_errors(source: str, raw: dict, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        location = list(item["loc"])
        where = ""
        if len(location) >= 2 and location[0] == "themes" and isinstance(location[1], int):
            themes = raw.get("themes") or []
            theme = themes[location[1]] if location[1] < len(themes) and isinstance(themes[location[1]], dict) \
                else {}
            where = f"theme {theme.get('id', location[1])!r}"
            rest = location[2:]
            if len(rest) >= 2 and rest[0] == "terms" and isinstance(rest[1], int):
                terms = theme.get("terms") or []
                term = terms[rest[1]] if rest[1] < len(terms) else rest[1]
                term = term.get("term") if isinstance(term, dict) else term
                where += f", term {term!r}"
                rest = rest[2:]
            if rest and rest != ["term"]:
                where += ", " + ".".join(str(p) for p in rest)
        else:
            where = ".".join(str(p) for p in location) or "codebook"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{where}: {message}")
    return f"{source}: " + "; ".join(problems)


def parse_codebook(text: str, source: str = "codebook") -> Codebook:
    raw = load_yaml(text, source)
    if not isinstance(raw, dict):
        raise SibkitError(f"{source}: expected a mapping with name and themes")
    try:
        return Codebook.model_validate(raw)
    except ValidationError as exc:
        raise SibkitError(_format_errors(source, raw, exc)) from None


BUILT_IN = ("relational-sib", "relational-sib-1")


def load_codebook(name_or_path: str | Path, base_dir: Path | None = None) -> Codebook:
    """A built-in codebook by name, or a YAML file (relative paths against ``base_dir``)."""
    if str(name_or_path) in BUILT_IN:
        text = resources.files("sibkit.coding").joinpath(f"codebooks/{name_or_path}.yaml").read_text("utf-8")
        return parse_codebook(text, f"built-in codebook {name_or_path}")
    path = Path(name_or_path)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SibkitError(f"{path}: cannot read the codebook ({exc.strerror or exc}); built-in codebooks: "
                          + ", ".join(BUILT_IN)) from None
    return parse_codebook(text, str(path))
