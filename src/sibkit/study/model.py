"""The study file: one YAML file that declares every choice of a study, validated.

Sections: ``data``, ``selection`` (ordered steps), ``outcomes``, ``corpus``, ``codebook``,
``analysis``, ``qca``, ``report``, ``suggest``. Unknown keys are refused with a message naming the key.
"""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from sibkit.errors import SibkitError
from sibkit.words import counted
from sibkit.yamlfile import load_yaml


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class YearRange(Strict):
    from_year: int | None = Field(default=None, alias="from")
    to_year: int | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> YearRange:
        if self.from_year is not None and self.to_year is not None and self.from_year > self.to_year:
            raise ValueError(f"'from' ({self.from_year}) is after 'to' ({self.to_year})")
        return self


class Listed(Strict):
    id: str
    reason: str = ""


CRITERIA = ("countries", "live_years", "stages", "sectors", "min_documents", "include", "exclude")


DOCUMENT_OPTIONS = ("kinds", "without_url", "without_title")


class Step(Strict):
    """One step of the selection flow: exactly one criterion, and an optional name.

    ``min_documents`` counts a case's distinct documents of the ``kinds`` named (default: the published
    study's kinds, ``sibkit.kinds.STUDY_KINDS``; ``all`` for every kind); an item INDIGO lists without a
    URL, or without a title (only an address), counts only with ``without_url`` / ``without_title``
    (a document held in the corpus always has both: it is there to read)."""

    name: str | None = None
    countries: list[str] | None = None
    live_years: YearRange | None = None
    stages: list[str] | None = None
    sectors: list[str] | None = None
    min_documents: int | None = Field(default=None, ge=0)
    include: list[Listed] | None = None
    exclude: list[Listed] | None = None
    kinds: list[str] | Literal["all"] | None = None
    without_url: bool | None = None
    without_title: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Step:
        given = [c for c in CRITERIA if getattr(self, c) is not None]
        if len(given) != 1:
            raise ValueError(f"each step needs exactly one of {', '.join(CRITERIA)}; got {given or 'none'}")
        options = [o for o in DOCUMENT_OPTIONS if getattr(self, o) is not None]
        if options and given[0] != "min_documents":
            raise ValueError(f"{', '.join(options)} go with min_documents, not with {given[0]}")
        return self

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: list[str] | str | None) -> list[str] | str | None:
        from sibkit.kinds import parse_kind

        if value is None or value == "all":
            return value
        if not value:
            raise ValueError("kinds is empty; name at least one kind, or write `kinds: all`")
        return list(dict.fromkeys(parse_kind(kind) for kind in value))

    @property
    def counted_kinds(self) -> tuple[str, ...]:
        """The kind ids a ``min_documents`` step counts."""
        from sibkit.kinds import IDS, STUDY_KINDS

        if self.kinds == "all":
            return IDS
        return tuple(self.kinds) if self.kinds else STUDY_KINDS

    @property
    def criterion(self) -> str:
        return next(c for c in CRITERIA if getattr(self, c) is not None)

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: list[str] | None) -> list[str] | None:
        """Codes in upper case; a code that is no ISO 3166-1 country is refused here, when the file is read
        (``study check`` says so, not only ``select``): it could never match a project."""
        from sibkit.indigo.values import country_code_problem

        for code in value or []:
            if problem := country_code_problem(code):
                raise ValueError(problem)
        return [v.strip().upper() for v in value] if value is not None else None


RuleName = Literal["achievement", "payment"]


def tolerance_problem(value: float) -> str | None:
    """Why ``value`` is not a tolerance (a share between 0 and 1), with the likely meaning."""
    if 0 <= value < 1:
        return None
    if 1 <= value < 100:
        return f"tolerance {value:g} is not between 0 and 1; for {value:g}% write {value / 100:g}"
    return f"tolerance {value:g} is not between 0 and 1 (e.g. 0.15 for 15%)"


PaymentKind = Literal["outcome", "relief", "other"]
TargetKind = Literal["contracted", "cohort", "unknown"]


class Outcomes(Strict):
    tolerance: float = 0.15
    sensitivity: list[float] = Field(default_factory=lambda: [0.10, 0.15])
    rules: list[RuleName] = Field(default_factory=lambda: ["achievement", "payment"], min_length=1)
    classify_in_implementation: bool = True
    overrides: str | None = None  # a CSV, or the evidence workbook of `sibkit classify --evidence-template`
    # which reading of the outcome metrics the achievement rule uses: median ratio, weighted
    # achievement index (weights: maximum outcome payments), share of metrics at or above target
    index: Literal["median", "weighted", "share"] = "median"
    # which Actual payments count as outcome payments made (sibkit.outcomes.rules.payment_kind): outcome;
    # relief (COVID, grant or claim payments); other (partly something else). Those left out are listed.
    payment_kinds: list[PaymentKind] = Field(default_factory=lambda: ["outcome"], min_length=1)
    # which metric targets the achievement rule compares with (sibkit.outcomes.rules.target_kinds):
    # contracted, unknown, cohort (a cohort size, not a contracted expectation). Those left out are listed.
    target_kinds: list[TargetKind] = Field(default_factory=lambda: ["contracted", "unknown"], min_length=1)
    # interim evidence (a project still delivering, results not final): flag it (compared with the
    # lifetime target, and marked interim), pro_rata (compared with the target times the share of the
    # contract elapsed), or exclude (insufficient data)
    interim: Literal["flag", "pro_rata", "exclude"] = "flag"

    @field_validator("tolerance")
    @classmethod
    def _tolerance(cls, value: float) -> float:
        if problem := tolerance_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("sensitivity")
    @classmethod
    def _in_range(cls, value: list[float]) -> list[float]:
        for tolerance in value:
            if problem := tolerance_problem(tolerance):
                raise ValueError(problem)
        return value


class FetchPolicy(Strict):
    """How ``sibkit corpus fetch`` gathers the reading list (command-line options override)."""

    delay: float = Field(default=1.0, ge=0)          # seconds between requests to one host (or robots' Crawl-delay)
    timeout: float = Field(default=30.0, gt=0)       # overall seconds per download
    max_mb: float = Field(default=100.0, gt=0)       # largest file
    robots: bool = True                              # respect robots.txt
    follow_attachments: bool = True                  # follow a landing page to its PDF/DOCX attachments
    max_attachments: int = Field(default=20, ge=0)   # per landing page
    asset_hosts: dict[str, list[str]] = Field(default_factory=dict)  # landing site -> hosts of its files
    login_hosts: list[str] = Field(default_factory=list)             # login-only: marked "not public" unfetched
    allow_private: bool = False                      # also loopback, private and link-local addresses
    allow_networks: list[str] = Field(default_factory=list)          # or just these networks, e.g. 127.0.0.1/32

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP network (e.g. 127.0.0.1/32)") from None
        return value


class Corpus(Strict):
    database: str | None = None
    folder: str = "corpus"
    indigo_records: bool = True
    fetch: FetchPolicy = Field(default_factory=FetchPolicy)


class Presence(Strict):
    """When a case counts as *associated* with a theme."""

    min_references: int | None = Field(default=None, ge=1)
    min_rate: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_rule(self) -> Presence:
        if (self.min_references is None) == (self.min_rate is None):
            raise ValueError("give exactly one of min_references or min_rate")
        return self

    def label(self) -> str:
        if self.min_references is not None:
            return f"at least {counted(self.min_references, 'reference')}"
        return f"at least {self.min_rate:g} references per 10,000 words"


class Range(Strict):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"'low' ({self.low:g}) is above 'high' ({self.high:g})")
        return self


class Published(Strict):
    """A published result to set beside ours: a difference in percentage points (successful minus
    struggling) for each of ``themes`` (a parent theme stands for its children), or an overall
    relative association (how much less often struggling cases are associated, 0.2 = one fifth)."""

    source: str = Field(min_length=1)
    claim: str = ""
    themes: list[str] = Field(default_factory=list)
    difference_pp: Range | None = None
    overall_relative_association: Range | None = None

    @field_validator("difference_pp", "overall_relative_association", mode="before")
    @classmethod
    def _single_value(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"low": value, "high": value}
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Published:
        if (self.difference_pp is None) == (self.overall_relative_association is None):
            raise ValueError("give exactly one of difference_pp or overall_relative_association")
        if self.difference_pp is not None and not self.themes:
            raise ValueError("difference_pp needs the themes it was published for")
        return self


class Analysis(Strict):
    presence: Presence = Field(default_factory=lambda: Presence(min_references=1))
    alternative_presence: list[Presence] = Field(
        default_factory=lambda: [Presence(min_references=2), Presence(min_rate=5.0)])
    seed: int = 12345
    # upper bounds keep memory and time sane: each costs resamples x cases numbers per theme
    permutations: int = Field(default=9999, ge=99, le=100_000)
    bootstrap: int = Field(default=2000, ge=100, le=100_000)
    primary_themes: list[str] | None = None  # theme ids (a parent stands for its children); None: all themes
    published: list[Published] = Field(default_factory=list)
    # draws of the Monte Carlo that carries the instrument's measured error into the findings
    instrument_draws: int = Field(default=1000, ge=100, le=100_000)


class Anchors(Strict):
    """Direct-method calibration anchors (references per 10,000 words) for fuzzy-set QCA."""

    full_out: float
    crossover: float
    full_in: float

    @model_validator(mode="after")
    def _ordered(self) -> Anchors:
        if not (self.full_out < self.crossover < self.full_in or self.full_out > self.crossover > self.full_in):
            raise ValueError("the crossover must lie strictly between full_out and full_in")
        return self


class QcaRobustness(Strict):
    """The scenarios of the QCA robustness table: every anchor scale (all anchors, or the crisp threshold,
    multiplied by it) with every consistency cut-off (the study's own is always one of them)."""

    anchor_scales: list[float] = Field(default_factory=lambda: [0.5, 1.0, 2.0], min_length=1, max_length=8)
    consistency: list[float] = Field(default_factory=lambda: [0.75, 0.8, 0.9], min_length=1, max_length=8)

    @field_validator("anchor_scales")
    @classmethod
    def _positive(cls, values: list[float]) -> list[float]:
        if any(v <= 0 for v in values):
            raise ValueError("anchor scales must be above 0")
        return values

    @field_validator("consistency")
    @classmethod
    def _share(cls, values: list[float]) -> list[float]:
        if any(not 0 < v <= 1 for v in values):
            raise ValueError("consistency cut-offs must be in (0, 1]")
        return values


class Qca(Strict):
    """Qualitative Comparative Analysis: which combinations of themes go with the outcome.

    Memberships come from each theme's reference density (references that count after review, per
    10,000 words): crisp, in the set from the crossover anchor up; fuzzy, the direct method with all
    three anchors."""

    conditions: list[str] = Field(default_factory=list)   # theme ids
    outcome: Literal["successful", "struggling"] = "successful"
    fuzzy: bool = False
    anchors: Anchors = Field(default_factory=lambda: Anchors(full_out=0.5, crossover=2.0, full_in=8.0))
    theme_anchors: dict[str, Anchors] = Field(default_factory=dict)
    frequency: int = Field(default=1, ge=1)
    consistency: float = Field(default=0.8, gt=0, le=1)
    pri: float | None = Field(default=None, ge=0, le=1)
    expectations: dict[str, Literal["present", "absent"]] = Field(default_factory=dict)
    cases_per_row: float = Field(default=0.5, gt=0)
    # a condition with fewer than this share of the cases on one side of 0.5 is left out (near-constant)
    min_share: float = Field(default=0.1, ge=0, lt=0.5)
    robustness: QcaRobustness = Field(default_factory=QcaRobustness)


class Report(Strict):
    folder: str = "report"


class Suggest(Strict):
    """Suggested passages (``sibkit suggest``): which sentence-embedding model, thresholds, counting."""

    model: str = Field(default="packaged", min_length=1)  # packaged, hashing, or a sentence-transformers name
    threshold: float = Field(default=0.63, gt=-1, lt=1)  # chosen on the labelled dev half (benchmarks/eval_suggest.py)
    thresholds: dict[str, float] = Field(default_factory=dict)  # per theme, overriding ``threshold``
    best_theme_only: bool = True  # suggest a sentence only for the theme it is most similar to
    count_unreviewed: bool = False  # suggestions count in the comparison before a person accepts them
    min_decisions: int = Field(default=10, ge=2)  # accepted and rejected each, before re-ranking is learned

    def threshold_for(self, theme: str) -> float:
        return self.thresholds.get(theme, self.threshold)


class Reader(Strict):
    """The learned second reader (``sibkit codebook read``): which reader file, its thresholds, counting."""

    # auto: the study's own reader (``sibkit codebook train --study``) when there is one, else the reader
    # packaged for the study's codebook; a path; or ``none``
    model: str = Field(default="auto", min_length=1)
    propose_at: float | None = Field(default=None, gt=0, lt=1)  # None: the reader's own (chosen when trained)
    flag_below: float | None = Field(default=None, ge=0, lt=1)
    # true: before review, flagged keyword hits stop counting and proposed sentences count
    count_unreviewed: bool = False
    limit: int | None = Field(default=None, ge=1)  # at most this many proposals per theme (best first)


class Study(Strict):
    """A whole study, as declared in its YAML file."""

    title: str = "Untitled study"
    data: str | None = None
    selection: list[Step] = Field(default_factory=list)
    outcomes: Outcomes = Field(default_factory=Outcomes)
    corpus: Corpus = Field(default_factory=Corpus)
    codebook: str = "relational-sib"
    # a hit in a negated clause ("no evidence of co-production") is stored and shown, but counts
    # only when this is true
    count_negated: bool = False
    analysis: Analysis = Field(default_factory=Analysis)
    qca: Qca = Field(default_factory=Qca)
    report: Report = Field(default_factory=Report)
    suggest: Suggest = Field(default_factory=Suggest)
    reader: Reader = Field(default_factory=Reader)
    # files the study names (codebook, overrides) are read even when a symlink leads them out of the folder
    # they are named in (off: such a file is refused, so a study sent by someone cannot read your files)
    follow_links: bool = False

    _path: Path | None = PrivateAttr(default=None)
    _text: str = PrivateAttr(default="")
    _dataset: Any = PrivateAttr(default=None)

    @property
    def path(self) -> Path:
        if self._path is None:
            raise SibkitError("this study was not loaded from a file")
        return self._path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str | Path) -> Path:
        """A path from the study file, relative to the study file's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def read_path(self, relative: str | Path) -> Path:
        """A file the study names, to be read: :meth:`resolve`, refused when a symlink leads it out of the
        folder it is named in (unless the study says ``follow_links: true``)."""
        path = self.resolve(relative)
        if not self.follow_links:
            from sibkit.paths import check_link

            check_link(path, option="follow_links: true in the study file")
        return path

    def data_source(self) -> str | Path | None:
        if self.data is None:
            return None
        if self.data.startswith(("http://", "https://", "indigo@")) or self.data == "latest":
            return self.data  # a URL, or a held release (sibkit.releases)
        return self.resolve(self.data)

    def dataset(self):  # -> sibkit.indigo.Dataset (imported lazily: the study model stays light)
        """The INDIGO dataset the study names (loaded once)."""
        if self._dataset is None:
            from sibkit.indigo import load

            self._dataset = load(self.data_source())
        return self._dataset

    def database_url(self) -> str:
        """SQLAlchemy URL of the study's database (an SQLite file beside the study by default)."""
        if self.corpus.database:
            if "://" in self.corpus.database:
                return self.corpus.database
            return f"sqlite:///{self.resolve(self.corpus.database)}"
        return f"sqlite:///{self.base_dir / (self.path.stem + '.sqlite')}"

    def content_hash(self) -> str:
        """SHA-256 of the study file's text."""
        return hashlib.sha256(self._text.encode("utf-8")).hexdigest()


def _format_location(location: tuple[Any, ...]) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_message(source: str, error: ValidationError) -> str:
    """One line naming each bad key and what is wrong with it."""
    problems = []
    for item in error.errors():
        where = _format_location(tuple(p for p in item["loc"] if p not in ("function-after",)))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
            parent = item["loc"][:-1]
            allowed = _allowed_keys(parent)
            if allowed:
                message += f" (allowed: {', '.join(allowed)})"
        problems.append(f"{where}: {message}")
    return f"{source}: " + "; ".join(problems)


def _allowed_keys(location: tuple[Any, ...]) -> list[str]:
    model: Any = Study
    for part in location:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            for candidate in candidates:
                nested += [a for a in getattr(candidate, "__args__", ()) if isinstance(a, type)
                           and issubclass(a, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return [f.alias or name for name, f in model.model_fields.items()]


def parse_study(text: str, source: str = "study") -> Study:
    raw = load_yaml(text, source)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SibkitError(f"{source}: expected a mapping of sections (data, selection, outcomes, ...)")
    try:
        study = Study.model_validate(raw)
    except ValidationError as exc:
        raise SibkitError(validation_message(source, exc)) from None
    except RecursionError:
        raise SibkitError(f"{source}: nested too deeply to be a study file") from None
    study._text = text
    return study


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; one clear ``SibkitError`` line on any problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SibkitError(f"{path}: no such study file (create one with `sibkit study init {path}`)") from None
    except OSError as exc:
        raise SibkitError(f"{path}: cannot read the study file ({exc.strerror or exc})") from None
    try:  # UTF-8 (a byte-order mark allowed), or UTF-16 with its byte-order mark, as YAML allows
        text = data.decode("utf-16") if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else data.decode(
            "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SibkitError(f"{path}: the study file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position "
                          f"{exc.start}); save it as UTF-8") from None
    if not text.strip():
        raise SibkitError(f"{path}: the study file is empty; write one with `sibkit study init {path}` (or give at "
                          "least a title)")
    study = parse_study(text, str(path))
    study._path = path.resolve()
    return study
