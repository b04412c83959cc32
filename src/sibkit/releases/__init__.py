"""INDIGO releases: each kept under its date, listed, compared and named on every output.

- ``store``: the releases held in the user's data folder (``indigo@2025-05-20``, ``latest``), migration of
  the single copy older versions kept, pruning;
- ``dated``: ``release_of(dataset)``, the one function every output asks for its release (report, CSV
  sidecars, XLSX, web footer, figure cards, ``/api/stats``);
- ``diff``: what changed between two releases, as DataFrames (``sibkit data diff``);
- ``since``: what changed for a study since its last run on another release (the report's first section);
- ``overtime``: headline figures per held release and per year as of then, beside GO Lab's published ones.

Names are imported from their modules on first use (PEP 562): the command line starts without pandas.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "Release": "store",
    "held": "store",
    "resolve": "store",
    "release_of": "dated",
    "ReleaseDiff": "diff",
    "diff": "diff",
    "since_last_run": "since",
    "over_time": "overtime",
    "published_figures": "overtime",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
