"""Hostile YAML (study files, codebooks, the theme block of a REFI-QDA code): alias bombs end at once
with one line, repeated keys are refused with the line they repeat on."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sibkit.coding.codebook import parse_codebook
from sibkit.errors import SibkitError
from sibkit.interop.codes import read_description
from sibkit.study.model import parse_study
from sibkit.yamlfile import load_yaml


class TookTooLong(Exception):
    pass


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the test run) when the block takes longer than ``seconds``."""

    def stop(*_: object) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def bomb(levels: int, key: str = "selection") -> str:
    """Each level a list of nine aliases to the level below: 9**levels values once expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        below = f"*l{level - 1}"
        lines.append(f"l{level}: &l{level} [{', '.join([below] * 9)}]")
    lines.append(f"{key}: *l{levels}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 9, 12])
def test_an_alias_bomb_in_a_study_file_is_refused_at_once(levels: int) -> None:
    with within(3), pytest.raises(SibkitError) as caught:
        parse_study(bomb(levels), "bomb.yaml")
    message = str(caught.value)
    assert message.startswith("bomb.yaml: ") and "aliases" in message and "1,000,000 values" in message
    assert "\n" not in message


def test_an_alias_bomb_in_a_codebook_and_in_a_code_description_is_refused() -> None:
    with within(3), pytest.raises(SibkitError, match="aliases"):
        parse_codebook(bomb(12, key="themes"), "book.yaml")
    with within(3):
        definition, block, problem = read_description("A definition.\n--- sibkit theme ---\n" + bomb(12, "terms"))
    assert definition == "A definition." and block is None and problem is not None and "aliases" in problem


def test_aliases_that_stay_small_are_still_read() -> None:
    text = "base: &b [co-production, partnership]\nthemes: [*b, *b]\n"
    assert load_yaml(text, "f.yaml") == {"base": ["co-production", "partnership"],
                                         "themes": [["co-production", "partnership"]] * 2}
    assert load_yaml("a: &a {x: 1}\nb:\n  <<: *a\n  y: 2\n", "f.yaml") == {"a": {"x": 1}, "b": {"x": 1, "y": 2}}


def test_an_alias_to_itself_is_refused() -> None:
    with within(3), pytest.raises(SibkitError, match="refers to itself"):
        load_yaml("a: &a [1, *a]\n", "self.yaml")


@pytest.mark.parametrize(("text", "line", "key"), [
    ("title: One\ndata: x\ntitle: Two\n", 3, "title"),
    ("corpus:\n  folder: a\n  database: b\n  folder: c\n", 4, "folder"),
    ("selection:\n  - countries: [GB]\n    countries: [US]\n", 3, "countries"),
    ("{a: 1, a: 2}\n", 1, "a"),
])
def test_a_repeated_key_is_refused_with_its_line(text: str, line: int, key: str) -> None:
    with pytest.raises(SibkitError) as caught:
        load_yaml(text, "study.yaml")
    assert str(caught.value) == (f"study.yaml: line {line}: the key {key!r} is given twice in one mapping "
                                 "(the later value would silently replace the earlier one)")


def test_a_repeated_key_in_a_codebook_is_refused() -> None:
    text = "name: t\nthemes:\n  - id: a\n    name: A\n    terms: [x]\n    terms: [y]\n"
    with pytest.raises(SibkitError, match="line 6: the key 'terms' is given twice"):
        parse_codebook(text, "book.yaml")
