"""Case selection: the study's criteria applied in order, with the flow of exclusions.

A case's *distinct documents* are the union of the INDIGO documents and sources listed for it,
de-duplicated by normalised URL (scheme, ``www.``, trailing slash, fragment and an access-date
note ignored) or, without a URL, by normalised title; documents held in the study's corpus are
added by the caller (``extra_documents``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from sibkit.errors import SibkitError
from sibkit.indigo import Dataset, derived
from sibkit.study.model import Step, Study

_URL = re.compile(r"https?://[^\s<>\"\]\)]+", re.IGNORECASE)
_ACCESS_NOTE = re.compile(r"[\[(]\s*(?:last\s+)?access(?:ed)?\b[^\])]*[\])]", re.IGNORECASE)
_NON_WORD = re.compile(r"[\W_]+")


def normalise_url(url: str) -> str:
    """``https://www.Example.org/a/b/?x=1#top`` -> ``example.org/a/b?x=1``."""
    url = _ACCESS_NOTE.sub("", url).strip().rstrip(".,;")
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host = (parts.hostname or "").lower().removeprefix("www.")
        port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    except ValueError:  # a port out of range, an unclosed [IPv6 bracket: keep the text as its own key
        return " ".join(url.lower().split())
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{port}{path}{query}"


def normalise_title(title: str) -> str:
    """Case-, accent-, punctuation- and spacing-insensitive form of a title."""
    text = _ACCESS_NOTE.sub("", title)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def find_url(text: str | None) -> str | None:
    """The first http(s) URL in a free-text field, if any."""
    if not text:
        return None
    match = _URL.search(text)
    return match.group(0) if match else None


def document_key(url: str | None, title: str | None) -> str | None:
    """The identity of a document for de-duplication: its normalised URL, else its title."""
    if url and url.strip():
        return "url:" + normalise_url(url)
    if title and normalise_title(title):
        return "title:" + normalise_title(title)
    return None


def _text(value: object) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def reading_list(dataset: Dataset) -> pd.DataFrame:
    """Every project's candidate documents, de-duplicated per project (cached on the dataset)."""
    def build() -> pd.DataFrame:
        from sibkit import memo
        from sibkit.indigo.typed_cache import content_key

        content = content_key(dataset)
        if content is None:
            return _build_reading_list(dataset)
        return memo.memoised(memo.key(("reading_list", content), modules=("sibkit.study.selection",),
                                      libraries=("pandas",)), lambda: _build_reading_list(dataset))

    return dataset.cached("reading_list", build)


def _build_reading_list(dataset: Dataset) -> pd.DataFrame:
    rows = []
    for doc in dataset.documents.itertuples(index=False):
        url, title = _text(doc.url), _text(doc.title)
        rows.append((doc.project_id, document_key(url, title), title, url, "documents", None, None))
    for src in dataset.sources.itertuples(index=False):
        name = _text(src.name)
        archive = _text(src.archive_url)
        url = _text(src.url) or find_url(name) or archive
        rows.append((src.project_id, document_key(url, name), name, url, "sources", _text(src.type),
                     archive if archive != url else None))
    frame = pd.DataFrame(rows, columns=["case_id", "key", "title", "url", "listed_in", "source_type", "archive_url"])
    frame = frame.dropna(subset=["key"])
    grouped = frame.groupby(["case_id", "key"], sort=False).agg(
        title=("title", "first"), url=("url", "first"),
        listed_in=("listed_in", lambda s: "+".join(sorted(set(s)))), source_type=("source_type", "first"),
        archive_url=("archive_url", "first"),
    ).reset_index()
    return grouped


def distinct_documents(dataset: Dataset, project_id: str) -> pd.DataFrame:
    """The candidate reading list of one case: key, title, url, listed_in, source_type (INDIGO's),
    archive_url (a web archive copy, when INDIGO gives one besides the live URL)."""
    frame = reading_list(dataset)
    return frame[frame["case_id"] == project_id].drop(columns="case_id").reset_index(drop=True)


@dataclass
class Selection:
    """The result of applying a study's criteria."""

    flow: pd.DataFrame  # step, criterion, in, excluded, added, out, reason, excluded_ids, added_ids
    cases: pd.DataFrame  # case_id, name, step, reason (step where excluded, or "selected")
    selected: list[str]
    documents: pd.DataFrame  # case_id, distinct_documents (for every project)

    def to_json(self) -> dict[str, object]:
        flow = [{"step": r["step"], "in": int(r["in"]), "excluded": int(r["excluded"]), "out": int(r["out"]),
                 "reason": r["reason"], "excluded_ids": list(r["excluded_ids"]),
                 **({"added": int(r["added"]), "added_ids": list(r["added_ids"])} if r["added"] else {})}
                for r in self.flow.to_dict("records")]
        return {"flow": flow, "selected": list(self.selected)}


def describe_step(step: Step) -> tuple[str, str]:
    """(step label, reason given to the cases it excludes)."""
    criterion = step.criterion
    if criterion == "countries":
        label = f"delivered in {', '.join(step.countries or [])}"
        reason = f"not delivered in {', '.join(step.countries or [])}"
    elif criterion == "live_years":
        years = step.live_years
        assert years is not None
        span = f"{years.from_year or '…'}-{years.to_year or '…'}"
        label, reason = f"went live {span}", f"did not go live {span} (or no live date)"
    elif criterion == "stages":
        label, reason = f"stage {', '.join(step.stages or [])}", f"stage not {', '.join(step.stages or [])}"
    elif criterion == "sectors":
        label, reason = f"sector {', '.join(step.sectors or [])}", f"sector not {', '.join(step.sectors or [])}"
    elif criterion == "min_documents":
        label = f"at least {step.min_documents} distinct documents"
        reason = f"fewer than {step.min_documents} distinct documents"
    elif criterion == "include":
        label, reason = "explicitly included", ""
    else:
        label, reason = "explicitly excluded", "excluded by the study"
    return step.name or label, reason


def select(study: Study, dataset: Dataset | None = None,
           extra_documents: Mapping[str, Iterable[str]] | None = None) -> Selection:
    """Apply the study's selection steps in order and record who left at which step and why."""
    dataset = dataset if dataset is not None else study.dataset()
    projects = derived(dataset).set_index("id", drop=False)
    listing = reading_list(dataset)
    keys: dict[str, set[str]] = {}
    for case_id, key in zip(listing["case_id"], listing["key"], strict=True):
        keys.setdefault(case_id, set()).add(key)
    for case_id, extra in (extra_documents or {}).items():
        keys.setdefault(case_id, set()).update(extra)
    document_counts = {case_id: len(found) for case_id, found in keys.items()}

    _check_values(study, projects)
    rows = projects.to_dict("index")  # one lookup per case and step (a pandas row lookup costs 100 times more)

    current = list(projects.index)
    flow_rows = []
    fate: dict[str, tuple[str, str]] = {}
    for step in study.selection:
        label, reason = describe_step(step)
        before = list(current)
        criterion = step.criterion
        reasons: dict[str, str] = {}
        if criterion == "include":
            wanted = [item.id for item in step.include or []]
            present = set(current)
            added = [pid for pid in wanted if pid not in present]
            current = current + added
            for item in step.include or []:
                fate.pop(item.id, None)
            flow_rows.append((label, criterion, len(before), 0, len(added), len(current),
                              "; ".join(f"{i.id}: {i.reason}" for i in step.include or [] if i.reason), [], added))
            continue
        if criterion == "exclude":
            reasons = {item.id: item.reason or reason for item in step.exclude or []}
            keep = [pid for pid in current if pid not in reasons]
        else:
            keep = []
            for pid in current:
                if _passes(step, rows[pid], document_counts.get(pid, 0)):
                    keep.append(pid)
                else:
                    reasons[pid] = f"{reason}: {_found(step, rows[pid], document_counts.get(pid, 0))}"
        kept = set(keep)
        dropped = [pid for pid in current if pid not in kept]
        for pid in dropped:
            fate[pid] = (label, reasons.get(pid, reason))
        current = keep
        flow_rows.append((label, criterion, len(before), len(dropped), 0, len(current), reason, dropped, []))
    flow = pd.DataFrame(flow_rows, columns=["step", "criterion", "in", "excluded", "added", "out", "reason",
                                            "excluded_ids", "added_ids"])
    case_rows = []
    chosen = set(current)
    for pid in projects.index:
        step_name, why = fate.get(pid, ("selected", "") if pid in chosen else ("", ""))
        case_rows.append((pid, projects.at[pid, "name"], step_name, why, document_counts.get(pid, 0)))
    cases = pd.DataFrame(case_rows, columns=["case_id", "name", "step", "reason", "distinct_documents"])
    documents = pd.DataFrame(sorted(document_counts.items()), columns=["case_id", "distinct_documents"])
    return Selection(flow=flow, cases=cases, selected=current, documents=documents)


def _check_values(study: Study, projects: pd.DataFrame) -> None:
    """Refuse values that can never match (a typo would otherwise silently exclude every case)."""
    from sibkit.indigo.values import country_code_problem, unknown_value_problem

    source = study._path.name if study._path is not None else "study"
    known = set(projects.index)
    observed = {column: sorted({str(v) for v in projects[column].dropna()}) for column in ("stage", "sector")}
    for number, step in enumerate(study.selection):
        where = f"{source}: selection[{number}]"
        for listed in (step.include or []) + (step.exclude or []):
            if listed.id not in known:
                raise SibkitError(f"{where} ('{describe_step(step)[0]}') names project {listed.id!r}, which is not in "
                                  "the dataset; project ids look like INDIGO-POJ-0001")
        for code in step.countries or []:
            if problem := country_code_problem(code):
                raise SibkitError(f"{where}.countries: {problem}")
        for column, given in (("stage", step.stages), ("sector", step.sectors)):
            values = observed[column]
            for value in given or []:
                if problem := unknown_value_problem(column, value, values):
                    raise SibkitError(f"{where}.{column}s: {problem}")


def _found(step: Step, project: Mapping[str, Any], documents: int) -> str:
    """What the case has, for its reason in selection.csv (e.g. "went live 2014")."""
    criterion = step.criterion
    if criterion == "countries":
        return f"delivered in {', '.join(project['countries'])}" if len(project["countries"]) else "no country given"
    if criterion == "live_years":
        year = project["live_year"]
        return "no live date" if year is None or year is pd.NA else f"went live {year}"
    if criterion in ("stages", "sectors"):
        value = _text(project["stage" if criterion == "stages" else "sector"])
        return value or f"no {criterion[:-1]} given"
    return f"{documents} distinct document{'s' if documents != 1 else ''}"


def _passes(step: Step, project: Mapping[str, Any], documents: int) -> bool:
    criterion = step.criterion
    if criterion == "countries":
        return bool(set(step.countries or []) & set(project["countries"]))
    if criterion == "live_years":
        years = step.live_years
        assert years is not None
        year = project["live_year"]
        if year is None or year is pd.NA:
            return False
        return (years.from_year is None or year >= years.from_year) and (years.to_year is None
                                                                          or year <= years.to_year)
    if criterion == "stages":
        return _text(project["stage"]) is not None and str(project["stage"]).casefold() in {
            s.casefold() for s in step.stages or []}
    if criterion == "sectors":
        return _text(project["sector"]) is not None and str(project["sector"]).casefold() in {
            s.casefold() for s in step.sectors or []}
    if criterion == "min_documents":
        return documents >= (step.min_documents or 0)
    raise AssertionError(criterion)
