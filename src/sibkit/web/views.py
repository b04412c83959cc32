"""What the web pages show, computed from the dataset (and study): plain functions, no HTTP.

Figures come from ``sibkit.indigo.figures`` so the dashboard equals ``sibkit indigo stats``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from sibkit.errors import SibkitError
from sibkit.indigo import Dataset, Filters, breakdown, derived, filter_projects, headline, quality
from sibkit.indigo.figures import parse_as_of

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


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    count: int
    label: str
    href: str


class Views:
    """Cached views over one immutable dataset (and an optional study)."""

    def __init__(self, dataset: Dataset, study: Any = None) -> None:
        self.dataset = dataset
        self.study = study
        self.derived = derived(dataset)
        self.by_id = self.derived.set_index("id", drop=False)
        self.dashboard = lru_cache(maxsize=256)(self._dashboard)
        self.project = lru_cache(maxsize=512)(self._project)
        self.project_rows = {project_id: position for position, project_id in enumerate(dataset.projects["id"])}
        self.organisations = dict(zip(dataset.organisations["id"], dataset.organisations["name"], strict=True))
        self.options = {
            "country": sorted({c for codes in self.derived["countries"] for c in codes}),
            "sector": sorted(self.derived["sector"].dropna().unique()),
            "stage": sorted(self.derived["stage"].dropna().unique()),
        }

    # -- dashboard --------------------------------------------------------------------------

    def _dashboard(self, filters: Filters) -> dict[str, Any]:
        frame = filter_projects(self.dataset, filters)
        charts = {}
        for by in ("year", "sector", "country"):
            table = breakdown(frame, by)
            if by == "country":
                table = table.head(15)
            charts[by] = table
        return {"figures": headline(frame), "charts": charts, "projects": frame,
                "map": self.map_markers(set(frame["id"]))}

    def map_markers(self, project_ids: set[str], width: int = 900, height: int = 450) -> dict[str, Any]:
        """Delivery locations of the projects, projected to fit the view and clustered on a grid."""
        locations = self.dataset.delivery_locations
        points = locations[locations["project_id"].isin(project_ids)].dropna(subset=["lat_lng_lat", "lat_lng_lng"])
        points = points[points["lat_lng_lat"].between(-90, 90) & points["lat_lng_lng"].between(-180, 180)]
        if points.empty:
            return {"markers": [], "width": width, "height": height, "graticule": [], "bounds": None}
        lat_min, lat_max = points["lat_lng_lat"].min(), points["lat_lng_lat"].max()
        lng_min, lng_max = points["lat_lng_lng"].min(), points["lat_lng_lng"].max()
        pad_lat, pad_lng = max(1.0, (lat_max - lat_min) * 0.08), max(1.0, (lng_max - lng_min) * 0.08)
        lat_min, lat_max = max(-85, lat_min - pad_lat), min(85, lat_max + pad_lat)
        lng_min, lng_max = max(-180, lng_min - pad_lng), min(180, lng_max + pad_lng)
        # keep the aspect of an equirectangular map: widen the narrower side
        span_lng, span_lat = lng_max - lng_min, lat_max - lat_min
        if span_lng / span_lat < width / height:
            grow = (span_lat * width / height - span_lng) / 2
            lng_min, lng_max = lng_min - grow, lng_max + grow
        else:
            grow = (span_lng * height / width - span_lat) / 2
            lat_min, lat_max = lat_min - grow, lat_max + grow

        def project(lat: float, lng: float) -> tuple[float, float]:
            return ((lng - lng_min) / (lng_max - lng_min) * width, (lat_max - lat) / (lat_max - lat_min) * height)

        radius = 24.0  # pixels: a location this close to a cluster's centre joins it
        clusters: list[list[tuple[float, float, str]]] = []
        centres: list[tuple[float, float]] = []
        ordered = sorted(zip(points["lat_lng_lat"], points["lat_lng_lng"], points["project_id"], strict=True),
                         key=lambda p: (p[0], p[1], p[2]))
        for lat, lng, project_id in ordered:
            x, y = project(lat, lng)
            near = next((i for i, (cx, cy) in enumerate(centres) if (cx - x) ** 2 + (cy - y) ** 2 <= radius ** 2),
                        None)
            if near is None:
                clusters.append([(x, y, project_id)])
                centres.append((x, y))
            else:
                members = clusters[near]
                members.append((x, y, project_id))
                centres[near] = (sum(m[0] for m in members) / len(members), sum(m[1] for m in members) / len(members))
        markers = []
        for members in clusters:
            ids = sorted({m[2] for m in members})
            x = sum(m[0] for m in members) / len(members)
            y = sum(m[1] for m in members) / len(members)
            if len(ids) == 1:
                name = self.by_id.at[ids[0], "name"]
                markers.append(Marker(round(x, 1), round(y, 1), 1, str(name), f"/projects/{ids[0]}"))
            else:
                markers.append(Marker(round(x, 1), round(y, 1), len(ids), f"{len(ids)} impact bonds",
                                      "/projects?" + "&".join(f"id={i}" for i in ids)))
        step = _nice_step(max(lng_max - lng_min, lat_max - lat_min) / 6)
        graticule = []
        for lng in _ticks(lng_min, lng_max, step):
            x, _ = project(0, lng)
            graticule.append(("v", round(x, 1), f"{lng:g}°"))
        for lat in _ticks(lat_min, lat_max, step):
            _, y = project(lat, 0)
            graticule.append(("h", round(y, 1), f"{lat:g}°"))
        markers.sort(key=lambda m: (m.count, m.y, m.x))
        return {"markers": markers, "width": width, "height": height, "graticule": graticule,
                "bounds": (lat_min, lat_max, lng_min, lng_max)}

    # -- projects ---------------------------------------------------------------------------

    def _project(self, project_id: str) -> dict[str, Any]:
        """Everything the project page shows (cached per project: the dataset is immutable)."""
        if project_id not in self.by_id.index:
            raise KeyError(project_id)
        ds = self.dataset
        row = ds.projects.iloc[self.project_rows[project_id]]
        tables = {}
        for table in ("outcome_metrics", "results", "outcome_payments", "outcome_payment_commitments", "investments",
                      "intermediary_services", "service_provisions", "delivery_locations", "documents", "sources",
                      "outcome_pricings", "transactions"):
            tables[table] = _non_empty_columns(ds.rows_for(table, project_id))
        metrics = []
        results = tables["results"].to_dict("records")
        for metric in tables["outcome_metrics"].to_dict("records"):
            own = [r for r in results if r.get("outcome_metric_id") == metric["id"]]
            metrics.append({"metric": metric, "results": own})
        sections = _sections(row)
        organisations = self.organisations
        return {"row": row, "derived": self.by_id.loc[project_id], "sections": sections, "tables": tables,
                "metrics": metrics, "organisations": organisations, "flags": self.flags(project_id)}

    def flags(self, project_id: str) -> list[str]:
        """Data-quality flags for one project: missing priority-1 facts and broken references."""
        report = self._quality()
        problems = report.problems
        own = problems[problems["where"].str.endswith(project_id)]
        flags = [f"{p.where}: {p.message}" for p in own.itertuples(index=False)]
        derived_row = self.by_id.loc[project_id]
        for label, key in (("live date", "live_date"), ("capital raised (USD)", "capital_raised_usd"),
                           ("service users", "service_users")):
            value = derived_row[key]
            if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                flags.append(f"no {label} in INDIGO")
        return flags

    def _quality(self) -> Any:
        return self.dataset.cached("quality", lambda: quality(self.dataset))

    def project_list(self, ids: list[str] | None, filters: Filters) -> pd.DataFrame:
        frame = filter_projects(self.dataset, filters)
        if ids:
            frame = frame[frame["id"].isin(ids)]
        return frame


def _non_empty_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows without the project_id column and without columns that are empty in every row."""
    keep = [name for name in frame.columns if name != "project_id" and frame[name].notna().to_numpy().any()]
    return frame.loc[:, keep]


def _sections(row: pd.Series) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Project fields grouped by INDIGO section, human labels, empty values left out."""
    from sibkit.indigo.dataset import columns_of

    groups: dict[str, list[tuple[str, Any]]] = {}
    for name, title, _path, _kind in columns_of("projects"):
        value = row[name]
        if name == "id" or value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            continue
        parts = [p.strip() for p in title.split(" - ") if p.strip() not in ("(Value)",)]
        section = parts[0] if len(parts) > 1 else "Project"
        label = " – ".join(parts[1:]) if len(parts) > 1 else parts[0]
        groups.setdefault(section, []).append((label.replace("(Value)", "").strip(" -"), value))
    return list(groups.items())


def _nice_step(raw: float) -> float:
    for step in (1, 2, 5, 10, 15, 20, 30, 45, 60, 90):
        if raw <= step:
            return float(step)
    return 90.0


def _ticks(low: float, high: float, step: float) -> list[float]:
    start = math.ceil(low / step) * step
    return [start + i * step for i in range(int((high - start) // step) + 1)]


def bar_chart(table: pd.DataFrame, label: str, value: str, width: int = 420) -> dict[str, Any]:
    """Horizontal bars for an SVG chart: one per row (a missing value draws no bar)."""
    values = pd.to_numeric(table[value], errors="coerce") if len(table) else pd.Series(dtype=float)
    maximum = float(values.max()) if len(values) and values.max() > 0 else 1.0
    bars = [{"label": str(r[label]), "value": None if pd.isna(v) else float(v),
             "length": 0.0 if pd.isna(v) else round((width - 230) * float(v) / maximum, 1)}
            for r, v in zip(table.to_dict("records"), values, strict=True)]
    return {"bars": bars, "width": width, "height": 22 * len(bars) + 6}
