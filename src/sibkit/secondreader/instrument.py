"""``sibkit.secondreader.instrument_error`` (the name the other areas were promised): the instrument's
error in a study, from ``sibkit.audit.estimate``."""

from __future__ import annotations

from sibkit.audit.estimate import instrument_error

__all__ = ["instrument_error"]
