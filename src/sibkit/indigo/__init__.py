"""The GO Lab INDIGO impact bond dataset: loading, derived fields, figures and data quality.

Names are imported from their modules on first use (PEP 562): the command line starts without pandas.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "Dataset": "dataset",
    "LoadIssue": "dataset",
    "columns_of": "dataset",
    "to_records": "dataset",
    "write_export": "dataset",
    "derived": "derive",
    "Filters": "figures",
    "breakdown": "figures",
    "filter_projects": "figures",
    "headline": "figures",
    "stats": "figures",
    "download": "loader",
    "load": "loader",
    "QualityReport": "quality",
    "quality": "quality",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
