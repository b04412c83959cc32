"""A study's "since last run": what changed for the study when a run uses a new INDIGO release.

Each ``sibkit run`` stores a row in the study database's ``runs`` table (migration ``runs``): the release it
used, the hash of the typed tables, and a snapshot of what it found — every case's fate in the selection,
the selected cases' classes and ratios, which cases each theme is associated with, the findings. The
study database, not a file beside the report, because it is the study's lasting record (the review log
lives there too, a team on PostgreSQL shares it, and a report written elsewhere with ``-o`` or deleted
does not lose the history).

When a run's tables differ from the last run's, ``since_last_run`` compares with the latest run on other
tables: cases that entered or left the selection and why (the step and reason, and what changed in
INDIGO for them when the earlier release is still held), cases whose class moved with the results and
payments behind it, themes whose association moved (and the cases that moved it), and the findings
table beside the previous run's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sibkit import __version__
from sibkit.releases.dated import release_of

COMPARED = ("successful", "struggling")


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def snapshot(results: Any) -> dict[str, Any]:
    """What a run found, as plain JSON (see the module's docstring)."""
    selection = {row["case_id"]: {"name": _clean(row["name"]) or "", "step": row["step"], "reason": row["reason"] or "",
                                  "documents": _clean(row.get("distinct_documents"))}
                 for row in results.selection.to_dict("records")}
    classes = {row["case_id"]: {"class": row["class"], "achievement_ratio": _clean(row.get("achievement_ratio")),
                                "payment_ratio": _clean(row.get("payment_ratio")), "decided_by": row.get("decided_by")}
               for row in results.classification.to_dict("records")}
    matrix = results.matrix
    associated: dict[str, list[str]] = {}
    if len(matrix):
        kept = matrix[matrix["associated"].astype(bool)]
        for theme, group in kept.groupby("theme", sort=True):
            associated[str(theme)] = sorted(group["case_id"])
    columns = ["theme", "n_successful", "n_struggling", "share_successful", "share_struggling", "difference_pp",
               "fisher_p", "q"]
    findings = [{c: _clean(row.get(c)) for c in columns} for row in results.findings.to_dict("records")]
    names = dict(zip(results.themes["theme"], results.themes["name"], strict=True)) if len(results.themes) else {}
    return {"selection": selection, "selected": list(results.selected), "classes": classes,
            "associated": associated, "findings": findings, "theme_names": names}


@dataclass
class SinceLastRun:
    """What changed for the study since its last run on another release; every table also in ``lines()``."""

    previous: dict[str, Any]  # release_label, release_date, at
    current: dict[str, Any]
    release_changes: list[str]  # the summary lines of ``data diff`` (or why it could not be made)
    entered: pd.DataFrame  # case_id, name, before, why
    left: pd.DataFrame  # case_id, name, now, why
    classes: pd.DataFrame  # case_id, name, before, now, achievement_before, achievement_now, payment_before,
    #                        payment_now, behind
    themes: pd.DataFrame  # theme, name, before, now, cases
    findings: pd.DataFrame  # theme, name, difference_before, q_before, difference_now, q_now, change_pp
    notes: list[str] = field(default_factory=list)

    def heading(self) -> str:
        return (f"Since the last run on {self.previous['release_label']} (run at {self.previous['at']} UTC): this run "
                f"uses {self.current['release_label']}.")

    def lines(self) -> list[str]:
        """The section as lines of text (the console, and what the tests read)."""
        out = [self.heading()]
        out += [f"INDIGO changes: {line}" for line in self.release_changes]
        out += [f"Entered the selection: {r['case_id']} {r['name']} (before: {r['before']}; {r['why']})"
                for r in self.entered.to_dict("records")]
        out += [f"Left the selection: {r['case_id']} {r['name']} (now: {r['now']}; {r['why']})"
                for r in self.left.to_dict("records")]
        for r in self.classes.to_dict("records"):
            out.append(f"Class moved: {r['case_id']} {r['name']}: {r['before']} → {r['now']} (achievement ratio "
                       f"{_ratio(r['achievement_before'])} → {_ratio(r['achievement_now'])}, payment ratio "
                       f"{_ratio(r['payment_before'])} → {_ratio(r['payment_now'])}; {r['behind']})")
        out += [f"Association moved: {r['name']}: {r['before']} → {r['now']} ({r['cases']})"
                for r in self.themes.to_dict("records")]
        if self.entered.empty and self.left.empty and self.classes.empty and self.themes.empty:
            out.append("Nothing changed for this study: the same cases, classes and associations.")
        out += self.notes
        return out


def _ratio(value: object) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.3f}"


def _share(row: dict[str, Any] | None) -> str:
    if row is None:
        return "not compared"
    def pct(value: object) -> str:
        return "–" if value is None else f"{100 * float(value):.0f}%"
    diff = row.get("difference_pp")
    return (f"{pct(row.get('share_successful'))} of {row.get('n_successful')} successful, "
            f"{pct(row.get('share_struggling'))} of {row.get('n_struggling')} struggling, "
            + ("difference –" if diff is None else f"difference {float(diff):+.1f} pp"))


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-12  # type: ignore[arg-type]


def _n(row: dict[str, Any] | None, key: str) -> str:
    return "–" if row is None else str(row.get(key))


def _changes_of(changes: Any, case_id: str, kinds: tuple[str, ...]) -> list[str]:
    """One case's changes in INDIGO, in words (``kinds`` of ``ReleaseDiff.tables()``)."""
    if changes is None:
        return []
    words = []
    tables = changes.tables()
    if "fields" in kinds:
        for row in tables["fields"][tables["fields"]["project_id"] == case_id].to_dict("records"):
            words.append(f"{row['field']}: {row['old'] or '–'} → {row['new'] or '–'}")
    for kind in kinds:
        if kind in ("fields", "projects"):
            continue
        label = kind.replace("_", " ").removesuffix("s")
        for row in tables[kind][tables[kind]["project_id"] == case_id].to_dict("records"):
            if row["change"] == "changed":
                words.append(f"{label} {row['row']} changed: {row['field']} {row['old'] or '–'} → {row['new'] or '–'}")
            elif row["change"] == "added":
                words.append(f"{label} added: {row['row']} ({str(row['new']).strip()})")
            else:
                words.append(f"{label} removed: {row['row']} ({str(row['old']).strip()})")
    return words


def compare(previous: dict[str, Any], current: dict[str, Any], changes: Any = None) -> dict[str, pd.DataFrame]:
    """The tables of ``SinceLastRun`` from two snapshots (and the release diff between them, when known)."""
    before_sel, now_sel = previous["selection"], current["selection"]
    before_selected, now_selected = set(previous["selected"]), set(current["selected"])
    added = set(changes.projects.loc[changes.projects["change"] == "added", "project_id"]) if changes else set()
    removed = set(changes.projects.loc[changes.projects["change"] == "removed", "project_id"]) if changes else set()
    document_kinds = ("fields", "documents", "sources")

    def fate(case: dict[str, Any] | None) -> str:
        if case is None:
            return "not in INDIGO"
        return case["step"] if case["step"] == "selected" else f"excluded at '{case['step']}': {case['reason']}"

    entered = []
    for case_id in sorted(now_selected - before_selected):
        old = before_sel.get(case_id)
        if case_id in added or old is None:
            why = "new in INDIGO in this release"
        else:
            found = _changes_of(changes, case_id, document_kinds)
            if old.get("documents") != now_sel[case_id].get("documents"):
                found.insert(0, f"distinct documents {old.get('documents')} → {now_sel[case_id].get('documents')}")
            why = "; ".join(found) or "no change to its INDIGO record found (the study file changed?)"
        entered.append((case_id, now_sel[case_id]["name"], fate(old), why))
    left = []
    for case_id in sorted(before_selected - now_selected):
        now = now_sel.get(case_id)
        if case_id in removed or now is None:
            why = "no longer in INDIGO"
        else:
            found = _changes_of(changes, case_id, document_kinds)
            if before_sel[case_id].get("documents") != now.get("documents"):
                found.insert(0, f"distinct documents {before_sel[case_id].get('documents')} → {now.get('documents')}")
            why = "; ".join(found) or "no change to its INDIGO record found (the study file changed?)"
        left.append((case_id, before_sel[case_id]["name"], fate(now), why))
    moved = []
    for case_id in sorted(before_selected & now_selected):
        old, new = previous["classes"].get(case_id, {}), current["classes"].get(case_id, {})
        if old.get("class") == new.get("class"):
            continue
        behind = _changes_of(changes, case_id, ("results", "outcome_payments", "outcome_metrics"))
        if not behind:
            behind = ["INDIGO's changes not known (earlier release not held)" if changes is None
                      else "no change to its results or payments (the study file changed?)"]
        moved.append((case_id, now_sel[case_id]["name"], old.get("class"), new.get("class"),
                      old.get("achievement_ratio"), new.get("achievement_ratio"), old.get("payment_ratio"),
                      new.get("payment_ratio"), "; ".join(behind)))
    themes = _themes(previous, current)
    names = {**previous.get("theme_names", {}), **current.get("theme_names", {})}
    before_findings = {row["theme"]: row for row in previous["findings"]}
    now_findings = {row["theme"]: row for row in current["findings"]}
    beside = []
    for theme in [*now_findings, *(t for t in before_findings if t not in now_findings)]:
        b, n = before_findings.get(theme, {}), now_findings.get(theme, {})
        d_b, d_n = b.get("difference_pp"), n.get("difference_pp")
        beside.append((theme, names.get(theme, theme), d_b, b.get("q"), d_n, n.get("q"),
                       None if d_b is None or d_n is None else d_n - d_b))
    return {
        "entered": pd.DataFrame(entered, columns=["case_id", "name", "before", "why"]),
        "left": pd.DataFrame(left, columns=["case_id", "name", "now", "why"]),
        "classes": pd.DataFrame(moved, columns=["case_id", "name", "before", "now", "achievement_before",
                                                "achievement_now", "payment_before", "payment_now", "behind"]),
        "themes": themes,
        "findings": pd.DataFrame(beside, columns=["theme", "name", "difference_before", "q_before", "difference_now",
                                                  "q_now", "change_pp"]),
    }


def _themes(previous: dict[str, Any], current: dict[str, Any]) -> pd.DataFrame:
    """Themes whose shares among successful and struggling cases moved, with the cases that moved them."""
    names = {**previous.get("theme_names", {}), **current.get("theme_names", {})}
    before = {row["theme"]: row for row in previous["findings"]}
    now = {row["theme"]: row for row in current["findings"]}

    def role(snap: dict[str, Any], case_id: str) -> str | None:
        cls = snap["classes"].get(case_id, {}).get("class")
        return cls if case_id in set(snap["selected"]) and cls in COMPARED else None

    rows = []
    for theme in [*now, *(t for t in before if t not in now)]:
        b, n = before.get(theme), now.get(theme)
        keys = ("share_successful", "share_struggling")  # group sizes alone moving is not an association moving
        if b is not None and n is not None and all(_same(b.get(k), n.get(k)) for k in keys):
            continue
        had = set(previous["associated"].get(theme, []))
        has = set(current["associated"].get(theme, []))
        cases = []
        for case_id in sorted(had | has):
            old_role, new_role = role(previous, case_id), role(current, case_id)
            old_on, new_on = case_id in had and old_role, case_id in has and new_role
            if (old_role, bool(old_on)) == (new_role, bool(new_on)):
                continue
            if old_role and not new_role:
                cases.append(f"{case_id} ({old_role}) left the comparison")
            elif new_role and not old_role:
                cases.append(f"{case_id} ({new_role}) entered the comparison")
            elif old_role != new_role:
                cases.append(f"{case_id} moved {old_role} → {new_role}")
            else:
                cases.append(f"{case_id} ({new_role}) {'now' if new_on else 'no longer'} associated")
        sizes = (f"groups of {_n(b, 'n_successful')} → {_n(n, 'n_successful')} successful and "
                 f"{_n(b, 'n_struggling')} → {_n(n, 'n_struggling')} struggling cases")
        rows.append((theme, names.get(theme, theme), _share(b), _share(n),
                     "; ".join(cases) if cases else f"{sizes}; no case associated with it moved"))
    return pd.DataFrame(rows, columns=["theme", "name", "before", "now", "cases"])


def _run_row(results: Any, tables_sha256: str) -> dict[str, Any]:
    release = release_of(results.study.dataset())
    return {"release_name": release.name, "release_date": release.date, "release_label": release.label,
            "release_sha256": release.sha256, "tables_sha256": tables_sha256,
            "study_sha256": results.study.content_hash(), "sibkit_version": __version__,
            "snapshot": snapshot(results)}


def since_last_run(results: Any, store: Any, tables_sha256: str) -> SinceLastRun | None:
    """Compare with the latest earlier run on other INDIGO tables (None when there is none), then remember
    this run. ``tables_sha256`` is the hash of the typed tables (the report's inputs)."""
    from sqlalchemy import select

    from sibkit.store import with_retry
    from sibkit.store.models import Run

    row = _run_row(results, tables_sha256)
    with store.session() as session:
        earlier = session.execute(select(Run).where(Run.tables_sha256 != tables_sha256)
                                  .order_by(Run.id.desc()).limit(1)).scalar_one_or_none()
        previous = None if earlier is None else {
            "release_label": earlier.release_label, "release_date": earlier.release_date,
            "release_sha256": earlier.release_sha256, "at": earlier.at.strftime("%Y-%m-%d %H:%M"),
            "snapshot": earlier.snapshot}

    def remember() -> None:
        with store.session(write=True) as session:
            session.add(Run(**row))

    with_retry(remember, what="remember this run")
    if previous is None:
        return None
    notes: list[str] = []
    changes = _release_diff(results.study.dataset(), previous["release_sha256"], notes)
    tables = compare(previous["snapshot"], row["snapshot"], changes)
    release_lines = changes.summary_lines() if changes is not None else []
    return SinceLastRun(previous={k: v for k, v in previous.items() if k != "snapshot"},
                        current={"release_label": row["release_label"], "release_date": row["release_date"]},
                        release_changes=release_lines, notes=notes, **tables)


def _release_diff(dataset: Any, previous_sha256: str, notes: list[str]) -> Any:
    """The changes from the earlier run's release to this one, when that release is still held."""
    from sibkit.indigo.loader import load
    from sibkit.releases.diff import diff
    from sibkit.releases.store import held

    for release in held():
        if release.sha256 == previous_sha256:
            return diff(load(release.label), dataset)
    notes.append("The earlier run's release is no longer held (`sibkit data list`): what changed in INDIGO for each "
                 "case cannot be said, only what changed in the study's results.")
    return None
