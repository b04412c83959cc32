"""Case selection: the study's criteria applied in order, with the flow of exclusions.

A case's *distinct documents* are the union of the INDIGO documents and sources listed for it,
de-duplicated by normalised URL (scheme, ``www.``, trailing slash, fragment, tracking parameters and
an access-date note ignored; search-engine wrappers and known redirectors such as
``google.com/url?q=...`` decoded to the address they lead to, with no network) or, without a URL, by
normalised title (page references such as "page 6" ignored); documents held in the study's corpus
are added by the caller (``extra_documents``). A ``min_documents`` step counts only the kinds of
document the study names (``sibkit.kinds``), and items without a URL or a title only when it says so.
"""

from __future__ import annotations

import base64
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit

import pandas as pd

from sibkit import kinds as vocabulary
from sibkit.errors import SibkitError
from sibkit.indigo import Dataset, derived
from sibkit.study.model import Step, Study

_URL = re.compile(r"https?://[^\s<>\"\]\)]+", re.IGNORECASE)
_ACCESS_NOTE = re.compile(r"[\[(]\s*(?:last\s+)?access(?:ed)?\b[^\])]*[\])]", re.IGNORECASE)
_NON_WORD = re.compile(r"[\W_]+")
_PAGE_REFERENCE = re.compile(r"\b(?:pp?\.|pages?\b|slides?\b)\s*\d+(?:\s*(?:-|–|,|&|and)\s*\d+)*", re.IGNORECASE)
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: query parameters that only say how a reader arrived (campaign and click identifiers)
TRACKING_PARAMETERS = frozenset({"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
                                 "mc_cid", "mc_eid", "_hsenc", "_hsmi", "_ga", "_gl", "ved", "usg"})
MAX_UNWRAP = 5  # wrappers inside wrappers, at most


def _query_target(parts: SplitResult, *names: str) -> str | None:
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in names and value.strip().lower().startswith(("http://", "https://", "www.")):
            return value.strip()
    return None


def _bing_target(parts: SplitResult) -> str | None:
    for key, value in parse_qsl(parts.query):
        if key == "u" and value.startswith("a1"):
            encoded = value[2:]
            try:
                decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return None
            return decoded if decoded.startswith(("http://", "https://")) else None
    return None


def _proofpoint_v2(parts: SplitResult) -> str | None:
    for key, value in parse_qsl(parts.query):
        if key == "u":
            target = unquote(value.replace("-", "%").replace("_", "/"))
            return target if target.startswith(("http://", "https://")) else None
    return None


_AFTER_PREFIX = re.compile(r"^/(?:web|save)/[0-9]{0,14}(?:[a-z]{2}_)?\*?/(?P<url>(?:https?:/?/?)?.+)$", re.IGNORECASE)
_PROOFPOINT_V3 = re.compile(r"^/v3/__(?P<url>.+?)__;", re.IGNORECASE)
_GOOGLE = re.compile(r"google\.(?:com|[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})")
_CACHE_ID = re.compile(r"^(?!https?:)[\w-]+:(?!//)")
_YAHOO = re.compile(r"/RU=(?P<url>[^/]+)/R[KS]=", re.IGNORECASE)


def unwrap_url(url: str) -> str:
    """The address a known redirector or search-engine wrapper leads to (decoded from the URL
    itself, no network), else ``url``: Google's ``/url?q=`` (also ``url=``), Bing's ``/ck/a?u=a1...``,
    Facebook's ``l.php?u=``, LinkedIn's and Outlook Safe Links' ``url=``, DuckDuckGo's ``uddg=``,
    Yahoo's ``/RU=.../RK=``, Proofpoint URL Defense (v2 and v3), Google's web cache, and Wayback
    Machine copies (``web.archive.org/web/<time>/<url>``: the same document as ``<url>``)."""
    for _ in range(MAX_UNWRAP):
        target = _unwrap_once(url)
        if target is None or target == url:
            return url
        url = target if "://" in target else "http://" + target
    return url


def _unwrap_once(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower().removeprefix("www.")
    except ValueError:
        return None
    path = parts.path
    if _GOOGLE.fullmatch(host) and path in ("/url", "/imgres"):
        return _query_target(parts, "q", "url", "imgurl")
    if host == "bing.com" and path.startswith("/ck/"):
        return _bing_target(parts)
    if host in ("l.facebook.com", "lm.facebook.com", "m.facebook.com", "facebook.com") and path == "/l.php":
        return _query_target(parts, "u")
    if host == "linkedin.com" and path.startswith("/redir/"):
        return _query_target(parts, "url")
    if host.endswith("safelinks.protection.outlook.com"):
        return _query_target(parts, "url")
    if host in ("duckduckgo.com", "html.duckduckgo.com") and path.startswith("/l/"):
        return _query_target(parts, "uddg")
    if host.endswith("search.yahoo.com") and (match := _YAHOO.search(path)):
        return unquote(match.group("url"))
    if host == "urldefense.proofpoint.com" and path.startswith("/v2/url"):
        return _proofpoint_v2(parts)
    if host == "urldefense.com" and (match := _PROOFPOINT_V3.match(path)):
        return match.group("url")
    if host == "webcache.googleusercontent.com":
        for key, value in parse_qsl(parts.query):
            if key == "q" and value.startswith("cache:"):
                rest = _CACHE_ID.sub("", value.removeprefix("cache:"), count=1)
                return rest.split(" ", 1)[0] or None
    if host == "web.archive.org" and (match := _AFTER_PREFIX.match(path + (f"?{parts.query}" if parts.query else ""))):
        target = match.group("url")
        return re.sub(r"^(https?):/+", r"\1://", target, flags=re.IGNORECASE)
    return None


def _percent(match: re.Match[str]) -> str:
    character = chr(int(match.group(1), 16))
    return character if character in _UNRESERVED else "%" + match.group(1).upper()


def normalise_url(url: str) -> str:
    """``https://www.Example.org/a/b/?x=1#top`` -> ``example.org/a/b?x=1``; a wrapped address is
    unwrapped first (``unwrap_url``), tracking parameters (``utm_*``, ``fbclid``, ...) are dropped and
    the others sorted, percent-escapes of plain characters decoded."""
    url = _ACCESS_NOTE.sub("", url).strip().rstrip(".,;")
    url = unwrap_url(url)
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host = (parts.hostname or "").lower().removeprefix("www.")
        port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    except ValueError:  # a port out of range, an unclosed [IPv6 bracket: keep the text as its own key
        return " ".join(url.lower().split())
    path = _PERCENT.sub(_percent, parts.path).rstrip("/")
    pairs = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
             if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMETERS]
    query = f"?{urlencode(sorted(pairs))}" if pairs else ""
    return f"{host}{port}{path}{query}"


@functools.lru_cache(maxsize=65536)
def normalise_title(title: str) -> str:
    """Case-, accent-, punctuation- and spacing-insensitive form of a title; page references
    ("page 6", "pp. 3-5", "slide 6") and access-date notes left out."""
    text = _ACCESS_NOTE.sub("", title)
    text = _PAGE_REFERENCE.sub(" ", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def has_title(title: str | None) -> bool:
    """Whether a listed item has a title besides its address (and an access-date note)."""
    if not title:
        return False
    return bool(normalise_title(_URL.sub(" ", title)))


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
    normalised = normalise_title(title) if title else ""
    return "title:" + normalised if normalised else None


def _text(value: object) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def reading_list(dataset: Dataset) -> pd.DataFrame:
    """Every project's candidate documents, de-duplicated per project (cached on the dataset):
    case_id, key, title, url, listed_in, source_type, archive_url, kind (``sibkit.kinds`` id), titled."""
    def build() -> pd.DataFrame:
        from sibkit import memo
        from sibkit.indigo.typed_cache import content_key

        content = content_key(dataset)
        if content is None:
            return _build_reading_list(dataset)
        return memo.memoised(memo.key(("reading_list", content), modules=("sibkit.study.selection", "sibkit.kinds"),
                                      libraries=("pandas",)), lambda: _build_reading_list(dataset))

    return dataset.cached("reading_list", build)


_VAGUE_KINDS = ("web_page", "other")


def _kind_of_group(found: pd.Series) -> str:
    """One kind for the rows INDIGO lists for one document: the first that is not vague."""
    values = list(found)
    return next((kind for kind in values if kind not in _VAGUE_KINDS), values[0])


def _build_reading_list(dataset: Dataset) -> pd.DataFrame:
    rows = []
    for doc in dataset.documents.itertuples(index=False):
        url, title = _text(doc.url), _text(doc.title)
        rows.append((doc.project_id, document_key(url, title), title, url, "documents", None, None,
                     vocabulary.infer_kind(title, url)))
    for src in dataset.sources.itertuples(index=False):
        name = _text(src.name)
        archive = _text(src.archive_url)
        url = _text(src.url) or find_url(name) or archive
        rows.append((src.project_id, document_key(url, name), name, url, "sources", _text(src.type),
                     archive if archive != url else None, vocabulary.infer_kind(name, url, _text(src.type))))
    frame = pd.DataFrame(rows, columns=["case_id", "key", "title", "url", "listed_in", "source_type", "archive_url",
                                        "kind"])
    frame = frame.dropna(subset=["key"])
    frame["titled"] = frame["title"].map(has_title)
    grouped = frame.groupby(["case_id", "key"], sort=False).agg(
        title=("title", "first"), url=("url", "first"),
        listed_in=("listed_in", lambda s: "+".join(sorted(set(s)))), source_type=("source_type", "first"),
        archive_url=("archive_url", "first"), kind=("kind", _kind_of_group), titled=("titled", "any"),
    ).reset_index()
    return grouped


def distinct_documents(dataset: Dataset, project_id: str) -> pd.DataFrame:
    """The candidate reading list of one case: key, title, url, listed_in, source_type (INDIGO's),
    archive_url (a web archive copy, when INDIGO gives one besides the live URL), kind, titled."""
    frame = reading_list(dataset)
    return frame[frame["case_id"] == project_id].drop(columns="case_id").reset_index(drop=True)


@dataclass(frozen=True)
class HeldDocument:
    """A document held (readable) in the study's corpus, as the selection counts it."""

    key: str
    kind: str = vocabulary.OTHER  # a ``sibkit.kinds`` id
    title: str = ""


#: per case, its held documents (a bare key stands for a document of kind "other")
ExtraDocuments = Mapping[str, Iterable["str | HeldDocument"]]


@dataclass(frozen=True)
class Counting:
    """What a ``min_documents`` step counts."""

    minimum: int
    kinds: tuple[str, ...]
    without_url: bool = False
    without_title: bool = False

    @classmethod
    def of(cls, step: Step | None) -> Counting:
        if step is None or step.min_documents is None:
            return cls(0, vocabulary.STUDY_KINDS)
        return cls(step.min_documents, step.counted_kinds, bool(step.without_url), bool(step.without_title))

    @property
    def every_kind(self) -> bool:
        return set(self.kinds) >= set(vocabulary.IDS)

    def why_not(self, kind: str, held: bool, url: bool, titled: bool) -> str:
        """Why a document does not count ("" when it does)."""
        if kind not in self.kinds:
            return "kind not counted"
        if held:
            return ""
        if not url and not self.without_url:
            return "no URL"
        if not titled and not self.without_title:
            return "no title"
        return ""

    def phrase(self) -> str:
        """The documents counted, in words: ``evaluations, reviews or academic articles (with a URL and a title)``."""
        what = "distinct documents of any kind" if self.every_kind else vocabulary.phrase(self.kinds)
        needs = [n for n, off in (("a URL", self.without_url), ("a title", self.without_title)) if not off]
        return what + (f" (listed with {' and '.join(needs)}, or held in the corpus)" if needs else "")


ITEM_COLUMNS = ["case_id", "key", "title", "url", "kind", "kind_label", "listed_in", "listed", "held", "counted",
                "why_not_counted"]
KIND_COLUMNS = ["kind", "kind_label", "counted_kind", "documents", "listed", "held", "counted",
                "not_counted_kind", "not_counted_no_url", "not_counted_no_title"]


@dataclass
class Selection:
    """The result of applying a study's criteria.

    For the report's first paragraph: ``kinds_counted`` (kind ids; ``kinds_counted_labels``),
    ``counting`` (the rule: minimum, kinds, whether items without URL or title count),
    ``kind_table()`` (per kind: listed, held, counted, and why the rest did not count, for the
    selected cases or any others) and ``cases["counted_documents"]``."""

    flow: pd.DataFrame  # step, criterion, in, excluded, added, out, reason, excluded_ids, added_ids, counts
    cases: pd.DataFrame  # case_id, name, step, reason, distinct_documents, counted_documents, counted, not_counted
    selected: list[str]
    documents: pd.DataFrame  # case_id, distinct_documents, counted_documents (for every project)
    items: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ITEM_COLUMNS))  # every document
    counting: Counting | None = None  # the (last) min_documents step's rule; None without one
    entering: list[list[str]] = field(default_factory=list)  # per flow row, the cases that entered the step

    @property
    def kinds_counted(self) -> tuple[str, ...]:
        return self.counting.kinds if self.counting is not None else ()

    @property
    def kinds_counted_labels(self) -> list[str]:
        return vocabulary.labels(self.kinds_counted)

    def kind_table(self, case_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Per kind, over the documents of ``case_ids`` (default: the selected cases): documents,
        listed by INDIGO, held in the corpus, counted, and not counted for each reason."""
        return kind_table(self.items, self.selected if case_ids is None else case_ids,
                          self.counting or Counting.of(None))

    def to_json(self) -> dict[str, object]:
        flow = []
        for r, entering in zip(self.flow.to_dict("records"), self.entering or [[]] * len(self.flow), strict=True):
            entry: dict[str, object] = {
                "step": r["step"], "in": int(r["in"]), "excluded": int(r["excluded"]), "out": int(r["out"]),
                "reason": r["reason"], "excluded_ids": list(r["excluded_ids"]),
                **({"added": int(r["added"]), "added_ids": list(r["added_ids"])} if r["added"] else {})}
            if r["criterion"] == "min_documents":
                entry["counts"] = r["counts"]
                entry["by_kind"] = [{k: _plain(v) for k, v in row.items()}
                                    for row in kind_table(self.items, entering, self.counting or Counting.of(None))
                                    .to_dict("records")]
            flow.append(entry)
        counted = self.cases.set_index("case_id")
        return {"flow": flow, "selected": list(self.selected),
                "kinds_counted": list(self.kinds_counted),
                "documents": {cid: {"distinct": int(counted.at[cid, "distinct_documents"]),
                                    "counted": int(counted.at[cid, "counted_documents"]),
                                    "counted_by_kind": counted.at[cid, "counted"],
                                    "not_counted": counted.at[cid, "not_counted"]} for cid in self.selected}}


def _plain(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()  # type: ignore[union-attr]
    return value


def kind_table(items: pd.DataFrame, case_ids: Iterable[str], counting: Counting) -> pd.DataFrame:
    """See ``Selection.kind_table``; kinds in the vocabulary's order, only those present."""
    wanted = set(case_ids)
    own = items[items["case_id"].isin(wanted)]
    counted_kinds = set(counting.kinds)
    rows = []
    for kind in vocabulary.IDS:
        mine = own[own["kind"] == kind]
        if mine.empty:
            continue
        why = mine["why_not_counted"]
        rows.append({"kind": kind, "kind_label": vocabulary.label(kind), "counted_kind": kind in counted_kinds,
                     "documents": len(mine), "listed": int(mine["listed"].sum()), "held": int(mine["held"].sum()),
                     "counted": int(mine["counted"].sum()),
                     "not_counted_kind": int((why == "kind not counted").sum()),
                     "not_counted_no_url": int((why == "no URL").sum()),
                     "not_counted_no_title": int((why == "no title").sum())})
    return pd.DataFrame(rows, columns=KIND_COLUMNS)


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
        counting = Counting.of(step)
        if counting.every_kind and counting.without_url and counting.without_title:
            label = f"at least {step.min_documents} distinct documents"
            reason = f"fewer than {step.min_documents} distinct documents"
        else:
            label = f"at least {step.min_documents} counted documents"
            reason = f"fewer than {step.min_documents} {counting.phrase()}"
    elif criterion == "include":
        label, reason = "explicitly included", ""
    else:
        label, reason = "explicitly excluded", "excluded by the study"
    return step.name or label, reason


def _held(extra: Iterable[str | HeldDocument]) -> list[HeldDocument]:
    return [item if isinstance(item, HeldDocument) else HeldDocument(str(item)) for item in extra]


def document_items(dataset: Dataset, extra_documents: ExtraDocuments | None, counting: Counting) -> pd.DataFrame:
    """Every project's documents (listed by INDIGO, held in the corpus, or both), one row per distinct
    document, with its kind and whether ``counting`` counts it (``why_not_counted`` otherwise)."""
    listing = reading_list(dataset)
    records: dict[tuple[str, str], dict[str, object]] = {}
    for row in listing.to_dict("records"):
        records[(row["case_id"], row["key"])] = {
            "case_id": row["case_id"], "key": row["key"], "title": row["title"], "url": row["url"],
            "kind": row["kind"], "listed_in": row["listed_in"], "listed": True, "held": False,
            "_url": row["url"] is not None and row["url"] == row["url"], "_titled": bool(row["titled"])}
    for case_id, extra in (extra_documents or {}).items():
        for held in _held(extra):
            entry = records.get((case_id, held.key))
            if entry is None:
                records[(case_id, held.key)] = {
                    "case_id": case_id, "key": held.key, "title": held.title or None, "url": None, "kind": held.kind,
                    "listed_in": "", "listed": False, "held": True, "_url": False, "_titled": True}
            else:
                entry["held"] = True
                if held.kind != vocabulary.OTHER:
                    entry["kind"] = held.kind
    rows = []
    for entry in records.values():
        why = counting.why_not(str(entry["kind"]), bool(entry["held"]), bool(entry["_url"]), bool(entry["_titled"]))
        rows.append({**{k: v for k, v in entry.items() if not k.startswith("_")},
                     "kind_label": vocabulary.label(str(entry["kind"])), "counted": not why, "why_not_counted": why})
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


@dataclass
class _Tally:
    documents: int = 0
    counted: dict[str, int] = field(default_factory=dict)
    kinds_out: dict[str, int] = field(default_factory=dict)
    no_url: int = 0
    no_title: int = 0


def _summaries(items: pd.DataFrame) -> dict[str, tuple[int, int, str, str]]:
    """Per case: (distinct documents, counted documents, counted by kind, not counted and why), e.g.
    ``evaluation 2; case study 1`` and ``kinds not counted: web page 3, report 1; no URL: 2``."""
    order = {kind: i for i, kind in enumerate(vocabulary.IDS)}
    tallies: dict[str, _Tally] = {}
    for case_id, kind, counted, why in zip(items["case_id"], items["kind"], items["counted"],
                                           items["why_not_counted"], strict=True):
        tally = tallies.setdefault(str(case_id), _Tally())
        tally.documents += 1
        if counted:
            tally.counted[kind] = tally.counted.get(kind, 0) + 1
        elif why == "kind not counted":
            tally.kinds_out[kind] = tally.kinds_out.get(kind, 0) + 1
        elif why == "no URL":
            tally.no_url += 1
        else:
            tally.no_title += 1

    def listing(found: dict[str, int]) -> str:
        return ", ".join(f"{vocabulary.label(k)} {n}" for k, n in sorted(found.items(),
                                                                           key=lambda kv: order.get(kv[0], 99)))

    out: dict[str, tuple[int, int, str, str]] = {}
    for case_id, tally in tallies.items():
        parts = [f"kinds not counted: {listing(tally.kinds_out)}"] if tally.kinds_out else []
        parts += [f"{why}: {n}" for why, n in (("no URL", tally.no_url), ("no title", tally.no_title)) if n]
        out[case_id] = (tally.documents, sum(tally.counted.values()), listing(tally.counted).replace(", ", "; "),
                        "; ".join(parts))
    return out


def select(study: Study, dataset: Dataset | None = None, extra_documents: ExtraDocuments | None = None) -> Selection:
    """Apply the study's selection steps in order and record who left at which step and why."""
    dataset = dataset if dataset is not None else study.dataset()
    projects = derived(dataset).set_index("id", drop=False)
    document_steps = [step for step in study.selection if step.min_documents is not None]
    counting = Counting.of(document_steps[-1]) if document_steps else None
    items = document_items(dataset, extra_documents, counting or Counting.of(None))
    final = _summaries(items)
    summaries = {id(step): (final if Counting.of(step) == counting else
                            _summaries(document_items(dataset, extra_documents, Counting.of(step))))
                 for step in document_steps}

    _check_values(study, projects)
    rows = projects.to_dict("index")  # one lookup per case and step (a pandas row lookup costs 100 times more)

    current = list(projects.index)
    flow_rows = []
    entering: list[list[str]] = []
    fate: dict[str, tuple[str, str]] = {}
    for step in study.selection:
        label, reason = describe_step(step)
        before = list(current)
        criterion = step.criterion
        reasons: dict[str, str] = {}
        counts_text = Counting.of(step).phrase() if criterion == "min_documents" else ""
        if criterion == "include":
            wanted = [item.id for item in step.include or []]
            present = set(current)
            added = [pid for pid in wanted if pid not in present]
            current = current + added
            for item in step.include or []:
                fate.pop(item.id, None)
            flow_rows.append((label, criterion, len(before), 0, len(added), len(current),
                              "; ".join(f"{i.id}: {i.reason}" for i in step.include or [] if i.reason), [], added,
                              counts_text))
            entering.append(before)
            continue
        if criterion == "exclude":
            reasons = {item.id: item.reason or reason for item in step.exclude or []}
            keep = [pid for pid in current if pid not in reasons]
        else:
            own = summaries.get(id(step), {})
            keep = []
            for pid in current:
                counted = own.get(pid, (0, 0, "", ""))
                if _passes(step, rows[pid], counted[1]):
                    keep.append(pid)
                else:
                    reasons[pid] = f"{reason}: {_found(step, rows[pid], counted)}"
        kept = set(keep)
        dropped = [pid for pid in current if pid not in kept]
        for pid in dropped:
            fate[pid] = (label, reasons.get(pid, reason))
        current = keep
        flow_rows.append((label, criterion, len(before), len(dropped), 0, len(current), reason, dropped, [],
                          counts_text))
        entering.append(before)
    flow = pd.DataFrame(flow_rows, columns=["step", "criterion", "in", "excluded", "added", "out", "reason",
                                            "excluded_ids", "added_ids", "counts"])
    case_rows = []
    chosen = set(current)
    for pid in projects.index:
        step_name, why = fate.get(pid, ("selected", "") if pid in chosen else ("", ""))
        distinct, counted, by_kind, not_counted = final.get(pid, (0, 0, "", ""))
        case_rows.append((pid, projects.at[pid, "name"], step_name, why, distinct, counted, by_kind, not_counted))
    cases = pd.DataFrame(case_rows, columns=["case_id", "name", "step", "reason", "distinct_documents",
                                             "counted_documents", "counted", "not_counted"])
    documents = cases[["case_id", "distinct_documents", "counted_documents"]].sort_values("case_id").reset_index(
        drop=True)
    return Selection(flow=flow, cases=cases, selected=current, documents=documents, items=items, counting=counting,
                     entering=entering)


def _check_values(study: Study, projects: pd.DataFrame) -> None:
    """Refuse values that can never match (a typo would otherwise silently exclude every case); country
    codes are checked when the study file is read (``Step``)."""
    from sibkit.indigo.values import unknown_value_problem

    source = study._path.name if study._path is not None else "study"
    known = set(projects.index)
    observed = {column: sorted({str(v) for v in projects[column].dropna()}) for column in ("stage", "sector")}
    for number, step in enumerate(study.selection):
        where = f"{source}: selection[{number}]"
        for listed in (step.include or []) + (step.exclude or []):
            if listed.id not in known:
                raise SibkitError(f"{where} ('{describe_step(step)[0]}') names project {listed.id!r}, which is not in "
                                  "the dataset; project ids look like INDIGO-POJ-0001")
        for column, given in (("stage", step.stages), ("sector", step.sectors)):
            values = observed[column]
            for value in given or []:
                if problem := unknown_value_problem(column, value, values):
                    raise SibkitError(f"{where}.{column}s: {problem}")


def _found(step: Step, project: Mapping[str, Any], documents: tuple[int, int, str, str]) -> str:
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
    distinct, counted, by_kind, not_counted = documents
    counting = Counting.of(step)
    if counting.every_kind and counting.without_url and counting.without_title:
        return f"{distinct} distinct document{'s' if distinct != 1 else ''}"
    text = f"{counted} counted" + (f" ({by_kind})" if by_kind else "")
    return text + (f"; not counted: {not_counted}" if not_counted else "")


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
