"""``sibkit indigo ...`` commands (``sibkit data ...``: ``sibkit.releases.cli``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sibkit.cli_common import DataOption, console, print_frame, print_json, warn_load_issues

indigo_app = typer.Typer(no_args_is_help=True, help="Look at the INDIGO impact bond dataset.")


@indigo_app.command("stats")
def stats_command(
    data: DataOption = None,
    country: Annotated[list[str] | None, typer.Option("--country", metavar="CODE",
                                                      help="ISO 3166-1 alpha-2 country code, e.g. GB (repeatable).")]
    = None,
    sector: Annotated[list[str] | None, typer.Option("--sector", metavar="SECTOR",
                                                     help="Policy sector (repeatable).")] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", metavar="STAGE",
                                                    help="Stage of development (repeatable).")] = None,
    live_from: Annotated[int | None, typer.Option("--live-from", metavar="YEAR",
                                                  help="First year the project went live.")] = None,
    live_to: Annotated[int | None, typer.Option("--live-to", metavar="YEAR",
                                                help="Last year the project went live.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE",
                                              help="Count contracts signed on or before YYYY-MM-DD.")] = None,
    by: Annotated[str | None, typer.Option("--by", metavar="FIELD",
                                           help="Breakdown: country, sector, year or stage; or release (the field "
                                                "over time: each held release, each year as of then, GO Lab's "
                                                "published figures).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Headline figures: impact bonds, service users, capital raised (USD)."""
    from sibkit.indigo.figures import Filters, check_filters, parse_as_of, stats
    from sibkit.indigo.loader import load

    filters = Filters(countries=tuple(country or ()), sectors=tuple(sector or ()), stages=tuple(stage or ()),
                      live_from=live_from, live_to=live_to, as_of=parse_as_of(as_of))
    dataset = load(data)
    check_filters(dataset, filters)
    if by == "release":
        print_over_time(dataset, filters, as_json)
        return
    from sibkit.releases import release_of

    result = stats(dataset, filters, by)
    release = release_of(dataset)
    if as_json:
        print_json({**result, "release": release.to_json()})
        return
    warn_load_issues(dataset, brief=True)
    console.print(f"Data: {release.named}", markup=False, highlight=False)
    console.print(f"Impact bonds: [bold]{result['projects']:,}[/bold]")
    console.print(f"Service users: [bold]{format_total(result['service_users'])}[/bold] "
                  f"({result['service_users_missing']} projects without a figure)")
    other = result["capital_not_converted"]
    console.print(f"Capital raised: [bold]USD {format_total(result['capital_raised_usd'])}[/bold] "
                  f"({result['capital_missing']} projects without a USD figure"
                  + (f"; {other} of them state it only in another currency, not converted" if other else "") + ")")
    if by:
        import pandas as pd

        print_frame(pd.DataFrame(result["breakdown"]), title=f"By {by}")


def format_total(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


@indigo_app.command("quality")
def quality_command(
    data: DataOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="Problems to list (0: all).")] = 30,
) -> None:
    """Completeness by priority level, values that do not parse, broken references."""
    import pandas as pd

    from sibkit.indigo.loader import load
    from sibkit.indigo.quality import quality

    dataset = load(data)
    report = quality(dataset)
    if as_json:
        print_json(report.to_json())
        return
    print_frame(report.by_priority, title="Completeness by INDIGO priority level (mean share of projects)")
    worst = report.completeness.sort_values(["priority", "share"]).head(15)
    print_frame(worst, title="Least complete fields")
    counts = report.problems["kind"].value_counts().sort_index()
    console.print("Problems: " + (", ".join(f"{k}: {v}" for k, v in counts.items()) or "none"))
    shown = report.problems if limit == 0 else report.problems.head(limit)
    for problem in shown.itertuples(index=False):
        row = f", row {problem.row}" if pd.notna(problem.row) else ""
        column = f", column {problem.column!r}" if problem.column else ""
        console.print(f"- {problem.where}{row}{column}: {problem.message}", markup=False, highlight=False,
                      soft_wrap=True)


def print_over_time(dataset: Any, filters: Any, as_json: bool) -> None:
    """``sibkit indigo stats --by release``: the three tables of ``releases.overtime``."""
    import pandas as pd

    from sibkit.releases.overtime import over_time

    result = over_time(dataset, filters)
    if as_json:
        print_json(result.to_json())
        return
    columns = ["projects", "service_users", "service_users_missing", "capital_raised_usd", "capital_missing"]
    if len(result.by_release):
        print_frame(result.by_release[["release", "date", *columns]], title="Each held INDIGO release")
    else:
        console.print("No release held (`sibkit data download`); the figures below come from the data given.",
                      markup=False)
    print_frame(result.by_year[["year", "as_of", *columns]],
                title=f"By year, contracts signed by then: {result.label} (today's records, not what was known then)")
    if result.undated_note:
        console.print(result.undated_note, markup=False, highlight=False)
    if len(result.published):
        shown = result.published.assign(
            service_users=[f"{'> ' if a else ''}{v:,.0f}" for v, a in zip(result.published["service_users"],
                                                                         result.published["at_least"], strict=True)],
            capital_raised_usd=[f"{'> ' if a else ''}{v / 1e6:,.1f}m" for v, a in
                                zip(result.published["capital_raised_usd"], result.published["at_least"], strict=True)])
        table = pd.DataFrame({"date": shown["date"], "published projects": shown["projects"],
                              "published service users": shown["service_users"],
                              "published capital (USD)": shown["capital_raised_usd"],
                              "reconstructed projects": shown["reconstructed_projects"],
                              "release held": shown["release_held"], "source": shown["url"].fillna(shown["source"])})
        print_frame(table, title=f"GO Lab's published figures beside those {result.label}", keep=("date",))
        for row in result.published.to_dict("records"):
            url = row["url"] if isinstance(row["url"], str) else ""
            console.print(f"[{row['date']}] {row['source']}" + (f" {url}" if url else ""),
                          markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(indigo_app, name="indigo")
