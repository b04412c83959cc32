"""The review workbench: read every hit in context in the browser, decide, code spans, write memos;
alone on this machine or as a team with accounts (``sibkit serve STUDY``, pages under ``/review``)."""

from __future__ import annotations

from typing import Any


def mount_workbench(app: Any, study: Any, single_user: str = "") -> tuple[str, ...]:
    """Add the workbench over ``study`` to a FastAPI app (``app.state.workbench``, which also guards the study's
    pages); returns the path prefixes it answers (never cached)."""
    from sibkit.workbench.routes import PREFIX, Workbench, install

    bench = Workbench.for_study(study, single_user)
    install(app, bench)
    app.state.workbench = bench
    return (PREFIX,)


__all__ = ["mount_workbench"]
