"""Codebooks: themes (a tree) with definitions and terms, read from YAML and validated.

A term is a word or phrase, case-insensitive and whole-word by default, with options: a word may end
with ``*`` (any ending: ``co-produc*``, ``work* closely``) or with a list of the endings it may take
(``alter{,s,ed,ing}``: alter, alters, altered, altering, never alternative) or be a list of words
(``{service,model,programme}``: any one of them); lists are spelled out into plain words, so they
anchor a wildcard that would reach other words and let one ``NEAR`` pair stand for many; automatic
hyphen/space/closed and British/American variants; ``A NEAR/n B`` (both within n words, either
order) and ``A PRE/n B`` (A first, then B within n words), wildcards and endings allowed in both
operands, both in one sentence; exclusions (phrases whose match cancels a hit inside them) and
example sentences. A theme's ``skip_contexts`` (phrases, or ``NEAR``/``PRE`` pairs) remove every
hit of the theme that lies inside them: a sense of a word the theme does not mean.

A codebook may say how it was measured: ``measured: {on: "...", themes: {id: {precision: P,
recall: R, passages: N, fired: F}}, also: [{on: ..., themes: ...}]}`` (``Codebook.measured``), read
where a study's own review has not measured the instrument yet; ``also`` keeps other measurements
beside the one a report uses.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sibkit.errors import SibkitError
from sibkit.words import counted
from sibkit.yamlfile import load_yaml

_NEAR = re.compile(r"^(?P<a>.+?)\s+(?P<op>NEAR|PRE)/(?P<n>\d+)\s+(?P<b>.+)$")
_OPERATOR = re.compile(r"(?<![\w/])(?P<op>NEAR|PRE)/(?P<n>\S*)")  # an operator as written, its number or not
_THEME_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
_ENDINGS = re.compile(r"\{[^{}]*\}$")
_ENDING = re.compile(r"[\w'’]*")
# bumped when the matcher finds something different for the same terms (2: negation, spaced forms
# of spaced phrases, wildcards on any word, NEAR skip contexts; 3: phrases, NEAR pairs and negation
# kept inside one sentence, listed endings, PRE/n): a theme's hash changes, so `sibkit code` re-codes it
MATCHER_VERSION = 3


def check_term_text(value: str) -> str:
    """A term (or skip context) with single spaces; ValueError naming what is wrong with it."""
    value = " ".join(value.split())
    if not value:
        raise ValueError("a term cannot be empty")
    operators = list(_OPERATOR.finditer(value))
    for operator in operators:
        if not re.fullmatch(r"\d+", operator.group("n")):
            raise ValueError(f"{operator.group('op')}/ needs a number, e.g. {operator.group('op')}/5")
    if len(operators) > 1:
        raise ValueError("only one NEAR/n or PRE/n per term")
    near = _NEAR.match(value)
    if operators and near is None:
        written = operators[0].group()
        raise ValueError(f"{written} needs a word or phrase on each side, as in staff {written} users")
    parts = [near.group("a"), near.group("b")] if near else [value]
    for part in parts:
        if "NEAR/" in part or "PRE/" in part:
            raise ValueError("only one NEAR/n or PRE/n per term")
        words = re.split(r"[ -]", part)
        if any(not w for w in words):
            raise ValueError("empty word (check spaces and hyphens)")
        for word in words:
            listed = _ENDINGS.search(word)
            stem = word[:listed.start()] if listed else word
            if "{" in stem or "}" in stem:
                raise ValueError("a list of endings {...} may only end a word, as in alter{,s,ed,ing}")
            if listed and "*" in word:
                raise ValueError("a word takes either a wildcard * or a list of endings {...}, not both")
            endings = listed.group()[1:-1].split(",") if listed else []
            if listed and not all(_ENDING.fullmatch(e) for e in endings):
                raise ValueError("a list of endings holds letters separated by commas, as in alter{,s,ed,ing}")
            if listed and not stem and not all(endings):
                raise ValueError("a list of words {a,b} (no letters before it) cannot hold an empty word")
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
    def near(self) -> Near | None:
        return near_parts(self.term)


class Near(NamedTuple):
    """The parts of ``A NEAR/n B`` (ordered False) or ``A PRE/n B`` (ordered True: A comes first)."""

    a: str
    limit: int
    b: str
    ordered: bool = False


def near_parts(text: str) -> Near | None:
    """``(A, n, B, ordered)`` for ``A NEAR/n B`` or ``A PRE/n B``, else None."""
    match = _NEAR.match(text)
    if match is None:
        return None
    return Near(match.group("a"), int(match.group("n")), match.group("b"), match.group("op") == "PRE")


def term_in_words(text: str) -> str:
    """A term as a coder reads it: ``{embedded,sat,located} PRE/5 {team,teams}`` is "embedded/sat/located,
    then team/teams within 5 words"; ``alter{,s,ed}`` is "alter/alters/altered"; ``pivot*`` is "pivot…"
    (any ending). A plain word or phrase is itself."""
    near = near_parts(text)
    if near is None:
        return _operand_in_words(text)
    a, b = _operand_in_words(near.a), _operand_in_words(near.b)
    if near.ordered:
        return f"{a}, then {b} within {counted(near.limit, 'word')}"
    return f"{a} within {counted(near.limit, 'word')} of {b}"


def _operand_in_words(part: str) -> str:
    def word(one: str) -> str:
        listed = _ENDINGS.search(one)
        if listed:
            stem = one[:listed.start()]
            return "/".join(stem + ending for ending in listed.group()[1:-1].split(","))
        return one[:-1] + "…" if one.endswith("*") else one

    return " ".join("-".join(word(piece) for piece in spaced.split("-")) for spaced in part.split(" "))


class Theme(Strict):
    id: str
    name: str
    definition: str = ""
    parent: str | None = None
    terms: list[Term] = Field(default_factory=list)
    skip_contexts: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    counter_examples: list[str] = Field(default_factory=list)
    # how the theme travels to QDA tools (REFI-QDA): the code's GUID and colour, kept from a .qdc
    guid: str | None = None
    color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")

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


def _version_text(value: object) -> object:
    """``version: 1`` (a YAML integer) is the version "1"; a decimal number is refused (1.10 reads as 1.1)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError(f'{value} is read as a number; quote it (version: "1.10" keeps its digits)')
    return value


class Change(Strict):
    """One entry of a codebook's changelog."""

    version: str

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        return _version_text(value)
    date: str = ""
    changes: list[str] = Field(default_factory=list)


class ThemeGroup(Strict):
    """A named group of themes: a REFI-QDA code set (MAXQDA's code sets, ATLAS.ti's code groups)."""

    name: str
    themes: list[str]
    guid: str | None = None
    description: str = ""


# what changes nothing the codebook finds, left out of its hash: how it travels to QDA tools (groups,
# GUIDs, colours) and its own measured figures
EXCHANGE_ONLY = {"groups": True, "measured": True, "themes": {"__all__": {"guid", "color"}}}


class ThemeFigures(Strict):
    """How well a codebook found one theme on labelled passages."""

    precision: float | None = Field(default=None, ge=0, le=1)
    recall: float | None = Field(default=None, ge=0, le=1)
    passages: int = Field(default=0, ge=0)
    #: passages the codebook fired on (its hits), so a precision's sampling error can be drawn
    fired: int | None = Field(default=None, ge=0)


class Measurement(Strict):
    """Per-theme figures on one set of labelled passages, and what that set is (in words)."""

    on: str
    #: the set in a few words a methods section can carry (``on`` when empty)
    cite: str = ""
    themes: dict[str, ThemeFigures] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, value: object) -> object:
        """YAML 1.1 reads a bare ``on:`` key as the boolean true; take it as ``on``."""
        if isinstance(value, dict) and True in value and "on" not in value:
            value = {("on" if key is True else key): item for key, item in value.items()}
        return value


class Measured(Measurement):
    """A codebook's own figures: the measurement a report's instrument error rests on (``on``, ``themes``:
    the truest available, e.g. real passages labelled blind), and ``also`` others kept beside it (e.g. the
    project's own held-out passages, which its tests recompute)."""

    also: list[Measurement] = Field(default_factory=list)


class Codebook(Strict):
    name: str
    version: str = "1"
    description: str = ""
    source: str = ""
    changelog: list[Change] = Field(default_factory=list)
    #: per-theme precision and recall measured on labelled passages (None when the codebook has none)
    measured: Measured | None = None
    themes: list[Theme]
    groups: list[ThemeGroup] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        return _version_text(value)

    @model_validator(mode="after")
    def _tree(self) -> Codebook:
        measured = [] if self.measured is None else [
            ("measured", list(self.measured.themes)),
            *((f"measured.also[{i}]", list(m.themes)) for i, m in enumerate(self.measured.also))]
        problems = tree_problems([(t.id, t.parent) for t in self.themes], measured,
                                 [(g.name, g.themes) for g in self.groups])
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise SibkitError(f"no theme {theme_id!r} in codebook {self.name!r}; themes: "
                          + ", ".join(t.id for t in self.themes))

    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(exclude=EXCHANGE_ONLY), sort_keys=True).encode()).hexdigest()

    def matching_hash(self) -> str:
        """Hash of what decides the hits alone (each theme's id and ``Theme.hash``): the same after an edit
        of names, descriptions, the changelog or the version, so a reader trained on the hits stays fresh."""
        payload = [(theme.id, theme.hash()) for theme in self.themes]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def tree_problems(themes: list[tuple[str, str | None]], measured: list[tuple[str, list[str]]],
                  groups: list[tuple[str, list[str]]]) -> list[str]:
    """What is wrong with a codebook's tree of themes ((id, parent) pairs), with the themes its measured
    blocks and groups name: every kind of problem (up to five of each), so one check reports them all."""
    problems = []
    ids = [theme_id for theme_id, _ in themes]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)  # linear: 100,000 codes from an import
    problems += [f"theme id {duplicate!r} is used twice" for duplicate in duplicates[:5]]
    known = set(ids)
    problems += [f"theme {theme_id!r}: parent {parent!r} is not a theme of this codebook"
                 for theme_id, parent in themes if parent is not None and parent not in known][:5]
    for where, named in measured:
        unknown = sorted(set(named) - known)
        if unknown:
            problems.append(f"{where}: theme {unknown[0]!r} is not a theme of this codebook")
    parents = dict(themes)
    rooted: set[str] = set()  # themes whose chain of parents is known to end: each is walked once
    for theme_id in dict.fromkeys(ids):
        seen: set[str] = set()
        current: str | None = theme_id
        while current is not None and current not in rooted:
            if current in seen:
                problems.append(f"theme {theme_id!r}: its parents form a cycle")
                break
            seen.add(current)
            current = parents.get(current)
        rooted.update(seen)
    for name, members in groups:
        unknown_member = next((t for t in members if t not in known), None)
        if unknown_member is not None:
            problems.append(f"group {name[:80]!r}: {unknown_member[:80]!r} is not a theme of this codebook")
    return problems


def _raw_tree_problems(raw: dict) -> list[str]:
    """``tree_problems`` of a codebook's YAML as read, for when its fields did not validate (so the
    model's own tree check never ran): the themes, parents and groups that are plain enough to read."""
    themes = [(t["id"], t.get("parent") if isinstance(t.get("parent"), str) else None)
              for t in raw.get("themes") or [] if isinstance(t, dict) and isinstance(t.get("id"), str)] \
        if isinstance(raw.get("themes"), list) else []
    if not themes:
        return []
    groups = [(str(g.get("name", "")), [str(m) for m in g["themes"]]) for g in raw.get("groups") or []
              if isinstance(g, dict) and isinstance(g.get("themes"), list)] if isinstance(raw.get("groups"), list) \
        else []
    return tree_problems(themes, [], groups)


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


#: top-level keys of a study file (``sibkit.study.model.Study``) that no codebook has: a study file given
#: where a codebook belongs is named as such rather than listed field by field
_STUDY_KEYS = ("title", "selection", "data", "corpus", "outcomes", "codebook", "analysis", "report", "qca",
               "suggest")


def parse_codebook(text: str, source: str = "codebook") -> Codebook:
    raw = load_yaml(text, source)
    if not isinstance(raw, dict):
        raise SibkitError(f"{source}: expected a mapping with name and themes")
    study_keys = [key for key in _STUDY_KEYS if key in raw]
    if "themes" not in raw and study_keys:
        named = raw.get("codebook") if isinstance(raw.get("codebook"), str) else "relational-sib"
        raise SibkitError(f"{source}: this is a study file, not a codebook (it has {study_keys[0]}: and no themes:); "
                          f"the codebook it uses is {named}")
    try:
        return Codebook.model_validate(raw)
    except ValidationError as exc:
        message = _format_errors(source, raw, exc)
        if not any(item["loc"] == () for item in exc.errors()):  # the fields failed: the tree was not checked
            message += "".join(f"; codebook: {problem}" for problem in _raw_tree_problems(raw))
        raise SibkitError(message) from None


BUILT_IN = ("relational-sib", "relational-sib-5", "relational-sib-4", "relational-sib-3", "relational-sib-2",
            "relational-sib-1")


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
