"""The field over time: headline figures per held release, per year as of then, and GO Lab's published ones.

- **per release**: each held release's own figures (what was known at that release);
- **per year (as of)**: the figures of one release counting only contracts signed by the end of each year
  (the year of the release: by its date). These are *reconstructed from the <date> release*: today's
  records of the projects known today, not what was known then (projects added later with earlier
  contract dates count; records corrected later are corrected);
- **published**: GO Lab's own figures at known dates (``published.PUBLISHED``), each beside the figure
  reconstructed for its date, and marked where a held release has that date (then compare with it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sibkit.releases.dated import release_of
from sibkit.releases.published import PUBLISHED
from sibkit.words import counted

COLUMNS = ["projects", "service_users", "capital_raised_usd"]


def _end_of(text: str) -> dt.date:
    """The last day a published date stands for (a month: its last day)."""
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        return dt.date(*parts)
    year, month = parts[0], parts[1] if len(parts) > 1 else 12
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _figures(dataset: Any, filters: Any) -> dict[str, Any]:
    from sibkit.indigo.figures import filter_projects, headline

    return headline(filter_projects(dataset, filters))


@dataclass
class OverTime:
    release: Any  # the release the as-of figures are reconstructed from
    by_release: pd.DataFrame  # release, date, projects, service_users, capital_raised_usd, *_missing
    by_year: pd.DataFrame  # year, as_of, projects, service_users, capital_raised_usd, *_missing, reconstructed_from
    published: pd.DataFrame  # date, projects, ..., at_least, source, url, release_held, reconstructed_*
    #: projects of the release (as filtered) with no contract date: counted in no year, only in the release
    undated: int = 0

    @property
    def label(self) -> str:
        return f"reconstructed from the {self.release.date} release"

    @property
    def undated_note(self) -> str:
        """Why the last year can count fewer impact bonds than the release, as a sentence ("" when every project
        is dated)."""
        if not self.undated:
            return ""
        one = self.undated == 1
        return (f"{counted(self.undated, 'project')} {'has' if one else 'have'} no contract date in the "
                f"{self.release.date} release: {'it counts' if one else 'they count'} in the release's figures "
                "but in no year.")

    def to_json(self) -> dict[str, Any]:
        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                    for r in frame.to_dict("records")]

        return {"reconstructed_from": {"date": self.release.date, "label": self.release.label},
                "undated_projects": self.undated,
                "by_release": rows(self.by_release), "by_year": rows(self.by_year),
                "published": rows(self.published)}


def over_time(dataset: Any, filters: Any = None, releases: list[Any] | None = None) -> OverTime:
    """The three tables for ``dataset`` (the as-of figures) and the held ``releases`` (default: all held).
    The published figures are worldwide: they are left out when ``filters`` filter anything."""
    from sibkit.indigo.figures import Filters
    from sibkit.indigo.loader import load_held
    from sibkit.releases.store import held

    filters = filters or Filters()
    base = release_of(dataset)
    releases = held() if releases is None else releases
    per_release = []
    for release in releases:
        figures = _figures(dataset if release.sha256 == base.sha256 else load_held(release), filters)
        per_release.append({"release": release.label, "date": release.date, **figures})
    by_release = pd.DataFrame(per_release, columns=["release", "date", "projects", "service_users",
                                                    "service_users_missing", "capital_raised_usd", "capital_missing"])
    from sibkit.indigo.derive import derived
    from sibkit.indigo.figures import filter_projects

    contract = derived(dataset)["contract_date"].dropna()
    undated = int(filter_projects(dataset, filters)["contract_date"].isna().sum())
    first = int(min(str(d)[:4] for d in contract)) if len(contract) else int(base.date[:4])
    last = int(base.date[:4])
    per_year = []
    for year in range(first, last + 1):
        as_of = min(dt.date(year, 12, 31), dt.date.fromisoformat(base.date))
        figures = _figures(dataset, _with_as_of(filters, as_of))
        per_year.append({"year": year, "as_of": as_of.isoformat(), **figures,
                         "reconstructed_from": f"reconstructed from the {base.date} release"})
    by_year = pd.DataFrame(per_year, columns=["year", "as_of", "projects", "service_users", "service_users_missing",
                                              "capital_raised_usd", "capital_missing", "reconstructed_from"])
    held_dates = {r.date for r in releases}
    published = []
    unfiltered = filters == Filters(as_of=filters.as_of)
    for fact in PUBLISHED if unfiltered else ():
        at = _end_of(fact.date)
        if at > dt.date.fromisoformat(base.date):
            continue
        ours = _figures(dataset, _with_as_of(filters, at))
        published.append({**fact._asdict(), "as_of": at.isoformat(),
                          "release_held": any(d.startswith(fact.date) for d in held_dates),
                          "reconstructed_projects": ours["projects"],
                          "reconstructed_service_users": ours["service_users"],
                          "reconstructed_capital_raised_usd": ours["capital_raised_usd"]})
    return OverTime(base, by_release, by_year, pd.DataFrame(published, columns=[
        "date", "projects", "service_users", "capital_raised_usd", "at_least", "source", "url", "as_of",
        "release_held", "reconstructed_projects", "reconstructed_service_users",
        "reconstructed_capital_raised_usd"]), undated=undated)


def _with_as_of(filters: Any, as_of: dt.date) -> Any:
    from dataclasses import replace

    earlier = filters.as_of if filters.as_of is not None and filters.as_of < as_of else as_of
    return replace(filters, as_of=earlier)


def published_figures() -> pd.DataFrame:
    """GO Lab's published headline figures with their sources (``published.PUBLISHED``)."""
    return pd.DataFrame([fact._asdict() for fact in PUBLISHED])
