"""Kinds of document: one vocabulary for the whole toolkit.

Every kind has an ``id`` (what the database stores in ``documents.doc_type``, what ``corpus add
--type`` and a study's ``kinds:`` take; hyphens, spaces and capitals are accepted too) and a
``label`` (what tables, the report, ``fetch --plan`` and the workbench show). INDIGO's own source
types are mapped here once (:data:`INDIGO_SOURCE_TYPES`); where INDIGO gives none, the kind is read
from words of the title and the address (:func:`infer_kind`, the rules in :data:`_WORDS`).

The default kinds a study counts (:data:`STUDY_KINDS`) follow the published study, which counted
"reviews, evaluations, commentaries or academic articles"; case studies are counted with them (a
case study is a researcher's written review of one project). Reports of other kinds (council
papers, briefings, annual reports), news, web pages, contract notices, database entries,
correspondence and project updates are listed but not counted unless a study names them.

Pure standard library, no imports from the rest of sibkit: every area may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Kind:
    id: str
    label: str
    description: str
    plural: str = ""

    @property
    def many(self) -> str:
        """The label in the plural ("case studies")."""
        return self.plural or self.label + "s"


KINDS: tuple[Kind, ...] = (
    Kind("evaluation", "evaluation", "an evaluation report (interim or final)"),
    Kind("case_study", "case study", "a case study of the project (e.g. GO Lab's)", "case studies"),
    Kind("review", "review", "a review, in-depth review or lessons-learned paper"),
    Kind("commentary", "commentary", "a blog post, opinion piece or commentary", "commentaries"),
    Kind("article", "academic article", "an article in a journal, or a book chapter"),
    Kind("report", "report", "another report: council papers, briefings, annual reports, memoranda"),
    Kind("news", "news or press release", "a news story or a press release", "news or press releases"),
    Kind("contract_notice", "contract or notice", "a contract, tender or procurement notice", "contracts or notices"),
    Kind("data_record", "database or grant record", "an entry in a database, data portal or list of grants",
         "database or grant records"),
    Kind("web_page", "web page", "a page of an organisation's web site"),
    Kind("correspondence", "correspondence", "an email, interview or other exchange with the people involved",
         "items of correspondence"),
    Kind("project_update", "project update", "updates from the project or its fund (CBO updates, Hack and Learn)"),
    Kind("indigo_record", "INDIGO record", "the case's own INDIGO record (a database description)"),
    Kind("other", "other", "anything else", "other documents"),
)
BY_ID = {kind.id: kind for kind in KINDS}
IDS: tuple[str, ...] = tuple(BY_ID)
INDIGO_RECORD = "indigo_record"
OTHER = "other"

#: what a study's ``min_documents`` counts unless it names its own ``kinds``
STUDY_KINDS: tuple[str, ...] = ("evaluation", "case_study", "review", "commentary", "article")

#: INDIGO's source types (``projects_sources.csv``, Type) as kinds
INDIGO_SOURCE_TYPES = {"evaluation report": "evaluation", "report": "report", "press release": "news",
                       "news piece": "news", "contract": "contract_notice", "website": "web_page",
                       "email correspondence": "correspondence"}

# Words of a title or an address, tried in order; the first that matches decides.
_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bevaluat", re.IGNORECASE), "evaluation"),
    (re.compile(r"\bcase[ -]?stud", re.IGNORECASE), "case_study"),
    (re.compile(r"\b(review|lessons[ -]learn)", re.IGNORECASE), "review"),
    (re.compile(r"\b(journal|academic article|working paper|book chapter)\b", re.IGNORECASE), "article"),
    (re.compile(r"\b(blogs?|opinion|commentary)\b", re.IGNORECASE), "commentary"),
    (re.compile(r"\b(news|press release)", re.IGNORECASE), "news"),
    (re.compile(r"\b(contracts?|tender|notice)\b", re.IGNORECASE), "contract_notice"),
    (re.compile(r"\b(data portal|database|grantnav|awards spreadsheet|awards from|grant awards)\b", re.IGNORECASE),
     "data_record"),
    (re.compile(r"\b(report|memorandum|briefing|factsheet)\b", re.IGNORECASE), "report"),
    (re.compile(r"\b(e-?mail|correspondence|exchange with|communication with|interview with|clarifications? from|"
                r"clairifications? from)\b", re.IGNORECASE), "correspondence"),
    (re.compile(r"\b(updates?|hack and learn|requested changes)\b", re.IGNORECASE), "project_update"),
    (re.compile(r"\b(website|webpage|web page)\b", re.IGNORECASE), "web_page"),
)
_PATH_WORDS: tuple[tuple[str, str], ...] = (("case-stud", "case_study"), ("/blog", "commentary"),
                                            ("/news", "news"), ("press-release", "news"))
_NOTICE_HOSTS = ("contractsfinder.service.gov.uk", "find-tender.service.gov.uk", "ted.europa.eu")
_DATA_HOSTS = ("grantnav.threesixtygiving.org", "sibdatabase.socialfinance.org.uk")
_SEPARATORS = re.compile(r"[\s_-]+")


def label(kind_id: str | None) -> str:
    """The label of a kind id (an unknown id is shown as it is)."""
    if kind_id is None:
        return BY_ID[OTHER].label
    return BY_ID[kind_id].label if kind_id in BY_ID else kind_id


def shown(doc_type: object) -> str:
    """A document's stored kind as a page shows it: its label, "kind not stated" when empty, an unknown
    kind with its underscores as spaces."""
    if doc_type is None or doc_type != doc_type or not str(doc_type).strip():
        return "kind not stated"
    text = str(doc_type)
    return BY_ID[text].label if text in BY_ID else text.replace("_", " ")


def labels(kind_ids: Iterable[str]) -> list[str]:
    return [label(k) for k in kind_ids]


def phrase(kind_ids: Iterable[str]) -> str:
    """The kinds in words, plural, joined by "or": ``evaluations, reviews or academic articles``."""
    words = [BY_ID[k].many if k in BY_ID else k for k in kind_ids]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _folded(text: str) -> str:
    return _SEPARATORS.sub(" ", text.strip().casefold())


_ACCEPTED = {**{_folded(k.id): k.id for k in KINDS}, **{_folded(k.label): k.id for k in KINDS},
             "academic": "article", "articles": "article", "evaluations": "evaluation", "reviews": "review",
             "commentaries": "commentary", "case studies": "case_study", "reports": "report"}


def parse_kind(text: str) -> str:
    """The kind id for a name a person typed (an id or a label, any case, hyphens or spaces);
    ``ValueError`` naming every kind when it is none of them."""
    found = _ACCEPTED.get(_folded(str(text)))
    if found is None:
        raise ValueError(f"{text!r} is not a kind of document; kinds are {help_list()}")
    return found


def check_kind(text: str) -> str:
    """:func:`parse_kind` for a value a person gave (``--type``, a manifest's type): a ``SibkitError``
    listing every kind when it is none of them."""
    from sibkit.errors import SibkitError

    try:
        return parse_kind(text)
    except ValueError:
        raise SibkitError(f"document type {text!r} is not one of {', '.join(IDS)}") from None


def help_list() -> str:
    """Every kind id, for ``--help`` texts and error messages."""
    return ", ".join(IDS)


def infer_kind(title: str | None, url: str | None = None, source_type: str | None = None,
               declared: str | None = None) -> str:
    """The kind id of a listed or held document.

    In order: a kind declared when the document was added (unless ``other``); INDIGO's source type,
    except the vague "Website" and "Report", which the title may sharpen; the address (GO Lab case
    study pages, blogs and news paths, Contracts Finder / Find a Tender / TED notices, GrantNav and
    Social Finance's database); the words of the title, then of the address's path (:data:`_WORDS`, in
    order); INDIGO's vague type; otherwise ``web_page`` for an address that is not a file, ``other``.
    """
    if declared and declared in BY_ID and declared != OTHER:
        return declared
    indigo = INDIGO_SOURCE_TYPES.get(source_type.strip().casefold()) if source_type else None
    if indigo is not None and indigo not in ("web_page", "report"):
        return indigo
    parts = urlsplit(url) if url else None
    path = parts.path.casefold() if parts is not None else ""
    host = (parts.hostname or "") if parts is not None else ""
    for word, kind in _PATH_WORDS:
        if word in path:
            return kind
    if any(host == h or host.endswith("." + h) for h in _NOTICE_HOSTS):
        return "contract_notice"
    if any(host == h or host.endswith("." + h) for h in _DATA_HOSTS):
        return "data_record"
    for pattern, kind in _WORDS:
        if pattern.search(title or "") or pattern.search(path):
            return kind
    if indigo is not None:
        return indigo
    return "web_page" if url and not path.endswith((".pdf", ".docx", ".doc")) else OTHER
