"""Qualitative Comparative Analysis (QCA): calibration, truth table, minimisation, necessity.

Follows Ragin (2008, *Redesigning Social Inquiry*) and Schneider & Wagemann (2012, *Set-Theoretic
Methods for the Social Sciences*):

- direct calibration: log odds of membership scaled so the three anchors (full non-membership,
  crossover, full membership) map to 0.05, 0.5 and 0.95;
- truth table: a case belongs to the row (corner of the property space) where its membership is
  above 0.5; row consistency = sum(min(R, Y)) / sum(R) over all cases, PRI =
  (sum(min(R, Y)) - sum(min(R, Y, ~Y))) / (sum(R) - sum(min(R, Y, ~Y)));
- a row is positive when it holds at least ``frequency`` cases and reaches the consistency (and, when
  given, PRI) threshold, negative when it holds enough cases but falls short, otherwise a logical
  remainder;
- Quine-McCluskey minimisation: conservative (positive rows only), parsimonious (remainders too),
  intermediate (Ragin & Sonnett 2005: a literal of a conservative term is dropped only when the
  matching parsimonious term does without it and it runs against the declared directional
  expectation, an "easy" counterfactual); every minimal cover of the prime implicant chart is a model;
- fit: consistency sum(min(X, Y)) / sum(X), coverage sum(min(X, Y)) / sum(Y), unique coverage of a
  term = solution coverage less the coverage of the solution without it;
- necessity: consistency sum(min(X, Y)) / sum(Y), coverage sum(min(X, Y)) / sum(X), relevance
  (Schneider & Wagemann 2012, 236) sum(1 - X) / sum(1 - min(X, Y));
- contradictory rows: a row whose cases (membership above 0.5) include some with the outcome and some
  without (Rihoux & De Meur 2009, 48). The rule that resolves them: a contradictory row counts for the
  outcome only when its consistency reaches the cut-off; otherwise it is a negative row, never a
  remainder, so no solution may assume the outcome for it. (This is what Dusa's R package QCA does
  with a single inclusion cut-off, ``truthTable(..., incl.cut = x)``; a second cut-off there marks the
  rows between the two "C", which its minimisation leaves out just as it leaves out a negative row.)
  Every contradictory row is listed with
  its cases on each side (``contradictions``), since the usual remedy is the researcher's: look at
  those cases again, or add the condition that tells them apart;
- skewed conditions (``skewed_conditions``): a condition on which every case, or all but fewer than
  ``min_share`` of the cases, lies on one side of 0.5 says nothing about the differences between cases
  (Schneider & Wagemann 2012, sec. 9.2 on skewed set membership); it is left out with a note.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sibkit.errors import SibkitError

DONT_CARE = "-"
MAX_MODELS = 20
MAX_CONDITIONS = 10
MIN_SHARE = 0.1  # a condition with fewer than this share of the cases on one side of 0.5 is near-constant
CONTRADICTION_RULE = ("a contradictory row (cases with and without the outcome) counts for the outcome only when "
                      "its consistency reaches the cut-off; otherwise it is a negative row, never a remainder")
CONTRADICTION_COLUMNS = ["config", "n", "with_outcome", "without_outcome", "consistency", "resolved", "cases_with",
                         "cases_without"]


def skewed_conditions(data: pd.DataFrame, conditions: Sequence[str], min_share: float = MIN_SHARE,
                      names: Mapping[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """(conditions kept, {condition left out: why}): constant ones (every case on one side of 0.5) and
    near-constant ones (fewer than ``min_share`` of the cases, and at least one, on one side)."""
    kept, dropped = [], {}
    n = len(data)
    for condition in conditions:
        inside = int((data[condition].to_numpy(dtype=float) > 0.5).sum())
        outside = n - inside
        label = (names or {}).get(condition, condition)
        if n and (inside == 0 or outside == 0):
            side = "absent from" if inside == 0 else "present in"
            dropped[condition] = f"{label}: constant ({side} all {n} cases)"
        elif n and min(inside, outside) < min_share * n:
            side = f"present in {inside}" if inside < outside else f"absent from {outside}"
            dropped[condition] = (f"{label}: near-constant ({side} of {n} cases, fewer than "
                                  f"{100 * min_share:.0f}%)")
        else:
            kept.append(condition)
    return kept, dropped


def calibrate(values: Sequence[float] | np.ndarray | pd.Series, full_out: float, crossover: float,
              full_in: float, inclusion: float = 0.95) -> np.ndarray:
    """Direct-method calibration: memberships with ``full_out`` -> 1 - inclusion, ``crossover`` -> 0.5,
    ``full_in`` -> inclusion (log odds scaled linearly on each side of the crossover).

    The anchors may run downwards (full_in < crossover < full_out) for a set that larger values leave.
    """
    if not (full_out < crossover < full_in or full_out > crossover > full_in):
        raise SibkitError(f"calibration anchors must be ordered (full out {full_out:g}, crossover {crossover:g}, "
                          f"full in {full_in:g}): the crossover lies strictly between the other two")
    if not 0.5 < inclusion < 1:
        raise SibkitError(f"inclusion score {inclusion:g} must be between 0.5 and 1")
    scale = math.log(inclusion / (1 - inclusion))
    x = np.asarray(values, dtype=float)
    deviation = x - crossover
    above = (deviation >= 0) == (full_in > crossover)
    log_odds = np.where(above, scale * deviation / (full_in - crossover), scale * deviation / (crossover - full_out))
    return 1.0 / (1.0 + np.exp(-log_odds))


def _covers(term: str, config: str) -> bool:
    return all(t in (DONT_CARE, c) for t, c in zip(term, config, strict=True))


def prime_implicants(minterms: set[str]) -> set[str]:
    """Quine-McCluskey: merge terms differing in one specified position until nothing merges.

    Two terms merge when one has a 0 where the other has a 1 and they agree everywhere else, so each
    term is paired by looking up its partner with that 0 turned into a 1 (no all-pairs comparison).
    """
    current, primes = set(minterms), set()
    while current:
        merged: set[str] = set()
        used: set[str] = set()
        for term in current:
            for position, value in enumerate(term):
                if value != "0":
                    continue
                partner = term[:position] + "1" + term[position + 1:]
                if partner in current:
                    merged.add(term[:position] + DONT_CARE + term[position + 1:])
                    used.update((term, partner))
        primes |= current - used
        current = merged
    return primes


def _literals(term: str) -> int:
    return sum(c != DONT_CARE for c in term)


MAX_COVERS = 1000


SEARCH_BUDGET = 200_000


def _greedy_cover(covering: Mapping[str, frozenset[str]], configs: set[str]) -> list[str]:
    """A cover built by taking, each time, the prime covering most of what is left."""
    chosen, left = [], set(configs)
    while left:
        prime = max(covering, key=lambda p: (len(covering[p] & left), p))
        chosen.append(prime)
        left -= covering[prime]
    return chosen


def minimal_covers(primes: set[str], configs: set[str], limit: int = MAX_MODELS,
                   incomplete: list[int] | None = None) -> list[list[str]]:
    """Every cover of ``configs`` with the fewest prime implicants, then the fewest literals (Petrick's
    problem, solved by branch and bound: branch on the uncovered configuration with fewest holders).

    The search stops after ``SEARCH_BUDGET`` steps (only with many conditions and remainders); it then
    appends to ``incomplete``, and the models found so far (at worst a greedy cover) are returned."""
    incomplete = incomplete if incomplete is not None else []
    if not configs:
        return []
    covering = {p: frozenset(c for c in configs if _covers(p, c)) for p in sorted(primes)}
    covering = {p: cs for p, cs in covering.items() if cs}
    holders = {c: [p for p, cs in covering.items() if c in cs] for c in configs}
    orphan = next((c for c, ps in holders.items() if not ps), None)
    if orphan is not None:
        raise ValueError(f"configuration {orphan} is covered by no prime implicant")
    widest = max(len(cs) for cs in covering.values())
    best: list[int] = [len(_greedy_cover(covering, configs))]  # an upper bound to start from
    found: set[frozenset[str]] = set()

    visits = [0]

    def search(uncovered: frozenset[str], chosen: frozenset[str], forbidden: frozenset[str]) -> None:
        visits[0] += 1
        if visits[0] > SEARCH_BUDGET:
            return
        if not uncovered:
            if len(chosen) < best[0]:
                best[0] = len(chosen)
                found.clear()
            if len(found) < MAX_COVERS:
                found.add(chosen)
            return
        if len(chosen) + math.ceil(len(uncovered) / widest) > best[0]:
            return
        pivot = min(uncovered, key=lambda c: (sum(p not in forbidden for p in holders[c]), c))
        # each cover is met once: the branch of the first of the pivot's holders it contains
        excluded = set(forbidden)
        for prime in holders[pivot]:
            if prime in excluded:
                continue
            search(uncovered - covering[prime], chosen | {prime}, frozenset(excluded))
            excluded.add(prime)

    search(frozenset(configs), frozenset(), frozenset())
    if visits[0] > SEARCH_BUDGET:
        incomplete.append(len(configs))
    if not found:  # the budget ran out before any cover of the greedy size: take the greedy one
        found.add(frozenset(_greedy_cover(covering, configs)))
    fewest = min(sum(_literals(p) for p in cover) for cover in found)
    models = [sorted(cover, key=_term_order) for cover in found if sum(_literals(p) for p in cover) == fewest]
    return sorted(models, key=lambda m: [_term_order(t) for t in m])[:limit]


def _term_order(term: str) -> tuple:
    return (_literals(term), [{"1": 0, "0": 1, DONT_CARE: 2}[c] for c in term])


def expression(term: str, conditions: Sequence[str]) -> str:
    """``A*~B`` for the term ``10-`` over conditions A, B, C."""
    parts = [name if value == "1" else f"~{name}" for name, value in zip(conditions, term, strict=True)
             if value != DONT_CARE]
    return "*".join(parts) or "(always)"


def intermediate_terms(conservative: set[str], parsimonious: set[str],
                       expectations: Sequence[str | None]) -> set[str]:
    """Ragin & Sonnett's intermediate terms: from each conservative prime implicant, drop the literals
    that a parsimonious term containing it does without and that run against the expectation."""
    candidates = set()
    for term in conservative:
        for simpler in parsimonious:
            if not _within(term, simpler):
                continue
            kept = "".join(
                t if t == DONT_CARE or s != DONT_CARE or expected is None or expected == t else DONT_CARE
                for t, s, expected in zip(term, simpler, expectations, strict=True))
            candidates.add(kept)
    # a candidate whose literals include another candidate's adds nothing
    return {c for c in candidates if not any(o != c and _within(c, o) for o in candidates)}


def _within(term: str, wider: str) -> bool:
    """Whether every configuration of ``term`` is one of ``wider``'s (wider's literals are among term's)."""
    return all(w in (DONT_CARE, t) for t, w in zip(term, wider, strict=True))


@dataclass
class QcaResult:
    """Truth table, solutions, their fit and the analysis of necessary conditions, as DataFrames."""

    conditions: list[str]
    outcome: str
    fuzzy: bool
    data: pd.DataFrame
    truth_table: pd.DataFrame
    solutions: pd.DataFrame
    terms: pd.DataFrame
    necessity: pd.DataFrame
    settings: dict[str, object]
    warnings: list[str] = field(default_factory=list)
    contradictions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CONTRADICTION_COLUMNS))
    dropped: dict[str, str] = field(default_factory=dict)  # condition left out -> why (constant, near-constant)
    evidence: pd.DataFrame = field(default_factory=pd.DataFrame)  # per term and case: the hits it rests on
    robustness: pd.DataFrame = field(default_factory=pd.DataFrame)  # per scenario and term
    robust_terms: pd.DataFrame = field(default_factory=pd.DataFrame)  # per term: in how many scenarios

    @property
    def remainders(self) -> pd.DataFrame:
        return self.truth_table[self.truth_table["outcome"] == "?"]

    def to_json(self) -> dict[str, object]:
        def records(frame: pd.DataFrame) -> list[dict[str, object]]:
            return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                    for row in frame.to_dict("records")]

        return {"conditions": self.conditions, "outcome": self.outcome, "fuzzy": self.fuzzy,
                "settings": self.settings, "cases": len(self.data), "truth_table": records(self.truth_table),
                "solutions": records(self.solutions), "terms": records(self.terms),
                "necessity": records(self.necessity), "contradictions": records(self.contradictions),
                "dropped": self.dropped, "evidence": records(self.evidence), "robustness": records(self.robust_terms),
                "warnings": self.warnings}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


CASES_PER_ROW = 0.5


def max_conditions(cases: int, cases_per_row: float = CASES_PER_ROW) -> int:
    """The most conditions k with cases >= cases_per_row * 2^k (by default: the cases could fill at least
    half the truth table; Ragin's Lipset example has 18 cases for 5 conditions)."""
    if cases < 1:
        return 0
    return max(math.floor(math.log2(cases / cases_per_row) + 1e-9), 0)


def check_diversity(cases: int, conditions: int, cases_per_row: float = CASES_PER_ROW) -> None:
    """Refuse more conditions than the cases can speak to; say how many would do."""
    allowed = max_conditions(cases, cases_per_row)
    if conditions > allowed:
        needed = math.ceil(cases_per_row * 2 ** conditions)
        raise SibkitError(
            f"{conditions} conditions make a truth table of {2 ** conditions} rows, too many for {cases} cases "
            f"(the rule: at least {cases_per_row:g} case per row): use at most {allowed} "
            f"condition{'s' if allowed != 1 else ''} with {cases} cases, or have at least {needed} cases "
            f"for {conditions} conditions")


def analyse(data: pd.DataFrame, conditions: Sequence[str], outcome: str, *, case_id: str = "case_id",
            frequency: int = 1, consistency: float = 0.8, pri: float | None = None,
            expectations: Mapping[str, int | None] | None = None, cases_per_row: float | None = CASES_PER_ROW
            ) -> QcaResult:
    """QCA on memberships in [0, 1] (crisp when all are 0 or 1): one row per case.

    ``expectations``: condition -> 1 (contributes when present), 0 (when absent) or None, for the
    intermediate solution; ``cases_per_row``: the diversity rule of ``check_diversity`` (None: off).
    """
    conditions = list(conditions)
    frame, values = _checked_data(data, conditions, outcome, case_id, frequency, consistency)
    if cases_per_row is not None:  # None: no check (tests on generated data)
        check_diversity(len(frame), len(conditions), cases_per_row)
    expectations = dict(expectations or {})
    unknown = set(expectations) - set(conditions)
    if unknown:
        raise SibkitError(f"directional expectation for {', '.join(sorted(unknown))}, which is not a condition")
    x, y = values[:, :-1], values[:, -1]
    fuzzy = not np.isin(values, (0.0, 1.0)).all()
    warnings = []
    half = np.isclose(x, 0.5).any(axis=1)
    if half.any():
        warnings.append(f"{int(half.sum())} case(s) with a membership of exactly 0.5 belong to no truth-table row: "
                        + ", ".join(map(str, frame.loc[half, case_id])))
    table = _truth_table(frame, conditions, case_id, x, y, frequency, consistency, pri)
    pos = set(table.loc[table["outcome"] == "1", "config"])
    rem = set(table.loc[table["outcome"] == "?", "config"])
    contradictions = _contradictions(table, frequency, consistency)
    if len(contradictions):
        held = int(contradictions["n"].sum())
        warnings.append(f"{len(contradictions)} contradictory row(s) hold {held} of {len(frame)} cases: "
                        + "; ".join(f"{c} ({w} with the outcome, {wo} without)" for c, w, wo in
                                    zip(contradictions["config"], contradictions["with_outcome"],
                                        contradictions["without_outcome"], strict=True))
                        + f"; rule: {CONTRADICTION_RULE}")
    observed_rem = table[(table["outcome"] == "?") & (table["n"] > 0)]
    if len(observed_rem):
        warnings.append(f"{len(observed_rem)} observed configuration(s) fall below the frequency threshold "
                        f"({frequency}) and count as logical remainders")
    expected = [None if expectations.get(c) is None else str(int(expectations[c])) for c in conditions]
    solutions, terms = _solutions(pos, rem, expected, conditions, frame[case_id], x, y, warnings)
    if not pos:
        warnings.append("no truth-table row reaches the thresholds: there is no sufficient configuration to minimise")
    settings = {"frequency": frequency, "consistency": consistency, "pri": pri,
                "expectations": {c: expectations.get(c) for c in conditions}, "cases": len(frame),
                "positive_rows": len(pos), "negative_rows": int((table["outcome"] == "0").sum()),
                "remainders": len(rem), "rows": 2 ** len(conditions), "contradictory_rows": len(contradictions)}
    truth_table = table.drop(columns=["config", "with_outcome", "without_outcome"]).assign(config=table["config"])
    return QcaResult(conditions=conditions, outcome=outcome, fuzzy=bool(fuzzy), data=frame,
                     truth_table=truth_table, solutions=solutions, terms=terms,
                     necessity=_necessity(conditions, x, y), settings=settings, warnings=warnings,
                     contradictions=contradictions)


def _checked_data(data: pd.DataFrame, conditions: list[str], outcome: str, case_id: str, frequency: int,
                  consistency: float) -> tuple[pd.DataFrame, np.ndarray]:
    """The case id, condition and outcome columns, and their memberships as numbers; SibkitError
    naming what is wrong with the data or the thresholds."""
    if not conditions:
        raise SibkitError("QCA needs at least one condition")
    missing = [c for c in [case_id, *conditions, outcome] if c not in data.columns]
    if missing:
        raise SibkitError(f"QCA data lack the column(s) {', '.join(missing)}")
    if len(conditions) > MAX_CONDITIONS:
        raise SibkitError(f"{len(conditions)} conditions: QCA here takes at most {MAX_CONDITIONS} "
                          f"({2 ** MAX_CONDITIONS} truth-table rows)")
    if len(set(conditions)) != len(conditions) or outcome in conditions:
        raise SibkitError("QCA conditions must be distinct and differ from the outcome")
    if frequency < 1:
        raise SibkitError(f"frequency threshold {frequency} must be at least 1")
    if not 0 < consistency <= 1:
        raise SibkitError(f"consistency threshold {consistency:g} must be in (0, 1]")
    frame = data[[case_id, *conditions, outcome]].reset_index(drop=True)
    values = frame[[*conditions, outcome]].to_numpy(dtype=float)
    if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
        raise SibkitError("QCA memberships must be numbers between 0 and 1 (no missing values)")
    return frame, values


def _truth_table(frame: pd.DataFrame, conditions: list[str], case_id: str, x: np.ndarray, y: np.ndarray,
                 frequency: int, consistency: float, pri: float | None) -> pd.DataFrame:
    """One row per configuration of the conditions: its cases, consistency, PRI and outcome ("1" counts
    for the outcome, "0" does not, "?" a remainder with fewer than ``frequency`` cases), outcome rows first."""
    rows = []
    for bits in itertools.product("10", repeat=len(conditions)):
        config = "".join(bits)
        selector = np.array([b == "1" for b in config])
        membership = np.where(selector, x, 1 - x).min(axis=1)
        inside = membership > 0.5
        members = [str(frame.at[i, case_id]) for i in range(len(frame)) if inside[i]]
        with_outcome = [str(frame.at[i, case_id]) for i in range(len(frame)) if inside[i] and y[i] > 0.5]
        without_outcome = [c for c in members if c not in set(with_outcome)]
        both = np.minimum(membership, y).sum()
        overlap = np.minimum(np.minimum(membership, y), 1 - y).sum()
        rows.append({**dict(zip(conditions, (int(b) for b in config), strict=True)), "config": config,
                     "n": len(members), "consistency": _ratio(both, membership.sum()),
                     "pri": _ratio(both - overlap, membership.sum() - overlap), "cases": " ".join(members),
                     "with_outcome": " ".join(with_outcome), "without_outcome": " ".join(without_outcome),
                     "contradictory": bool(with_outcome and without_outcome)})
    table = pd.DataFrame(rows)
    enough = table["n"] >= frequency
    positive = enough & (table["consistency"] >= consistency - 1e-12)
    if pri is not None:
        positive &= table["pri"] >= pri - 1e-12
    table["outcome"] = np.where(positive, "1", np.where(enough, "0", "?"))
    table = table.sort_values(["outcome", "n", "consistency"], ascending=[True, False, False],
                              key=lambda s: s.map({"1": 0, "0": 1, "?": 2}) if s.name == "outcome" else s)
    return table.reset_index(drop=True)


def _contradictions(table: pd.DataFrame, frequency: int, consistency: float) -> pd.DataFrame:
    """The truth table's rows holding cases with and without the outcome, and how each was resolved."""
    return pd.DataFrame([
        {"config": r["config"], "n": r["n"], "with_outcome": len(r["with_outcome"].split()),
         "without_outcome": len(r["without_outcome"].split()), "consistency": r["consistency"],
         "resolved": (f"counts for the outcome (consistency {r['consistency']:.3f} ≥ {consistency:g})"
                      if r["outcome"] == "1" else
                      f"negative row (consistency {r['consistency']:.3f} < {consistency:g})"
                      if r["outcome"] == "0" else f"remainder (fewer than {frequency} cases)"),
         "cases_with": r["with_outcome"], "cases_without": r["without_outcome"]}
        for r in table.to_dict("records") if r["contradictory"]], columns=CONTRADICTION_COLUMNS)


def _solutions(pos: set[str], rem: set[str], expected: list[str | None], conditions: list[str],
               case_ids: pd.Series, x: np.ndarray, y: np.ndarray,
               warnings: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The conservative, parsimonious and intermediate solutions (each of their minimal models), and
    each model's terms with raw and unique coverage; a search cut short adds to ``warnings``."""
    conservative_pi = prime_implicants(pos)
    parsimonious_pi = prime_implicants(pos | rem)
    intermediate_pi = intermediate_terms(conservative_pi, parsimonious_pi, expected)
    solution_rows, term_rows = [], []
    for kind, primes in (("conservative", conservative_pi), ("parsimonious", parsimonious_pi),
                         ("intermediate", intermediate_pi)):
        stopped: list[int] = []
        models = minimal_covers(primes, pos, incomplete=stopped)
        if stopped:
            warnings.append(f"the {kind} solution's search for minimal models stopped early (too many prime "
                            "implicants): the models shown may not be all, nor the smallest")
        for number, model in enumerate(models, start=1):
            member = [_term_membership(term, x) for term in model]
            solution = np.max(member, axis=0)
            sol_cov = _ratio(np.minimum(solution, y).sum(), y.sum())
            solution_rows.append({
                "solution": kind, "model": number, "expression": " + ".join(expression(t, conditions) for t in model),
                "terms": len(model), "consistency": _ratio(np.minimum(solution, y).sum(), solution.sum()),
                "coverage": sol_cov, "cases": " ".join(str(c) for c, m, o in zip(case_ids, solution, y,
                                                                                  strict=True) if m > 0.5 and o > 0.5)})
            for index, (term, m) in enumerate(zip(model, member, strict=True)):
                others = [member[j] for j in range(len(model)) if j != index]
                without = np.max(others, axis=0) if others else np.zeros_like(y)
                term_rows.append({
                    "solution": kind, "model": number, "term": expression(term, conditions), "pattern": term,
                    "raw_consistency": _ratio(np.minimum(m, y).sum(), m.sum()),
                    "raw_coverage": _ratio(np.minimum(m, y).sum(), y.sum()),
                    "unique_coverage": sol_cov - _ratio(np.minimum(without, y).sum(), y.sum()),
                    "cases": " ".join(str(c) for c, v in zip(case_ids, m, strict=True) if v > 0.5)})
    solutions = pd.DataFrame(solution_rows, columns=["solution", "model", "expression", "terms", "consistency",
                                                     "coverage", "cases"])
    terms = pd.DataFrame(term_rows, columns=["solution", "model", "term", "pattern", "raw_consistency",
                                             "raw_coverage", "unique_coverage", "cases"])
    return solutions, terms


def _necessity(conditions: list[str], x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Each condition and its negation as a necessary condition: consistency, coverage, relevance."""
    necessity = []
    for j, name in enumerate(conditions):
        for label, member in ((name, x[:, j]), (f"~{name}", 1 - x[:, j])):
            both = np.minimum(member, y)
            necessity.append({"condition": label, "consistency": _ratio(both.sum(), y.sum()),
                              "coverage": _ratio(both.sum(), member.sum()),
                              "relevance": _ratio((1 - member).sum(), (1 - both).sum())})
    return pd.DataFrame(necessity)


def _term_membership(term: str, x: np.ndarray) -> np.ndarray:
    columns = [np.where(value == "1", x[:, j], 1 - x[:, j]) for j, value in enumerate(term) if value != DONT_CARE]
    return np.min(columns, axis=0) if columns else np.ones(len(x))
