"""A methods paragraph generated from the study file, ready to paste into a paper.

It says, in this order: the data and its release; the selection criteria in order (and, after a run, how
many cases each step kept); the codebook, its version and the figures measured for it (precision and
recall per theme, from ``Codebook.measured`` when the codebook carries them, else "not measured"); the
presence rule; the classification (rules, index, tolerance and the tolerances tried); the statistics
(tests, permutations, bootstrap resamples, seed, multiple-comparison correction).
"""

from __future__ import annotations

from typing import Any


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _measured(codebook: Any) -> str:
    measured = getattr(codebook, "measured", None)
    if not measured:
        return ("Its precision and recall were not measured for this study (the codebook carries no measured "
                "figures; see `sibkit codebook evaluate`).")
    def field(name: str) -> Any:
        return measured.get(name) if isinstance(measured, dict) else getattr(measured, name, None)

    on = (field("cite") or field("on") or "").strip().rstrip(".")
    themes = field("themes")
    parts = []
    for theme, figures in sorted((themes or {}).items()):
        get = figures.get if isinstance(figures, dict) else lambda k, f=figures: getattr(f, k, None)
        precision, recall, passages = get("precision"), get("recall"), get("passages")
        shown = [f"{name} {value:.2f}" if value is not None else f"{name} not measured"
                 for name, value in (("precision", precision), ("recall", recall))]
        parts.append(f"{theme} {', '.join(shown)}" + (f" ({passages} passages)" if passages else ""))
    where = f" on {on}" if on else ""
    return f"Measured{where}: " + "; ".join(parts) + "." if parts else "Its measured figures list no theme."


def methods_paragraph(study: Any, results: Any = None) -> str:
    """The paragraph (one string); ``results`` (a ``StudyResults``), when given, adds the numbers of the run."""
    from sibkit.coding import study_codebook
    from sibkit.releases import release_of
    from sibkit.study.selection import describe_step

    release = results.release if results is not None and results.release is not None else release_of(study.dataset())
    steps = []
    flow = results.flow.to_dict("records") if results is not None else None
    for index, step in enumerate(study.selection):
        label, _reason = describe_step(step)
        steps.append(f"{label} ({flow[index]['out']} cases)" if flow and index < len(flow) else label)
    codebook = study_codebook(study)
    outcomes = study.outcomes
    analysis = study.analysis
    other_tolerances = [t for t in outcomes.sensitivity or [] if abs(t - outcomes.tolerance) > 1e-9]
    rules = " then ".join(outcomes.rules) if getattr(outcomes, "rules", None) else "achievement"
    text = (f"Cases were drawn from the Government Outcomes Lab's INDIGO impact bond dataset, release of "
            f"{release.date} ({release.label}; SHA-256 {release.sha256[:12]}…), "
            + (f"of {flow[0]['in']} impact bonds, " if flow else "")
            + ("by these criteria, in order: " + "; ".join(steps) + ". " if steps else "with no selection criteria. "))
    if results is not None:
        classes = results.classification["class"].value_counts().to_dict()
        text += (f"{len(results.selected)} cases were selected ("
                 + ", ".join(f"{n} {c}" for c, n in sorted(classes.items())) + "). ")
    text += (f"Documents were coded with the {codebook.name} codebook, version {codebook.version} "
             f"({len([t for t in codebook.themes if t.terms])} themes with search terms), by keyword and phrase "
             "matching with proximity rules and negation detection, every hit open to review by a person. "
             + _measured(codebook) + " ")
    text += (f"A case counted as associated with a theme when {analysis.presence.label()} of it counted after review"
             + (" (hits in negated clauses included)" if study.count_negated else " (hits in negated clauses left out)")
             + ". ")
    text += (f"Each case was classified from INDIGO's outcome data by the {rules} rule"
             + ("s" if len(getattr(outcomes, "rules", []) or []) > 1 else "")
             + f" ({outcomes.index} achievement index) as successful when it delivered at least "
             f"{_percent(1 - outcomes.tolerance)} of its stated outcomes (a tolerance of "
             f"{_percent(outcomes.tolerance)}), otherwise struggling, or as having insufficient data"
             + (f"; the comparison was repeated at {'a tolerance' if len(other_tolerances) == 1 else 'tolerances'} of "
                + ", ".join(_percent(t) for t in other_tolerances) if other_tolerances else "") + ". ")
    text += ("Successful and struggling cases were compared theme by theme with Fisher's exact test, Newcombe's 95% "
             f"interval of the difference, a permutation test ({analysis.permutations:,} permutations) and a bootstrap "
             f"95% interval ({analysis.bootstrap:,} resamples), seed {analysis.seed}, with Benjamini-Hochberg q-values "
             "within the primary and secondary families of themes. The analysis was run with sibkit "
             + _version() + " from the study file "
             + (f"{study.path.name} (SHA-256 {study.content_hash()[:12]}…)." if study._path else "given."))
    return text


def _version() -> str:
    from sibkit import __version__

    return __version__
