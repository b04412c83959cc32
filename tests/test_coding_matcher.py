"""The fast matcher against a slow, obviously-correct reference, on examples and generated input.

Every test here runs once per engine (pyahocorasick, and Hyperscan, a dependency on x86-64): the
``engine`` fixture sets ``SIBKIT_MATCHER_ENGINE`` for the test."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from conftest import missing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sibkit.coding.codebook import Codebook, Term, Theme, near_parts, parse_codebook
from sibkit.coding.matcher import (
    ENGINE_VARIABLE,
    Hit,
    choose_engine,
    compile_codebook,
    fold_case,
    hyperscan_available,
    negated_at,
    phrase_forms,
    word_starts,
)
from sibkit.errors import SibkitError
from sibkit.text.sentences import split_sentences


@pytest.fixture(autouse=True, params=["python", "hyperscan"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test once per matcher engine (Hyperscan is a dependency on x86-64; absent, its runs are skipped,
    or fail under CI)."""
    if request.param == "hyperscan" and not hyperscan_available():
        missing("the hyperscan package (a dependency on x86-64) is not installed")
    monkeypatch.setenv(ENGINE_VARIABLE, request.param)
    return request.param

# --------------------------------------------------------------------------------------------
# The reference: one regular expression per literal form, tried at every position of the text.


def form_regex(form: str) -> re.Pattern[str]:
    pattern = "".join(r"\s+" if ch == " " else r"\w*" if ch == "*" else re.escape(ch) for ch in form)
    if re.match(r"\w", form[0]):
        pattern = r"(?<!\w)" + pattern
    if re.match(r"\w", form[-1]):
        pattern += r"(?!\w)"
    return re.compile(pattern)


@functools.lru_cache(maxsize=64)
def sentences_of(text: str) -> list[tuple[int, int]]:
    """The text's sentences (the shared splitter, whole text at once, no length cut)."""
    return [(s.start, s.end) for s in split_sentences(text, max_length=None)]


def in_one_sentence(text: str, start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in sentences_of(text))


def reference_spans(text: str, phrase: str, variants: bool = True, case_sensitive: bool = False) -> set:
    """Every span of the phrase's forms that lies inside one sentence."""
    haystack = text if case_sensitive else fold_case(text)
    spans = set()
    for form in phrase_forms(" ".join(phrase.split()), variants):
        form = form if case_sensitive else fold_case(form)
        if re.split(r"[ *]", form)[0] not in haystack:
            continue  # the form's first literal characters are nowhere in the text: no match (saves time)
        for found in every_position_regex(form).finditer(haystack):
            spans.add((found.start(), found.end(1)))
    return {span for span in spans if in_one_sentence(text, *span)}


@functools.cache
def every_position_regex(form: str) -> re.Pattern[str]:
    """A match of the form tried at every position: a lookahead finds, at each position, what
    ``form_regex(form).match`` would (compiled once per form: the codebook has thousands)."""
    return re.compile(f"(?=({form_regex(form).pattern}))")


def words_between(text: str, first: tuple[int, int], second: tuple[int, int]) -> int:
    return len(re.findall(r"\w+", text[first[1]:second[0]])) - (1 if re.match(r"\w", text[first[1]:first[1] + 1])
                                                                  else 0)


def word_index(text: str, position: int) -> int:
    """Index of the word holding (or last starting before) a position."""
    return sum(1 for m in re.finditer(r"\w+", text) if m.start() <= position) - 1


def reference_near(text: str, near: tuple, variants: bool = True, case_sensitive: bool = False) -> dict:
    """Spans of ``A NEAR/n B`` (``PRE/n``: B after A): each A with its closest B in its sentence
    (fewest words between, then first); each joined span with the gaps between its operands."""
    a_spans = reference_spans(text, near[0], variants, case_sensitive)
    b_spans = reference_spans(text, near[2], variants, case_sensitive)
    ordered = len(near) > 3 and near[3]
    found: dict = {}
    for a in a_spans:
        candidates = []
        for b in b_spans:
            if b[0] < a[1] and a[0] < b[1]:
                continue
            if ordered and b[0] < a[1]:
                continue
            if not in_one_sentence(text, min(a[0], b[0]), max(a[1], b[1])):
                continue
            if b[0] >= a[1]:
                between = word_index(text, b[0]) - word_index(text, a[1] - 1) - 1
            else:
                between = word_index(text, a[0]) - word_index(text, b[1] - 1) - 1
            if between <= near[1]:
                candidates.append((between, b[0], b))
        if candidates:
            b = min(candidates)[2]
            found.setdefault((min(a[0], b[0]), max(a[1], b[1])), []).append((min(a[1], b[1]), max(a[0], b[0])))
    return found


def reference_cue_between(text: str, start: int, end: int) -> bool:
    words = [(m.start(), m.group().lower()) for m in re.finditer(r"\w+(?:['’]\w+)*", text)]
    for i, (position, word) in enumerate(words):
        if not start <= position < end:
            continue
        if word == "not" and i + 1 < len(words) and words[i + 1][1] == "only":
            continue
        if word in NEGATION_CUES or word.endswith("n't") or word.endswith("n’t"):
            return True
    return False


NEGATION_CUES = {"not", "no", "never", "without", "nor", "neither", "lack", "lacks", "lacked", "lacking", "failed",
                 "fail", "fails", "failing", "absence", "absent", "cannot", "none", "nothing", "little", "unable",
                 "refused"}


def reference_negated(text: str, start: int) -> bool:
    """A cue among the five words before ``start`` in its clause (words as in the matcher's docs; the
    clause also starts no earlier than the hit's sentence)."""
    clause = max([m.end() for m in re.finditer(r"[.;:!?]|\b(?:but|however|although|though)\b", text, re.IGNORECASE)
                  if m.end() <= start], default=0)
    clause = max([clause] + [s for s, e in sentences_of(text) if s <= start])
    words = [(m.start(), m.end(), m.group().lower()) for m in re.finditer(r"\w+(?:['’]\w+)*", text)]
    window = [i for i, (s, e, _) in enumerate(words) if s >= clause and e <= start][-5:]
    cues = NEGATION_CUES
    for i in window:
        word = words[i][2]
        if word == "not" and i + 1 < len(words) and words[i + 1][2] == "only":
            continue
        if word in cues or word.endswith("n't") or word.endswith("n’t"):
            return True
    return False


def reference_match(text: str, codebook: Codebook) -> list[Hit]:
    hits = set()
    for theme in codebook.themes:
        skips = set()
        for context in theme.skip_contexts:
            near = near_parts(context)
            skips |= set(reference_near(text, near)) if near else reference_spans(text, context)
        for term in theme.terms:
            near = term.near
            gaps: dict = {}
            if near:
                gaps = reference_near(text, near, term.variants, term.case_sensitive)
                found = set(gaps)
            else:
                found = reference_spans(text, term.term, term.variants, term.case_sensitive)
            excluded = set().union(*[reference_spans(text, e, term.variants) for e in term.exclude]) \
                if term.exclude else set()
            for start, end in found:
                if any(s <= start and end <= e for s, e in excluded | skips):
                    continue
                negated = reference_negated(text, start) or any(
                    reference_cue_between(text, *gap) for gap in gaps.get((start, end), ()))
                hits.add(Hit(theme.id, term.term, start, end, negated))
    return sorted(hits, key=lambda h: (h.start, h.end, h.theme, h.term))


def one_theme(*terms: str | dict, skip: tuple[str, ...] = ()) -> Codebook:
    return Codebook(name="test", themes=[Theme(id="t", name="T", terms=[Term(term=t) if isinstance(t, str)
                                                                      else Term(**t) for t in terms],
                                           skip_contexts=list(skip))])


# --------------------------------------------------------------------------------------------
# Examples with exact expected references, worked out by hand


def spans(text: str, codebook: Codebook) -> list[tuple[str, int, int]]:
    return [(text[h.start:h.end], h.start, h.end) for h in compile_codebook(codebook).match(text)]


def test_whole_words_case_insensitive() -> None:
    text = "Partnership, partners and PARTNERSHIPS; apartnership."
    assert spans(text, one_theme("partnership")) == [("Partnership", 0, 11)]


def test_wildcard_and_hyphen_space_closed_variants() -> None:
    text = "co-produced, co production\nand Coproduction; co- production"
    assert spans(text, one_theme("co-produc*")) == [("co-produced", 0, 11), ("co production", 13, 26),
                                                    ("Coproduction", 31, 43)]


def test_phrase_across_a_line_break_and_double_space() -> None:
    text = "a theory of\nchange and a theory  of   change"
    assert spans(text, one_theme("theory of change")) == [("theory of\nchange", 2, 18), ("theory  of   change", 25, 44)]


def test_british_and_american_spellings() -> None:
    text = "The organisation and the organization; we organise, they organize; behaviour and behavior."
    found = [s[0] for s in spans(text, one_theme("organisation", "organise", "behaviour"))]
    assert found == ["organisation", "organization", "organise", "organize", "behaviour", "behavior"]
    assert [s[0] for s in spans(text, one_theme({"term": "organisation", "variants": False}))] == ["organisation"]


def test_near_either_order() -> None:
    text = "Close partnership working, the partners were, in short, very close."
    found = spans(text, one_theme("partner* NEAR/2 close"))
    # "partnership" has "Close" 0 words before it; "partners" has "Close" 3 words before (partnership
    # working the) and "close" 4 words after (were in short very)
    assert found == [("Close partnership", 0, 17)]
    assert spans(text, one_theme("partner* NEAR/3 close")) == [("Close partnership", 0, 17),
                                                                ("Close partnership working, the partners", 0, 39)]
    # PRE/n: each A with its closest B after it ("close" at the end has none; "partnership" has
    # "close" 7 words after it)
    assert spans(text, one_theme("close PRE/3 partner*")) == [("Close partnership", 0, 17)]
    assert spans(text, one_theme("partner* PRE/4 close")) == [("partners were, in short, very close", 31, 66)]


def test_near_and_phrases_stay_inside_one_sentence() -> None:
    # INDIGO-POJ-0190's adapting-model hit: "the service." and "Changes" in the next paragraph
    text = "They commissioned the service.\n\nChanges to payments followed. Close partners. Partners; close"
    assert spans(text, one_theme("chang* NEAR/3 the service")) == []
    assert spans(text, one_theme("chang* NEAR/3 payment*")) == [("Changes to payments", 32, 51)]
    # the closest 'close' before 'Partners' is in the sentence before; the one after (1 word) counts
    assert spans(text, one_theme("partner* NEAR/1 close")) == [("Close partners", 62, 76),
                                                               ("Partners; close", 78, 93)]
    # a phrase does not run over a paragraph break, a heading or a list item; a wrapped line is fine
    text = "Our key\n\nworker. A key\nworker.\nKey\nWorker met us. A trusted\n- worker"
    assert spans(text, one_theme("key worker", "trusted worker")) == [("key\nworker", 19, 29)]


def test_a_cue_between_the_operands_of_a_near_pair_negates_it() -> None:
    compiled = compile_codebook(one_theme("chang* NEAR/4 service", "not have NEAR/3 skill*"))
    for text, negated in [("The service was not changed.", True), ("The service wasn't changed.", True),
                          ("The service was changed.", False), ("Changes, not only to the service.", False),
                          ("Staff did not have the right skills.", False)]:  # the cue is the operand itself
        assert [h.negated for h in compiled.match(text)] == [negated], text


def test_negation_stops_at_a_heading_or_paragraph_break() -> None:
    compiled = compile_codebook(one_theme("co-produc*"))
    for text, negated in [("No changes\nThe plan was co-produced.", False),  # "No changes" is a heading
                          ("No changes\n\nthe plan was co-produced.", False),
                          ("No changes were needed: it was not co-produced.", True),
                          ("There was no\nco-produced plan.", True)]:  # a wrapped line
        assert [h.negated for h in compiled.match(text)] == [negated], text


def test_listed_endings_anchor_a_word() -> None:
    text = "Pivotal, pivoting, pivots, PIVOT; alternative, altered, alter, alters."
    assert spans(text, one_theme("pivot{,s,ed,ing}", "alter{,s,ed,ing}")) == [
        ("pivoting", 9, 17), ("pivots", 19, 25), ("PIVOT", 27, 32), ("altered", 47, 54), ("alter", 56, 61),
        ("alters", 63, 69)]
    assert phrase_forms("adapt{,ed} model{,s}", variants=False) == {"adapt model", "adapt models", "adapted model",
                                                                    "adapted models"}
    assert "organized" in phrase_forms("organis{e,ed}")  # spelling variants of each listed form
    assert spans("they realised it", one_theme("reali{se,sed} it")) == [("realised it", 5, 16)]
    # a list with no letters before it is a choice of words, and one NEAR pair stands for many
    text = "We changed the model. They adapted its delivery. The offer changed."
    assert spans(text, one_theme("{changed,adapted} NEAR/2 {model,delivery,offer}")) == [
        ("changed the model", 3, 20), ("adapted its delivery", 27, 47), ("offer changed", 53, 66)]


def test_exclusions_cancel_hits_inside_them() -> None:
    text = "The Capability Fund paid for capability building."
    found = spans(text, one_theme({"term": "capabilit*", "exclude": ["capability fund"]}))
    assert found == [("capability", 29, 39)]
    assert spans(text, one_theme("capabilit*", skip=("capability fund",))) == [("capability", 29, 39)]


def test_offsets_are_code_points_in_unicode_text() -> None:
    text = "İstanbul: Ünïcode café — co‑production? No: co-production with ﬁrms."
    found = spans(text, one_theme("co-production", "café"))
    # "İstanbul: " is 10 code points and "Ünïcode " 8, so café starts at 18; U+2011 is not a hyphen
    assert found == [("café", 18, 22), ("co-production", 44, 57)]


def test_overlapping_terms_are_all_found() -> None:
    text = "integrated partnership working"
    found = [(h.term, h.start, h.end) for h in compile_codebook(one_theme(
        "integrated partnership", "partnership working", "partnership")).match(text)]
    assert found == [("integrated partnership", 0, 22), ("partnership", 11, 22), ("partnership working", 11, 30)]


def test_spaced_phrases_also_find_hyphenated_and_closed_forms() -> None:
    text = "Joint-working, jointworking and joint  working; joint-work-ing is not one."
    assert spans(text, one_theme("joint working")) == [("Joint-working", 0, 13), ("jointworking", 15, 27),
                                                       ("joint  working", 32, 46)]
    assert phrase_forms("key worker") == {"key worker", "key-worker", "keyworker"}
    assert phrase_forms("work* closely") == {"work* closely", "work*-closely"}  # no closed form after a wildcard


def test_a_wildcard_may_end_any_word_also_inside_near_operands() -> None:
    text = "They worked closely; working very closely; the team adapted its service models."
    assert spans(text, one_theme("work* closely")) == [("worked closely", 5, 19)]
    # 'adapt*' and 'servic* model*' have one word between them ("its")
    assert spans(text, one_theme("adapt* NEAR/1 servic* model*")) == [("adapted its service models", 52, 78)]
    assert spans(text, one_theme("adapt* NEAR/0 servic* model*")) == []


def test_negated_hits_are_found_and_marked() -> None:
    compiled = compile_codebook(one_theme("co-produc*", "joint working"))
    expected = {
        "The plan was co-produced.": [("co-produced", False)],
        "There was no evidence that it was co-produced.": [("co-produced", True)],  # 'no' 4 words before
        # 'No' is 9 words before, outside the window of five
        "No one disputed that, after many months, the plan was co-produced.": [("co-produced", False)],
        # the clause ends at ';'
        "It was not co-produced; joint working grew.": [("co-produced", True), ("joint working", False)],
        "Not only joint working but co-production too.": [("joint working", False), ("co-production", False)],
        "The partners didn't commit to joint working.": [("joint working", True)],
        "A lack of joint working, but co-produced plans.": [("joint working", True), ("co-produced", False)],
        # "not'co-produced" is one word (an inner apostrophe): nothing before the hit in its clause
        "Plans: not'co-produced.": [("co-produced", False)],
    }
    for text, hits in expected.items():
        assert [(text[h.start:h.end], h.negated) for h in compiled.match(text)] == hits, text


def test_skip_contexts_may_be_near_pairs() -> None:
    text = "An innovative way of financing the service; an innovative service for families."
    codebook = one_theme("innovat*", skip=("innovat* NEAR/2 financ*",))  # the second is 3 words away
    assert spans(text, codebook) == [("innovative", 47, 57)]


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("name: x\nthemes: [{id: a, name: A, terms: ['co-*produc']}]", "theme 'a', term 'co-*produc': a wildcard * may"),
    ("name: x\nthemes: [{id: a, name: A, skip_contexts: ['fin*ance']}]",
     "theme 'a', skip_contexts: skip context 'fin*ance': a wildcard"),
    ("name: x\nthemes: [{id: a, name: A, parent: b}]", "parent 'b' is not a theme"),
    ("name: x\nthemes: [{id: a, name: A}, {id: a, name: B}]", "theme id 'a' is used twice"),
    ("name: x\nthemes: [{id: a, name: A, terms: [{term: x, colour: red}]}]", "theme 'a', term 'x', colour: unknown"),
    ("name: x\nthemes: [{id: A B, name: A}]", "use lower-case letters"),
    ("name: x\nthemes: [{id: a, name: A, terms: [co, co]}]", "theme 'a': term 'co' is listed twice"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['al{s}ter']}]", "a list of endings {...} may only end a word"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['alter*{s}']}]", "either a wildcard * or a list of endings"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['{s,}']}]", "a list of words {a,b} (no letters before it) cannot"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['a{s-t}']}]", "may only end a word"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['a{s;t}']}]", "a list of endings holds letters separated by commas"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['a NEAR/2 b PRE/1 c']}]", "only one NEAR/n or PRE/n per term"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['staff NEAR/ users']}]",
     "theme 'a', term 'staff NEAR/ users': NEAR/ needs a number, e.g. NEAR/5"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['staff PRE/x users']}]", "PRE/ needs a number, e.g. PRE/5"),
    ("name: x\nthemes: [{id: a, name: A, terms: ['NEAR/5 users']}]",
     "NEAR/5 needs a word or phrase on each side, as in staff NEAR/5 users"),
    ("name: x\nversion: 1.10\nthemes: [{id: a, name: A}]", "version: 1.1 is read as a number; quote it"),
    ("name: x\nmeasured: {on: x, themes: {b: {precision: 0.5}}}\nthemes: [{id: a, name: A}]",
     "measured: theme 'b' is not a theme"),
    ("name: x\nmeasured: {on: x, themes: {}, also: [{on: y, themes: {c: {recall: 0.5}}}]}\nthemes: [{id: a, name: A}]",
     "measured.also[0]: theme 'c' is not a theme"),
])
def test_codebook_errors_name_the_theme_and_term(yaml_text: str, message: str) -> None:
    with pytest.raises(SibkitError) as caught:
        parse_codebook(yaml_text, "book.yaml")
    assert message in str(caught.value)


def test_an_integer_version_is_a_version_and_errors_come_in_one_pass() -> None:
    book = parse_codebook("name: x\nversion: 1\nchangelog: [{version: 2, changes: [y]}]\n"
                          "themes: [{id: a, name: A}]")
    assert (book.version, book.changelog[0].version) == ("1", "2")
    # a bad term, a duplicate theme id and an unknown parent: all three in one message
    with pytest.raises(SibkitError) as caught:
        parse_codebook("name: x\nthemes: [{id: a, name: A, terms: ['staff NEAR/ users']}, {id: a, name: B},\n"
                       "  {id: c, name: C, parent: z}]", "book.yaml")
    assert str(caught.value) == ("book.yaml: theme 'a', term 'staff NEAR/ users': NEAR/ needs a number, e.g. NEAR/5; "
                                 "codebook: theme id 'a' is used twice; "
                                 "codebook: theme 'c': parent 'z' is not a theme of this codebook")


WORDS = st.lists(st.sampled_from(["staff", "user*", "work closely", "co-produc*", "alter{,s,ed}", "peer"]),
                 min_size=1, max_size=2).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(left=WORDS, right=WORDS, operator=st.sampled_from(["NEAR", "PRE"]),
       number=st.one_of(st.just(""), st.sampled_from(["x", "five", "-", "5x"]), st.integers(1, 40).map(str)))
def test_near_and_pre_either_read_or_say_what_they_need(left: str, right: str, operator: str, number: str) -> None:
    text = f"{left} {operator}/{number} {right}"
    if number.isdigit():
        assert Term(term=text).near == (left, int(number), right, operator == "PRE")
        return
    with pytest.raises(SibkitError, match=re.escape(f"{operator}/ needs a number, e.g. {operator}/5")):
        parse_codebook(f"name: x\nthemes: [{{id: a, name: A, terms: ['{text}']}}]")


# --------------------------------------------------------------------------------------------
# Property tests: the fast matcher equals the reference on generated text and codebooks

VOCABULARY = ["co", "production", "produce", "partner", "partnership", "close", "working", "organisation",
              "organization", "café", "İstanbul", "ﬁrm", "straße", "shared", "responsibility", "theory", "of",
              "change", "it's", "o'neill", "capability", "fund", "x"]
NEGATION_VOCABULARY = ["not", "No", "never", "without", "lack", "failed", "didn't", "wasn’t", "only", "but",
                       "However"]
SEPARATORS = [" ", "  ", "\n", "\t", "-", " - ", ", ", ". ", "'", "’", "\u00a0", "—", "", "; ", "\n\n", ".\n",
              "\n- ", "? ", " e.g. "]


@st.composite
def texts(draw: st.DrawFn, favourite: tuple[str, ...] = ()) -> str:
    pool = VOCABULARY + [w.upper() for w in VOCABULARY[:6]] + list(favourite) * 12 + NEGATION_VOCABULARY * 2
    words = draw(st.lists(st.sampled_from(pool), min_size=3 if favourite else 0, max_size=40))
    out = ""
    for word in words:
        out += word + draw(st.sampled_from(SEPARATORS))
    return out


@st.composite
def phrases(draw: st.DrawFn, wildcard: bool = True) -> str:
    words = draw(st.lists(st.sampled_from([w for w in VOCABULARY if "'" not in w]), min_size=1, max_size=3))
    if wildcard:  # a wildcard may end any word: cut some words short and star them, or list their endings
        chosen = []
        for word in words:
            cut = draw(st.integers(min_value=1, max_value=len(word)))
            kind = draw(st.integers(0, 5))
            if kind == 0:
                word = word[:cut] + "*"
            elif kind == 1:
                word = word[:cut] + "{" + ",".join(sorted({"", word[cut:], "s", "ed"})) + "}"
            elif kind == 2:  # a choice of words
                other = draw(st.sampled_from([w for w in VOCABULARY if "'" not in w]))
                word = "{" + ",".join(sorted({word, other})) + "}"
            chosen.append(word)
        words = chosen
    phrase = words[0]
    for word in words[1:]:
        phrase += draw(st.sampled_from([" ", "-"])) + word
    return phrase


@st.composite
def codebooks(draw: st.DrawFn) -> Codebook:
    themes = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        terms = []
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            if draw(st.integers(0, 4)) == 0:
                operator = draw(st.sampled_from(["NEAR", "PRE"]))
                term = f"{draw(phrases())} {operator}/{draw(st.integers(0, 4))} {draw(phrases())}"
            else:
                term = draw(phrases())
            exclude = [draw(phrases(wildcard=False))] if draw(st.integers(0, 3)) == 0 else []
            if any(existing.term == term for existing in terms):
                continue  # a theme lists each term once (the codebook rejects repeats)
            terms.append(Term(term=term, exclude=exclude, variants=draw(st.booleans()),
                              case_sensitive=draw(st.integers(0, 5)) == 0))
        skip = []
        if draw(st.integers(0, 3)) == 0:  # a phrase, or a NEAR pair of phrases
            skip.append(draw(phrases()) if draw(st.booleans()) else
                        f"{draw(phrases())} NEAR/{draw(st.integers(0, 3))} {draw(phrases())}")
        themes.append(Theme(id=f"theme{index}", name=f"Theme {index}", terms=terms, skip_contexts=skip))
    return Codebook(name="generated", themes=themes)


@st.composite
def codebook_and_text(draw: st.DrawFn) -> tuple[Codebook, str]:
    """A codebook, and a text that favours the words of its terms (so most examples have hits)."""
    codebook = draw(codebooks())
    words = {re.sub(r"\{.*", "", w.rstrip("*")) for theme in codebook.themes for term in theme.terms
             for w in re.split(r"[ -]|NEAR/\d+|PRE/\d+", term.term) if w.strip()}
    return codebook, draw(texts(tuple(sorted(words))))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(codebook_and_text())
def test_fast_matcher_equals_the_reference(generated: tuple[Codebook, str]) -> None:
    codebook, text = generated
    assert compile_codebook(codebook).match(text) == reference_match(text, codebook)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=6))
def test_any_unicode_text(text: str, word: str) -> None:
    codebook = one_theme(word, word[:1] + "*")
    assert compile_codebook(codebook).match(text) == reference_match(text, codebook)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_word_starts_are_where_re_finds_words(text: str) -> None:
    # the fast per-code-point tables must agree with Python's own \w on any Unicode text
    assert word_starts(text).tolist() == [found.start() for found in re.finditer(r"\w+", text)]


def test_default_codebook_on_real_indigo_records_equals_the_reference(dataset) -> None:
    # real narrative text (every fourth project of the shared export: the slow oracle takes ~0.2 s a
    # record), the shipped codebook, and the slow matcher above as the independent oracle: same
    # references, and the known co-production hit of Reboot West exactly
    from sibkit.coding import load_codebook
    from sibkit.corpus import record_text

    codebook = load_codebook("relational-sib")
    compiled = compile_codebook(codebook)
    total = 0
    for project_id in sorted(dataset.projects["id"])[::4]:
        text = record_text(dataset, project_id)[1]
        found = compiled.match(text)
        assert found == reference_match(text, codebook), project_id
        total += len(found)
    assert total > 0
    reboot = record_text(dataset, "INDIGO-POJ-0121")[1]
    expected = [m.start() for m in re.finditer("co-production", reboot)]
    assert [h.start for h in compiled.match(reboot) if h.theme == "co-production"] == expected


# --------------------------------------------------------------------------------------------
# The engines: how one is chosen, and the places where Hyperscan's view of a text (ASCII bytes,
# '?' for any other character) differs from Python's


def test_the_engine_is_chosen_by_argument_or_environment(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    book = one_theme("partnership")
    assert compile_codebook(book).engine == engine  # from SIBKIT_MATCHER_ENGINE (the fixture)
    assert compile_codebook(book, "python").engine == "python"
    monkeypatch.delenv(ENGINE_VARIABLE)
    assert choose_engine() == ("hyperscan" if hyperscan_available() else "python")
    with pytest.raises(SibkitError, match="unknown matcher engine 'regex'"):
        compile_codebook(book, "regex")


def test_gaps_question_marks_and_unicode_spaces_between_words(engine: str) -> None:
    gap = " " * 20 + "\n" + "\t" * 3
    text = (f"theory of{gap}change; theory? of change; theory of\u00a0change; "
            "THEORY\u2003OF\u3000CHANGE and theory-of-change")
    assert spans(text, one_theme("theory of change")) == [
        (f"theory of{gap}change", 0, 39), ("theory of\u00a0change", 60, 76), ("THEORY\u2003OF\u3000CHANGE", 78, 94),
        ("theory-of-change", 99, 115)]  # "theory? of" is no phrase: '?' is not white space
    # a 24-character gap inside a wildcard phrase, and a word made longer by non-ASCII letters
    assert spans("worked" + " " * 24 + "closely; workéd closely, wörk closely", one_theme("work* closely")) == [
        ("worked" + " " * 24 + "closely", 0, 37), ("workéd closely", 39, 53)]


def test_case_folding_outside_ascii(engine: str) -> None:
    # the Kelvin sign folds to 'k'; 'İ' keeps its length only as itself; a final sigma is folded in context
    text = "Capability: \u212aey worker, İstanbul and ΟΔΟΣ works"
    # with 'İ' in the text, each character is folded on its own, so the final Σ becomes σ
    assert spans(text, one_theme("key worker", "İstanbul", "οδος", "οδοσ")) == [
        ("\u212aey worker", 12, 22), ("İstanbul", 24, 32), ("ΟΔΟΣ", 37, 41)]
    # a capital sigma inside a word folds to σ, at its end to ς
    assert spans("ΟΔΟΣΑ ΟΔΟΣ", one_theme("οδοσα", "οδος", "οδοσ")) == [("ΟΔΟΣΑ", 0, 5), ("ΟΔΟΣ", 6, 10)]


def test_case_sensitive_terms_and_question_marks_in_terms(engine: str) -> None:
    text = "SIB and sib; what? what?! Why?"
    book = one_theme({"term": "SIB", "case_sensitive": True}, "what?", "why?")
    assert spans(text, book) == [("SIB", 0, 3), ("what?", 13, 18), ("what?", 19, 24), ("Why?", 26, 30)]


GAP_SEPARATORS = [" " * 17, "\n" + " " * 30, "\u00a0", "\u2003 ", "?", " ? ", "\u212a", "é", "Σ", "\x1c"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(codebook_and_text(), st.lists(st.tuples(st.integers(0, 400), st.sampled_from(GAP_SEPARATORS)), max_size=6))
def test_both_engines_equal_the_reference_with_long_gaps_and_placeholders(
        generated: tuple[Codebook, str], inserts: list[tuple[int, str]]) -> None:
    # the generated text with long white-space runs, non-ASCII spaces and characters Hyperscan sees as '?'
    codebook, text = generated
    for position, piece in inserts:
        position = min(position, len(text))
        text = text[:position] + piece + text[position:]
    expected = reference_match(text, codebook)
    assert compile_codebook(codebook).match(text) == expected
    assert compile_codebook(codebook, "python").match(text) == expected


def test_exact_references_on_hand_written_passages(engine: str) -> None:
    book = Codebook(name="t", themes=[
        Theme(id="copro", name="C", terms=[Term(term="co-produc*"), Term(term="partner* NEAR/2 close*")],
              skip_contexts=["co-produc* NEAR/1 fund*"]),
        Theme(id="risk", name="R", terms=[Term(term="shar* NEAR/2 risk"),
                                          Term(term="shared responsib*", exclude=["shared responsibility act"])]),
    ])
    text = ("The service was co-produced with families; it was not co-produced with investors.\n"
            "Co-production fund money came later. Partners stayed close, and the  shared\n"
            "responsibilities (not the Shared Responsibility Act) meant sharing the risk.")
    found = [(h.theme, h.term, text[h.start:h.end], h.negated) for h in compile_codebook(book).match(text)]
    assert found == [
        ("copro", "co-produc*", "co-produced", False),
        ("copro", "co-produc*", "co-produced", True),  # 'not' two words before, same clause
        ("copro", "partner* NEAR/2 close*", "Partners stayed close", False),
        ("risk", "shared responsib*", "shared\nresponsibilities", False),
        ("risk", "shar* NEAR/2 risk", "sharing the risk", False),
    ]


@settings(max_examples=300, deadline=None)
@given(texts(tuple(NEGATION_VOCABULARY)), st.integers(0, 10_000))
def test_negation_equals_the_reference_at_every_word(text: str, repeat: int) -> None:
    # long texts (the generated one up to three times), so the short cut over the 80 characters
    # before a hit is taken, and refused where a cue or too few words are there
    text = text * (1 + repeat % 3)
    for found in re.finditer(r"\w+", text):
        assert negated_at(text, found.start()) == reference_negated(text, found.start()), found.start()


def test_the_compiled_hyperscan_database_is_kept_and_a_damaged_copy_compiled_again(
        engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine != "hyperscan":
        pytest.skip("only the Hyperscan engine compiles a database")
    monkeypatch.setenv("SIBKIT_DATA", str(tmp_path))
    book = one_theme("theory of change", "partner*")
    text = "A THEORY  OF\nchange, with partners; theory of change."
    expected = [("THEORY  OF\nchange", 2, 19), ("partners", 26, 34), ("theory of change", 36, 52)]
    assert spans(text, book) == expected
    kept = sorted((tmp_path / "hyperscan").glob("*.pickle"))
    assert kept, "the compiled database was not kept"
    inodes = [path.stat().st_ino for path in kept]
    assert spans(text, book) == expected  # read back, not compiled again
    assert [path.stat().st_ino for path in kept] == inodes
    for path in kept:
        path.write_bytes(b"damaged")
    assert spans(text, book) == expected  # compiled again and replaced
    assert all(path.read_bytes() != b"damaged" for path in kept)


def test_a_small_corpus_is_matched_at_once_while_the_database_is_compiled_for_next_time(
        engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from sibkit.coding.matcher import SMALL_CORPUS_BYTES

    if engine != "hyperscan":
        pytest.skip("only the Hyperscan engine compiles a database")
    monkeypatch.setenv("SIBKIT_DATA", str(tmp_path))
    monkeypatch.delenv(ENGINE_VARIABLE)  # the engine left to sibkit
    book = one_theme("theory of change", "partner*")
    text = "A theory of change, with partners."
    first = compile_codebook(book, text_bytes=len(text))
    assert first.engine == "python"  # nothing kept yet: no compile waited for
    assert [text[hit.start:hit.end] for hit in first.match(text)] == ["theory of change", "partners"]
    for thread in threading.enumerate():
        if thread.name == "sibkit-hyperscan-compile":
            thread.join(60)
    assert list((tmp_path / "hyperscan").glob("*.pickle")), "the background compile kept nothing"
    second = compile_codebook(book, text_bytes=len(text))
    assert second.engine == "hyperscan"  # kept: read back
    assert second.match(text) == first.match(text)
    other = one_theme("shared vision")
    assert compile_codebook(other, text_bytes=SMALL_CORPUS_BYTES).engine == "hyperscan"  # worth compiling
    assert compile_codebook(one_theme("co-design"), "python", text_bytes=10).engine == "python"  # as asked
    monkeypatch.setenv(ENGINE_VARIABLE, "hyperscan")
    assert compile_codebook(one_theme("co-production"), text_bytes=10).engine == "hyperscan"  # as asked


@settings(max_examples=300, deadline=None)
@given(spans=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), max_size=12),
       hits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), min_size=1, max_size=12))
def test_a_cover_holds_a_hit_exactly_when_one_of_its_spans_does(spans: list, hits: list) -> None:
    from sibkit.coding.matcher import _Cover

    cover = _Cover([(start, start + length) for start, length in spans])
    for start, length in hits:
        end = start + length
        assert cover.holds(start, end) == any(s <= start and end <= s + n for s, n in spans)
