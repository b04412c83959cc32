"""What the web pages show, computed from the dataset (and study): plain functions, no HTTP.

Figures come from ``sibkit.indigo.figures`` so the dashboard equals ``sibkit indigo stats``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from sibkit.errors import SibkitError
from sibkit.indigo import Dataset, Filters, derived, headline, quality
from sibkit.indigo.figures import breakdown_rows_at, filter_mask, parse_as_of, summary
from sibkit.indigo.values import country_code_problem, country_name, unknown_value_problem
from sibkit.web.payments import Payments, project_payments
from sibkit.web.worldmap import PHONE, build_map, prepare_points

# GO Lab's public page for each project, where INDIGO data are corrected: the pattern
# https://golab.bsg.ox.ac.uk/knowledge-bank/indigo/impact-bond-dataset-v2/<project id>/ is the one the
# dataset's listing (https://golab.bsg.ox.ac.uk/knowledge-bank/indigo/impact-bond-dataset-v2/) links
# every project to; GO Lab asks for corrections at https://golab.bsg.ox.ac.uk/knowledge-bank/indigo/share-data-indigo/
GOLAB_PROJECT_URL = "https://golab.bsg.ox.ac.uk/knowledge-bank/indigo/impact-bond-dataset-v2/{id}/"
SIMILAR_SHOWN = 8
COMPARE_MAX = 4
INDEX_PAGE = 50
INDIGO_ID = re.compile(r"\bINDIGO-(ORG|FUND|POJ)-\d+\b")
FILTER_KEYS = ("country", "sector", "stage", "live_from", "live_to", "as_of")


def filters_from_query(query: dict[str, list[str]]) -> Filters:
    """Filters from URL query parameters (repeatable country/sector/stage); bad values raise SibkitError."""
    def years(key: str) -> int | None:
        values = [v for v in query.get(key, []) if v.strip()]
        if not values:
            return None
        try:
            return int(values[0])
        except ValueError:
            raise SibkitError(f"{key}={values[0]!r}: expected a year such as 2016") from None

    def many(key: str) -> tuple[str, ...]:
        return tuple(sorted({v.strip() for v in query.get(key, []) if v.strip()}))

    as_of_values = [v for v in query.get("as_of", []) if v.strip()]
    try:
        as_of = parse_as_of(as_of_values[0].strip()) if as_of_values else None
    except SibkitError:
        raise SibkitError(f"as_of={as_of_values[0]!r}: expected a date as YYYY-MM-DD") from None
    return Filters(countries=tuple(c.upper() for c in many("country")), sectors=many("sector"), stages=many("stage"),
                   live_from=years("live_from"), live_to=years("live_to"),
                   as_of=as_of)


def query_of(filters: Filters) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = [("country", c) for c in filters.countries]
    pairs += [("sector", s) for s in filters.sectors] + [("stage", s) for s in filters.stages]
    if filters.live_from is not None:
        pairs.append(("live_from", str(filters.live_from)))
    if filters.live_to is not None:
        pairs.append(("live_to", str(filters.live_to)))
    if filters.as_of is not None:
        pairs.append(("as_of", filters.as_of.isoformat()))
    return pairs


SORTS = {"name": "name", "country": "country_names", "sector": "sector", "stage": "stage", "live": "live_date",
         "users": "service_users", "capital": "capital_raised_usd"}
PER_PAGE = 25


@dataclass(frozen=True)
class Explore:
    """The explorer's own choices beside the filters: text search, sort and page."""

    search: str = ""
    sort: str = "name"
    descending: bool = False
    page: int = 1

    def pairs(self, page: int | None = None, sort: str | None = None) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.search:
            out.append(("q", self.search))
        key = sort if sort is not None else ("-" if self.descending else "") + self.sort
        if key != "name":
            out.append(("sort", key))
        number = self.page if page is None else page
        if number > 1:
            out.append(("page", str(number)))
        return out


def explore_from_query(query: dict[str, list[str]]) -> Explore:
    """Search, sort and page from the URL; unknown sorts fall back to the name, bad pages to 1."""
    search = " ".join((query.get("q") or [""])[0].split())[:200]
    sort = (query.get("sort") or ["name"])[0].strip()
    descending = sort.startswith("-")
    sort = sort.lstrip("-")
    if sort not in SORTS:
        sort, descending = "name", False
    try:
        page = max(1, int((query.get("page") or ["1"])[0]))
    except ValueError:
        page = 1
    return Explore(search, sort, descending, page)


def missing_na(value: object) -> bool:
    """None, NaN or pd.NA (what ``dropna`` drops)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


class Rows:
    """Some rows of a table as plain Python values: the part of a DataFrame's interface the project
    page, its JSON and ``outcome_rows`` read, without pandas' cost per slice."""

    def __init__(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        self.columns = columns
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def empty(self) -> bool:
        return not self.rows

    def itertuples(self, index: bool = False, name: str | None = None) -> Any:
        return iter(self.rows)

    def to_dict(self, orient: str = "records") -> list[dict[str, Any]]:
        """One dict per row; pd.NA becomes None, as in ``DataFrame.to_dict``."""
        return [{name: None if value is pd.NA else value for name, value in zip(self.columns, row, strict=True)}
                for row in self.rows]

    def column(self, name: str) -> list[Any]:
        """The column's values ([] when the rows do not have it)."""
        if name not in self.columns:
            return []
        position = self.columns.index(name)
        return [row[position] for row in self.rows]


def missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


PROJECT_TABLES = ("outcome_metrics", "results", "outcome_payments", "outcome_payment_commitments", "investments",
                  "intermediary_services", "service_provisions", "delivery_locations", "documents", "sources",
                  "outcome_pricings", "transactions", "outcome_funds")
ROLE_TABLES = (  # (table, the role when INDIGO gives no category)
    ("outcome_payment_commitments", "Outcome payer"), ("investments", "Investor"),
    ("service_provisions", "Service provider"), ("intermediary_services", "Intermediary"),
)


class Views:
    """Cached views over one immutable dataset (and an optional study)."""

    def __init__(self, dataset: Dataset, study: Any = None) -> None:
        self.dataset = dataset
        self.study = study
        self.derived = derived(dataset).assign(
            country_names=lambda f: f["countries"].map(lambda codes: ", ".join(country_name(c) for c in codes)))
        self.by_id = self.derived.set_index("id", drop=False)
        self.records = self.derived.to_dict("records")  # each row as the explorer lists it, made once
        self.dashboard = lru_cache(maxsize=256)(self._dashboard)
        self.project = lru_cache(maxsize=512)(self._project)
        self.project_rows = {project_id: position for position, project_id in enumerate(dataset.projects["id"])}
        self.organisations = dict(zip(dataset.organisations["id"], dataset.organisations["name"], strict=True))
        self.funds = dict(zip(dataset.funds["id"], dataset.funds["name"], strict=True))
        self.options = {
            "country": sorted({c for codes in self.derived["countries"] for c in codes}, key=country_name),
            "sector": sorted(self.derived["sector"].dropna().unique()),
            "stage": sorted(self.derived["stage"].dropna().unique()),
        }
        self.search_text = (self.derived["id"] + " " + self.derived["name"].fillna("") + " "
                            + self.derived["sector"].fillna("") + " " + self.derived["country_names"]
                            + " " + self.derived["countries"].map(" ".join)).str.casefold()
        self.roles = self._roles()
        self.roles_by_project: dict[str, list[tuple[str, str, Any]]] = {}
        for project_id, role, organisation_id, detail in zip(self.roles["project_id"], self.roles["role"],
                                                             self.roles["organisation_id"], self.roles["detail"],
                                                             strict=True):
            self.roles_by_project.setdefault(project_id, []).append((role, organisation_id, detail))
        self.names = dict(zip(self.derived["id"], self.derived["name"], strict=True))
        self.map_points = prepare_points(dataset.delivery_locations)
        self.payments = project_payments(dataset)
        # at start-up rather than on the first project page: the quality report, the sub-tables' cells
        self._problem_flags()
        for table in PROJECT_TABLES:
            self._project_table(table, "")

    def linked(self, value: object) -> Markup:
        """Text with every INDIGO id in it (organisation, fund, project) as a link named for what it is
        ("INDIGO-ORG-0171" -> "Department for Digital, Culture, Media & Sport"); the rest escaped."""
        text = "" if missing_na(value) else str(value)
        parts: list[str] = []
        at = 0
        for found in INDIGO_ID.finditer(text):
            parts.append(str(escape(text[at:found.start()])))
            identifier, kind = found.group(0), found.group(1)
            names, base = {"ORG": (self.organisations, "/organisations/"), "FUND": (self.funds, "/funds/"),
                           "POJ": (self.names, "/projects/")}[kind]
            name = names.get(identifier)
            if name is None or missing(name):
                parts.append(str(escape(identifier)))
            else:
                parts.append(f'<a href="{base}{escape(identifier)}" title="{escape(identifier)}">{escape(name)}</a>')
            at = found.end()
        parts.append(str(escape(text[at:])))
        return Markup("".join(parts))

    def _roles(self) -> pd.DataFrame:
        """Every (organisation, project, role) in INDIGO's project tables."""
        frames = []
        for table, default in ROLE_TABLES:
            rows = self.dataset[table]
            frame = pd.DataFrame({"organisation_id": rows["organisation_id"], "project_id": rows["project_id"],
                                  "role": default,
                                  "detail": rows["organisation_role_category"].astype("string").str.strip()})
            frames.append(frame)
        roles = pd.concat(frames, ignore_index=True).dropna(subset=["organisation_id", "project_id"])
        return roles.drop_duplicates().sort_values(["role", "organisation_id", "project_id"], kind="stable")

    # -- filters ----------------------------------------------------------------------------

    def unknown_values(self, filters: Filters) -> list[str]:
        """One sentence per filter value that matches no project, saying why."""
        notes = []
        for code in filters.countries:
            if code not in self.options["country"]:
                problem = country_code_problem(code)
                notes.append(f"Country: {problem}." if problem else
                             f"Country {code!r}: no impact bond in INDIGO is in {country_name(code)}.")
        for key, values in (("sector", filters.sectors), ("stage", filters.stages)):
            for value in values:
                if problem := unknown_value_problem(key, value, list(self.options[key])):
                    notes.append(f"{key.capitalize()}: {problem}.")
        if filters.live_from and filters.live_to and filters.live_from > filters.live_to:
            notes.append(f"Live from {filters.live_from} is after live to {filters.live_to}.")
        return notes

    def chips(self, filters: Filters, base: str) -> list[dict[str, str]]:
        """One removable chip per active filter value: its label and the URL without it."""
        pairs = query_of(filters)
        chips = []
        for index, (key, value) in enumerate(pairs):
            rest = pairs[:index] + pairs[index + 1:]
            label = {"country": f"Country: {country_name(value)}", "sector": f"Sector: {value}",
                     "stage": f"Stage: {value}", "live_from": f"Live from {value}", "live_to": f"Live to {value}",
                     "as_of": f"Contracts signed by {value}"}[key]
            chips.append({"label": label, "href": base + ("?" + urlencode(rest) if rest else "")})
        return chips

    # -- dashboard --------------------------------------------------------------------------

    def _dashboard(self, filters: Filters) -> dict[str, Any]:
        keep = filter_mask(self.dataset, filters)
        frame = self.derived[keep]
        qs = query_of(filters)

        def link(**change: str) -> str:
            keys = set(change)
            if "live_year" in keys:
                year = change.pop("live_year")
                change.update(live_from=year, live_to=year)
                keys = {"live_from", "live_to"}
            kept = [(k, v) for k, v in qs if k not in keys]
            return "/projects?" + urlencode(kept + list(change.items()))

        by_country = [row for row in breakdown_rows_at(self.dataset, keep, "country") if row["country"] != "(none)"]
        counts = {row["country"]: row["projects"] for row in by_country}
        year = continuous_years(breakdown_rows_at(self.dataset, keep, "year"))
        top = by_country[:15]
        charts = {
            "year": chart("Impact bonds by year live", year, "year", "projects", "Year live", "Impact bonds",
                          lambda y: link(live_year=y)),
            "capital": chart("Capital raised by year live (USD million)", [capital_row(row) for row in year], "year",
                             "capital", "Year live", "USD million", lambda y: link(live_year=y)),
            "stage": chart("Impact bonds by stage", breakdown_rows_at(self.dataset, keep, "stage"), "stage",
                           "projects", "Stage", "Impact bonds", lambda s: link(stage=s)),
            "sector": chart("Impact bonds by policy sector", breakdown_rows_at(self.dataset, keep, "sector"),
                            "sector", "projects", "Policy sector", "Impact bonds", lambda s: link(sector=s)),
            "country": chart("Impact bonds by country (top 15)",
                             [{**row, "name": country_name(row["country"])} for row in top], "name",
                             "projects", "Country", "Impact bonds", None,
                             hrefs=[link(country=row["country"]) for row in top]),
        }
        single_gb = filters.countries == ("GB",)
        dashboard_query = [(k, v) for k, v in qs if k != "country"]
        def draw(box: tuple[float, float] | None = None, region: bool = False) -> dict[str, Any]:
            return build_map(frame, self.map_points, counts, whole_field=not qs,
                             country_href=lambda c: "/?" + urlencode([("country", c), *dashboard_query]),
                             project_name=lambda i: str(self.names[i]), box=box, region=region)

        world = draw()
        world["counts"] = sorted(counts.items(), key=lambda item: (-item[1], country_name(item[0])))
        # drawn a second time in a portrait box for phones (CSS shows one of them): a zoomed map as it
        # is, the world as the region holding most of these impact bonds (Europe for the whole field)
        world["phone"] = draw(PHONE, region=not world["view"].zoomed) if counts or world["view"].zoomed else None
        return {"figures": headline(frame), "summary": summary(frame, "GBP" if single_gb else None),
                "charts": charts, "projects": frame, "map": world, "unknown": self.unknown_values(filters),
                "counts": counts}

    def filtered(self, filters: Filters) -> pd.DataFrame:
        """The rows of ``derived`` (with ``country_names``) that pass the filters."""
        return self.derived[filter_mask(self.dataset, filters)]

    # -- explorer ---------------------------------------------------------------------------

    def explore(self, filters: Filters, explore: Explore, ids: list[str] | None = None,
                paged: bool = True) -> dict[str, Any]:
        """The projects passing the filters and the search, sorted; one page of them unless not ``paged``."""
        frame = self.project_list(ids, filters)
        if explore.search:
            words = explore.search.casefold().split()
            text = self.search_text.loc[frame.index]
            keep = pd.Series(True, index=frame.index)
            for word in words:
                keep &= text.str.contains(word, regex=False)
            frame = frame[keep]
        column = SORTS[explore.sort]
        frame = frame.sort_values([column, "name"], ascending=[not explore.descending, True], na_position="last",
                                  kind="stable", key=lambda s: s.str.casefold() if s.dtype == object else s)
        if not paged:
            return {"rows": frame, "total": len(frame)}
        pages = max(1, math.ceil(len(frame) / PER_PAGE))
        page = min(explore.page, pages)
        rows = frame.iloc[(page - 1) * PER_PAGE: page * PER_PAGE]
        return {"rows": rows, "records": [self.records[position] for position in rows.index], "total": len(frame),
                "page": page,
                "pages": pages, "first": (page - 1) * PER_PAGE + 1 if len(frame) else 0,
                "last": min(page * PER_PAGE, len(frame))}

    def project_list(self, ids: list[str] | None, filters: Filters) -> pd.DataFrame:
        frame = self.filtered(filters)
        if ids:
            frame = frame[frame["id"].isin(ids)]
        return frame

    # -- projects ---------------------------------------------------------------------------

    def _project(self, project_id: str) -> dict[str, Any]:
        """Everything the project page shows (cached per project: the dataset is immutable)."""
        if project_id not in self.by_id.index:
            raise KeyError(project_id)
        ds = self.dataset
        row = ds.projects.iloc[self.project_rows[project_id]]
        tables = {}
        for table in PROJECT_TABLES:
            tables[table] = self._project_table(table, project_id)
        parties: dict[str, list[tuple[str, str, str]]] = {}
        for role, organisation_id, detail in self.roles_by_project.get(project_id, []):
            entry = (organisation_id, self.organisations.get(organisation_id, organisation_id),
                     "" if missing(detail) else str(detail))
            if entry not in parties.setdefault(role, []):
                parties[role].append(entry)
        funds = [(f, self.funds.get(f, f), f in self.funds)
                 for f in tables["outcome_funds"].column("id") if not missing_na(f)]
        sources = tables["sources"].to_dict("records")
        source_ids = {str(s.get("id")) for s in sources}
        payments = self.payments.get(project_id, Payments())
        similar, similar_total = self.similar(project_id)
        return {"row": row, "derived": self.by_id.loc[project_id], "sections": _sections(row, source_ids),
                "tables": tables, "metrics": outcome_rows(tables, payments), "payments": payments,
                "parties": parties, "funds": funds, "similar": similar, "similar_total": similar_total,
                "golab_url": GOLAB_PROJECT_URL.format(id=project_id),
                "organisations": self.organisations, "flags": self.flags(project_id), "sources": sources,
                "country_names": [country_name(c) for c in self.by_id.at[project_id, "countries"]]}

    def similar(self, project_id: str) -> tuple[list[dict[str, Any]], int]:
        """Projects in the same policy sector that share a country with this one: the closest in live
        date first (at most ``SIMILAR_SHOWN``), and how many there are in all."""
        own = self.records[self.project_rows[project_id]]
        if missing(own["sector"]) or not own["countries"]:
            return [], 0
        groups = self.dataset.cached("web:sector_country", self._sector_country)
        positions = {i for code in own["countries"] for i in groups.get((own["sector"], code), ())}
        same = [self.records[i] for i in sorted(positions) if self.records[i]["id"] != project_id]
        start = own["live_date"]

        def distance(date: object) -> float:
            if missing_na(date) or missing_na(start):
                return math.inf
            return abs((pd.Timestamp(date) - pd.Timestamp(start)).days)

        ranked = sorted(same, key=lambda r: (distance(r["live_date"]), r["name"], r["id"]))
        return ranked[:SIMILAR_SHOWN], len(ranked)

    def _sector_country(self) -> dict[tuple[str, str], list[int]]:
        """(sector, country) -> the positions of the projects in ``records`` with both."""
        out: dict[tuple[str, str], list[int]] = {}
        for position, record in enumerate(self.records):
            if not missing(record["sector"]):
                for code in record["countries"]:
                    out.setdefault((record["sector"], code), []).append(position)
        return out

    def compare(self, ids: list[str]) -> dict[str, Any]:
        """Up to ``COMPARE_MAX`` projects side by side (prices, targets, achievement, payments), the ids
        left out and the ids INDIGO does not have."""
        wanted = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        unknown = [i for i in wanted if i not in self.by_id.index]
        known = [i for i in wanted if i in self.by_id.index]
        columns = []
        for project_id in known[:COMPARE_MAX]:
            data = self.project(project_id)
            metrics = data["metrics"]
            shares = sorted(m["share"] for m in metrics if m["share"] is not None)
            prices: dict[str, list[float]] = {}
            for m in metrics:
                for price in m["prices"]:
                    amount = number(price.get("price_per_unit_amount"))
                    if amount is not None:
                        prices.setdefault(str(price.get("currency") or ""), []).append(amount)
            columns.append({
                "id": project_id, "name": data["row"]["name"], "derived": data["derived"], "row": data["row"],
                "payments": data["payments"], "metrics": metrics,
                "targets": [m for m in metrics if m["target"] is not None],
                "priced": sum(1 for m in metrics if any(number(p.get("price_per_unit_amount")) is not None
                                                        for p in m["prices"])),
                "prices": {c: (min(v), max(v)) for c, v in sorted(prices.items())},
                "shares": shares, "median_share": float(np.median(shares)) if shares else None,
            })
        return {"columns": columns, "unknown": unknown, "left_out": known[COMPARE_MAX:], "asked": len(known)}

    def flags(self, project_id: str) -> list[str]:
        """Data-quality flags for one project: missing priority-1 facts and broken references."""
        flags = list(self._problem_flags().get(project_id, []))
        derived_row = self.by_id.loc[project_id]
        for label, key in (("live date", "live_date"), ("capital raised (USD)", "capital_raised_usd"),
                           ("service users", "service_users")):
            if not missing(derived_row[key]):
                continue
            if key == "capital_raised_usd" and not missing(derived_row["capital_raised"]):
                currency = "" if missing(derived_row["capital_currency"]) else str(derived_row["capital_currency"])
                flags.append(f"capital raised only in {currency or 'an unnamed currency'} "
                             f"({derived_row['capital_raised']:,.0f}) in INDIGO, not in USD: not in USD totals")
            else:
                flags.append(f"no {label} in INDIGO")
        return flags

    def _project_table(self, table: str, project_id: str) -> Rows:
        """One project's rows of a sub-table without ``project_id`` and the columns empty in all of
        them, as plain values (the table's cells as Python objects and which are filled are read once)."""
        def build() -> tuple[list[str], np.ndarray, np.ndarray, dict[str, np.ndarray]]:
            frame = self.dataset[table]
            return (list(frame.columns), frame.to_numpy(dtype=object), frame.notna().to_numpy(),
                    frame.groupby("project_id", sort=False).indices)

        columns, cells, filled, groups = self.dataset.cached(f"web:rows:{table}", build)
        positions = groups.get(project_id)
        if positions is None or len(positions) == 0:
            return Rows([], [])
        keep = filled[positions].any(axis=0)
        chosen = [i for i, name in enumerate(columns) if keep[i] and name != "project_id"]
        return Rows([columns[i] for i in chosen], [tuple(row) for row in cells[np.ix_(positions, chosen)]])

    def project_frame(self, table: str, project_id: str) -> pd.DataFrame:
        """``_project_table`` as a DataFrame with the table's own column types (for CSV downloads)."""
        frame = self.dataset.rows_for(table, project_id)
        return frame[self._project_table(table, project_id).columns]

    def _problem_flags(self) -> dict[str, list[str]]:
        """Each project's data-quality problems ("where: message"), found once: a problem belongs to
        every project whose id its ``where`` ends with."""
        def build() -> dict[str, list[str]]:
            ids = set(self.by_id.index)
            problems = self._quality().problems
            out: dict[str, list[str]] = {}
            for where, column, message in zip(problems["where"], problems["column"], problems["message"],
                                              strict=True):
                text = str(where)
                # the column apart, two problems of one project would read as the same flag twice
                named = f"{where}, {column}" if isinstance(column, str) and column else str(where)
                for start in range(len(text)):
                    if text[start:] in ids:
                        out.setdefault(text[start:], []).append(f"{named}: {message}")
            return out

        return self.dataset.cached("web:problem_flags", build)

    def _quality(self) -> Any:
        return self.dataset.cached("quality", lambda: quality(self.dataset))

    # -- organisations and funds ------------------------------------------------------------

    def totals(self, project_ids: list[str]) -> dict[str, Any]:
        """Headline figures over some projects (an organisation's, a fund's): ``summary``'s service users
        and capital with what they rest on, and outcome payments made per currency (``Payments.made``)."""
        frame = self.by_id.loc[[p for p in project_ids if p in self.by_id.index]]
        paid: dict[str, float] = {}
        paying = 0
        for project_id in frame.index:
            made = self.payments.get(project_id, Payments()).made
            if made:
                paying += 1
                for currency, amount in made.items():
                    paid[currency] = paid.get(currency, 0.0) + amount
        return {"summary": summary(frame), "paid": paid, "paid_based_on": paying}

    def organisation_index(self, search: str, page: int = 1) -> dict[str, Any]:
        """Organisations whose name, trading name, English name or id contain every word of ``search``,
        by name, ``INDEX_PAGE`` a page, with how many impact bonds each takes part in."""
        rows = self.dataset.organisations
        words = search.casefold().split()
        text = self.dataset.cached("web:organisation_text", lambda: (
            rows["id"].fillna("") + " " + rows["name"].fillna("") + " " + rows["trading_name"].fillna("") + " "
            + rows["translated_official_name_english"].fillna("")).str.casefold().to_numpy(dtype=object))
        keep = [i for i, value in enumerate(text) if all(word in value for word in words)]
        counts = self.dataset.cached("web:organisation_projects", lambda: self.roles.groupby("organisation_id")[
            "project_id"].nunique().to_dict())
        found = [{"id": rows["id"].iat[i], "name": rows["name"].iat[i], "type": rows["type"].iat[i],
                  "country": rows["country"].iat[i], "projects": int(counts.get(rows["id"].iat[i], 0))}
                 for i in keep]
        found.sort(key=lambda r: (str(r["name"] or r["id"]).casefold(), r["id"]))
        pages = max(1, math.ceil(len(found) / INDEX_PAGE))
        page = min(max(1, page), pages)
        return {"rows": found[(page - 1) * INDEX_PAGE: page * INDEX_PAGE], "total": len(found), "page": page,
                "pages": pages, "all": len(rows)}

    def fund_index(self, search: str) -> dict[str, Any]:
        """Outcome funds whose name or id contain every word of ``search``, with their impact bonds."""
        rows = self.dataset.funds
        links = self.dataset.outcome_funds
        counts = links.dropna(subset=["id"]).groupby("id")["project_id"].nunique().to_dict()
        words = search.casefold().split()
        found = []
        for fund_id, name, host, stage in zip(rows["id"], rows["name"], rows["host_institution_of_outcome_fund"],
                                              rows["stage_development"], strict=True):
            if all(word in f"{fund_id} {name}".casefold() for word in words):
                found.append({"id": fund_id, "name": name, "host": host, "stage": stage,
                              "projects": int(counts.get(fund_id, 0))})
        found.sort(key=lambda r: (str(r["name"] or r["id"]).casefold(), r["id"]))
        return {"rows": found, "total": len(found), "all": len(rows)}

    def organisation(self, organisation_id: str) -> dict[str, Any]:
        rows = self.dataset.organisations
        match = rows[rows["id"] == organisation_id]
        if match.empty:
            raise KeyError(organisation_id)
        row = match.iloc[0]
        own = self.roles[self.roles["organisation_id"] == organisation_id]
        projects = []
        for project_id, group in own.groupby("project_id", sort=True):
            if project_id in self.by_id.index:
                projects.append({"id": project_id, "name": self.by_id.at[project_id, "name"],
                                 "roles": ", ".join(sorted(set(group["role"]))),
                                 "countries": self.by_id.at[project_id, "country_names"],
                                 "stage": self.by_id.at[project_id, "stage"]})
        fund_rows = self.dataset.fund_organisations
        funds = [(f, self.funds.get(f, f)) for f in sorted(set(fund_rows[fund_rows["organisation_id"]
                                                                         == organisation_id]["fund_id"]))]
        facts = [(label, row[key]) for key, label in (
            ("type", "Type"), ("country", "Country"), ("jurisdiction", "Jurisdiction"), ("website", "Website"),
            ("description", "Description"), ("trading_name", "Trading name")) if key in row.index]
        return {"row": row, "projects": projects, "funds": funds, "facts": facts,
                "totals": self.totals([p["id"] for p in projects])}

    def fund(self, fund_id: str) -> dict[str, Any]:
        rows = self.dataset.funds
        match = rows[rows["id"] == fund_id]
        if match.empty:
            raise KeyError(fund_id)
        row = match.iloc[0]
        links = self.dataset.outcome_funds
        project_ids = sorted(set(links[links["id"] == fund_id]["project_id"].dropna()))
        projects = [{"id": p, "name": self.by_id.at[p, "name"], "countries": self.by_id.at[p, "country_names"],
                     "stage": self.by_id.at[p, "stage"]} for p in project_ids if p in self.by_id.index]
        members = self.dataset.fund_organisations
        organisations = [(o, self.organisations.get(o, o))
                         for o in sorted(set(members[members["fund_id"] == fund_id]["organisation_id"].dropna()))]
        areas = self.dataset.fund_geographic_areas_for_outcome_payment
        countries = [country_name(c) for c in sorted(set(areas[areas["fund_id"] == fund_id]["country"].dropna()))]
        facts = [(label, row[key]) for key, label in (
            ("stage_development", "Stage"), ("host_institution_of_outcome_fund", "Host institution"),
            ("mechanism", "Mechanism"), ("dates_launch_date", "Launched"),
            ("dates_anticipated_end_date", "Anticipated end"), ("dates_actual_end_date", "Ended"),
            ("purpose_and_classifications_purpose", "Purpose"),
            ("service_and_beneficiaries_target_population", "Target population")) if key in row.index]
        return {"row": row, "projects": projects, "organisations": organisations, "countries": countries,
                "facts": facts, "totals": self.totals([p["id"] for p in projects])}


def number(value: object) -> float | None:
    """A number from a cell that may hold text ("1,200"); None when it is not one number."""
    if missing(value):
        return None
    try:
        result = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return None if math.isnan(result) else result


def outcome_rows(tables: dict[str, Rows], payments: Payments | None = None) -> list[dict[str, Any]]:
    """One row per outcome metric joining its definition, target, results by period, price and payments
    (``paid``: per kind, actual, planned or type not stated, the sums of the payments tied to the metric)."""
    def records(name: str) -> list[dict[str, Any]]:
        return tables[name].to_dict("records") if len(tables[name]) else []

    results, prices = records("results"), records("outcome_pricings")
    rows = []
    for metric in records("outcome_metrics"):
        metric_id = metric.get("id")
        own_results = sorted((r for r in results if r.get("outcome_metric_id") == metric_id),
                             key=lambda r: (str(r.get("period_start_date") or ""), str(r.get("period_end_date") or "")))
        own_prices = [p for p in prices if p.get("outcome_metric_id") == metric_id]
        target = metric.get("targeted_number_of_service_users_or_beneficiaries_total")
        achieved_values = [number(r.get("outcomes_achieved")) for r in own_results]
        achieved_values = [v for v in achieved_values if v is not None]
        achieved = float(sum(achieved_values)) if achieved_values else None
        share = (achieved / float(target)) if achieved is not None and not missing(target) and float(target) > 0 \
            else None
        paid = payments.by_metric.get(str(metric_id), {}) if payments is not None and not missing(metric_id) else {}
        rows.append({"metric": metric, "results": own_results, "prices": own_prices, "paid": paid,
                     "target": None if missing(target) else float(target), "achieved": achieved, "share": share})
    return rows


def continuous_years(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Breakdown rows by live year with every year from the first to the last (a year no impact bond
    went live in is a row of 0 projects), the projects without a live year ("(none)") last."""
    known = {int(row["year"]): row for row in rows if row["year"] != "(none)"}
    out = [known.get(year, {"year": str(year), "projects": 0, "service_users": None, "service_users_missing": 0,
                            "capital_raised_usd": None, "capital_missing": 0})
           for year in (range(min(known), max(known) + 1) if known else [])]
    return out + [row for row in rows if row["year"] == "(none)"]


def capital_row(row: dict[str, Any]) -> dict[str, Any]:
    """A year's capital in USD million for the chart: unknown stays unknown ("–"), never 0, and a sum
    that leaves projects out says over how many it is."""
    projects, missing_capital = int(row["projects"]), int(row["capital_missing"])
    capital = None if row["capital_raised_usd"] is None else row["capital_raised_usd"] / 1e6
    if not projects:
        note = "no impact bond went live"
    elif capital is None:
        note = f"none of the {projects} states it" if projects > 1 else "not in INDIGO"
    elif missing_capital:
        note = f"{projects - missing_capital} of {projects} projects"
    else:
        note = ""
    return {**row, "capital": capital, "note": note}


def chart(title: str, table: list[dict[str, Any]], label: str, value: str, label_heading: str, value_heading: str,
          href: Any, hrefs: list[str] | None = None) -> dict[str, Any]:
    """A bar chart drawn as an HTML table (its own data table and accessible name): one row per bar
    (``table``: breakdown rows, with a ``note`` where the value needs one), the bar's length as a share
    of the largest value, no bar and "–" where the value is unknown, a link to the explorer where it has one."""
    values = [None if missing(row[value]) else float(row[value]) for row in table]
    maximum = max((v for v in values if v is not None), default=0.0) or 1.0
    bars = []
    for index, (row, number) in enumerate(zip(table, values, strict=True)):
        text = str(row[label])
        link = hrefs[index] if hrefs is not None else (href(text) if href and text != "(none)" else None)
        if row.get("projects") == 0:
            link = None
        note = str(row.get("note") or "")
        shown = "" if number is None and row.get("projects") == 0 else ("–" if number is None else _number_text(number))
        bars.append({"label": "not in INDIGO" if text == "(none)" else text, "value": number, "text": shown,
                     "note": note, "percent": 0.0 if number is None else round(100 * number / maximum, 1),
                     "href": link})
    return {"title": title, "bars": bars, "label_heading": label_heading, "value_heading": value_heading}


def _number_text(value: float) -> str:
    """A chart value as text: whole numbers with thousands separators, else three significant digits."""
    return f"{value:,.0f}" if value.is_integer() or abs(value) >= 1000 else f"{value:,.3g}"


def _sections(row: pd.Series, source_ids: set[str]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Project fields grouped by INDIGO section, human labels, empty values left out; source id
    fields become lists of source ids (linked on the page when the source is listed)."""
    from sibkit.indigo.dataset import columns_of

    groups: dict[str, list[tuple[str, Any]]] = {}
    for name, title, _path, _kind in columns_of("projects"):
        value = row[name]
        if name == "id" or value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            continue
        parts = [p.strip() for p in title.split(" - ") if p.strip() not in ("(Value)",)]
        section = parts[0] if len(parts) > 1 else "Project"
        label = " – ".join(parts[1:]) if len(parts) > 1 else parts[0]
        label = label.replace("(Value)", "").replace("(Source ID's)", "Sources").strip(" -") or "Sources"
        if name.endswith("source_ids"):
            value = [(i, i in source_ids) for i in str(value).replace(";", ",").replace(" ", ",").split(",") if i]
        groups.setdefault(section, []).append((label, value))
    return list(groups.items())
