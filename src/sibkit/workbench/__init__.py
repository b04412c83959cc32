"""The review workbench: read every hit in context in the browser, decide, code spans, write memos;
alone on this machine or as a team with accounts (``sibkit serve STUDY``, pages under ``/review``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def mount_workbench(app: Any, study: Any, single_user: str = "", case_names: Mapping[str, str] | None = None
                    ) -> tuple[str, ...]:
    """Add the workbench over ``study`` to a FastAPI app (``app.state.workbench``, which also guards the study's
    pages; ``case_names``: project names by case id, shown beside the ids); returns the path prefixes it answers
    (never cached)."""
    from sibkit.workbench.routes import PREFIX, Workbench, install

    bench = Workbench.for_study(study, single_user, case_names)
    install(app, bench)
    app.state.workbench = bench
    return (PREFIX,)


__all__ = ["mount_workbench"]
