"""What the report's instrument section shows (``report/templates/_instrument.html.j2``)."""

from __future__ import annotations

from typing import Any


def instrument_section(study: Any, store: Any) -> dict[str, Any]:
    """``rows``: ``instrument_error`` per theme (records), ``attrs``: what the audit rests on, ``reader``: the
    learned reader's flags and proposals and whether they count before review."""
    from sibkit.audit.estimate import instrument_error
    from sibkit.secondreader.study import reader_summary

    table = instrument_error(study)
    return {"rows": table.to_dict("records"), "attrs": dict(table.attrs),
            "reader": reader_summary(store, study.reader)}
