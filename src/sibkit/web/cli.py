"""``sibkit serve``: the dashboard, map, project pages and study pages on this machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import DataOption, console
from sibkit.errors import SibkitError


def serve_command(
    study_path: Annotated[Path | None, typer.Argument(help="A study file: adds the study's pages.",
                                                      metavar="[STUDY]")] = None,
    data: DataOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (default: this machine only).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                                help="Port to listen on.")] = 8000,
    screenshots: Annotated[Path | None, typer.Option("--screenshots", help="Instead of serving, save PNG "
                                                     "screenshots of the dashboard, the explorer and a project page "
                                                     "at 1440 and 390 px wide here.")] = None,
    coder: Annotated[str, typer.Option("--coder", help="Your name on review decisions in single-user mode "
                                       "(default: your login name).")] = "",
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64, help="Server processes, each with "
                                                "the data loaded and its own page cache (more than 1: the dashboard "
                                                "only, no study). Default: one per core without a study, else 1.",
                                                show_default=False)] = None,
    cache_mb: Annotated[float, typer.Option("--cache-mb", min=0, help="Page cache size per process in MiB "
                                            "(least recently used pages go first).")] = 64,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", metavar="NAME", help="Also answer requests for this host name (repeatable; the server "
        "answers only to its loopback names, its --host and these, so a page elsewhere cannot reach it by "
        "DNS rebinding).")] = None,
    trust_proxy: Annotated[str | None, typer.Option(
        "--trust-proxy", metavar="ADDRESS", help="Believe X-Forwarded-For and X-Forwarded-Proto from this "
        "reverse proxy's address (e.g. 127.0.0.1 behind nginx on this machine); by default nobody's.")] = None,
) -> None:
    """Serve the web app; with a study, also its review workbench (/review)."""
    from sibkit.cli_common import load_with_data
    from sibkit.indigo import load
    from sibkit.web import create_app
    from sibkit.web.server import listen, serve_on

    cache_bytes = int(cache_mb * 2**20)
    if workers is None:  # the field pages alone scale across processes; a study's workbench stays in one
        workers = 1 if study_path is not None or screenshots is not None else min(os.cpu_count() or 1, 8)
    if workers > 1:
        if study_path is not None or screenshots is not None:
            raise SibkitError("--workers above 1 serves the dashboard only: the study's pages and its review "
                              "workbench run in one process (leave --workers out)")
        from sibkit.web.server import serve_workers

        listen(host, port).close()  # a port in use is one clear line, before anything is announced
        load(data)  # a dataset that cannot be read is one clear line here, not a traceback in every worker
        console.print(f"sibkit is serving on http://{host}:{port}/ with {workers} processes (Ctrl-C to stop)",
                      markup=False)
        serve_workers(data, host, port, workers, cache_bytes, allow_host or [], trust_proxy)
        return
    study = load_with_data(study_path, data) if study_path else None
    if study is not None:
        from sibkit.workbench.serving import check_binding

        if coder:  # a name no decision can be stored under would make every page of the queue a 400
            from sibkit.coding.review import check_coder

            coder = check_coder(coder)
        check_binding(study, host)
    sock = listen(host, port) if screenshots is None else None  # bound first: only then announced
    try:
        dataset = study.dataset() if study else load(data)
        from sibkit.web.guard import allowed_hosts

        app = create_app(dataset, study, coder=coder, cache_bytes=cache_bytes,
                         allowed_hosts=allowed_hosts(host, allow_host or []))
        if sock is None:
            from sibkit.web.server import screenshots as take

            for path in take(app, screenshots):  # type: ignore[arg-type]
                console.print(f"Saved {path}", markup=False)
            return
        console.print(f"sibkit is serving on http://{host}:{port}/ (Ctrl-C to stop)", markup=False)
        serve_on(app, sock, trust_proxy)
    finally:
        if sock is not None:
            sock.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
