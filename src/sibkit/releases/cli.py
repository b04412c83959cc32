"""``sibkit data ...``: keep INDIGO releases, list them, compare two, prune by an explicit command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import console, errors, print_frame, print_json, warn, warn_load_issues
from sibkit.errors import SibkitError

data_app = typer.Typer(no_args_is_help=True, help="Keep, list and compare INDIGO releases ($SIBKIT_DATA or the "
                                                  "platform data folder).")

ReleaseArgument = Annotated[str, typer.Argument(
    metavar="RELEASE", help="A held release (2025-05-20, indigo@2025-05-20, latest) or a CSV export folder/.zip.")]


@data_app.command("download")
def download_command(
    source: Annotated[str | None, typer.Option(
        "--from", metavar="SOURCE",
        help="API base URL, or a local CSV export folder or .zip (default: GO Lab's live API).")] = None,
    date: Annotated[str | None, typer.Option(
        "--date", metavar="YYYY-MM-DD",
        help="The release's date, when the export does not say it (default: a date in the export's name, "
             "else today).")] = None,
    allow_private: Annotated[bool, typer.Option("--allow-private", help="Also download from loopback, private and "
                                                "link-local addresses (your own network).")] = False,
) -> None:
    """Keep a new INDIGO release under its date (never overwriting one already held)."""
    from sibkit.indigo.loader import download_release, load

    release, new = download_release(source, progress=True, allow_private=allow_private, date=date)
    if not new:
        console.print(f"Already held: {release.label} has the same content ({release.folder}); nothing stored.",
                      markup=False, highlight=False)
        return
    dataset = load(release.label)
    warn_load_issues(dataset)
    console.print(f"Saved {len(dataset.projects)} projects, {len(dataset.organisations)} organisations, "
                  f"{len(dataset.funds)} funds as {release.label} (dated {release.date}: {release.date_from}) "
                  f"in {release.folder}", markup=False, highlight=False)


@data_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False) -> None:
    """The held releases: date, projects, source, hash (use one with --data indigo@DATE)."""
    import pandas as pd

    from sibkit.releases.store import held, releases_dir

    problems: list[str] = []
    releases = held(problems)
    for problem in problems:
        warn(problem)
    if as_json:
        print_json([r.to_json() for r in releases])
        return
    if not releases:
        console.print(f"No INDIGO release held in {releases_dir()}; run `sibkit data download`.", markup=False)
        return
    latest = releases[-1].name
    frame = pd.DataFrame([{"release": r.label + (" (latest)" if r.name == latest else ""), "date": r.date,
                           "projects": r.projects, "date from": r.date_from, "source": r.source,
                           "sha256": r.sha256[:12]} for r in releases])
    print_frame(frame, title=f"INDIGO releases held in {releases_dir()}", keep=("date", "projects"))


@data_app.command("info")
def info_command() -> None:
    """Where the releases are kept and what the latest one holds."""
    from sibkit.releases.store import held, releases_dir

    releases = held()
    if not releases:
        console.print(f"No data in {releases_dir()}; run `sibkit data download`.", markup=False)
        return
    print_json({"folder": str(releases_dir()), "releases": len(releases), "latest": releases[-1].to_json()})


@data_app.command("diff")
def diff_command(
    old: ReleaseArgument,
    new: ReleaseArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print every change as JSON (-o still writes the CSV "
                                                         "files).")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FOLDER",
                                                help="Also write each kind of change as CSV here.")] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="Rows shown per kind (0: all).")] = 20,
) -> None:
    """What changed between two releases: projects, fields, metrics, results, payments, documents."""
    from sibkit.indigo.loader import load
    from sibkit.releases.diff import diff
    from sibkit.releases.store import as_source

    before, after = load(as_source(old)), load(as_source(new))
    changes = diff(before, after)
    if as_json:
        print_json(changes.to_json())
    else:
        console.print(changes.headline(), markup=False, highlight=False)
        for line in changes.summary_lines():
            console.print(f"- {line}", markup=False, highlight=False)
        for kind, frame in changes.tables().items():
            if frame.empty:
                continue
            shown = frame if limit == 0 else frame.head(limit)
            more = f" (first {limit} of {len(frame)}; --limit 0 for all)" if len(frame) > len(shown) else ""
            print_frame(shown, title=f"{kind.replace('_', ' ').capitalize()}{more}", hint="--json")
    if output is not None:
        written = changes.write_csv(output)
        # with --json, stdout stays JSON only: the note of what was written goes to stderr
        (errors if as_json else console).print(f"Wrote {len(written)} CSV files to {output}", markup=False)


@data_app.command("prune")
def prune_command(
    names: Annotated[list[str] | None, typer.Argument(metavar="[RELEASE]...", help="Releases to remove.")] = None,
    keep: Annotated[int | None, typer.Option("--keep", metavar="N", min=1,
                                             help="Keep the newest N releases, remove the others.")] = None,
    before: Annotated[str | None, typer.Option("--before", metavar="YYYY-MM-DD",
                                               help="Remove releases dated before this day.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")] = False,
) -> None:
    """Remove held releases you name (the newest is always kept); nothing is ever pruned otherwise."""
    from sibkit.releases.store import held, remove, resolve

    releases = held()
    if not names and keep is None and before is None:
        raise SibkitError("say which releases to remove: RELEASE..., --keep N or --before DATE")
    chosen = {resolve(name, releases).name for name in names or []}
    if keep is not None:
        chosen |= {r.name for r in releases[:-keep]}
    if before is not None:
        chosen |= {r.name for r in releases if r.date < before}
    if releases and releases[-1].name in chosen:
        warn(f"{releases[-1].label} is the newest release: kept")
        chosen.discard(releases[-1].name)
    doomed = [r for r in releases if r.name in chosen]
    if not doomed:
        console.print("Nothing to remove.", markup=False)
        return
    if dry_run:
        for release in doomed:
            console.print(f"would remove {release.label} ({release.folder})", markup=False, highlight=False)
        return
    for release in remove(doomed):
        console.print(f"removed {release.label} ({release.folder})", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
